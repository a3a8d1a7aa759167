"""ODBench's trainer: contrastive training and finetuning of open_clip models on ODBench data.

A client of the library, kept apart from it as open_clip keeps ``open_clip_train`` apart from
``open_clip``: it imports ``odbench``, and ``odbench`` never imports it. The ``odbench`` command
reaches its two subcommands by name (``odbench.cli.main``), importing them only when they run.

- ``train_reference``: ``odbench train-reference``, the reference CLIP from scratch;
- ``finetune``: ``odbench finetune``, any open_clip model on original + synthetic pairs;
- ``options``: the options and checks the two share;
- ``data``: image-caption pair sources (a COCO-format / PictoWorld split, an HF dataset folder
  such as the synthetic training set) and the batch sampler that mixes them by ratio;
- ``loop``: the contrastive loop (open_clip's ``ClipLoss``), AdamW with cosine schedule, AMP on
  CUDA, resumable checkpoints and a JSONL loss log;
- ``data_parallel``: the loop under torchrun (DDP, each rank a slice of one global batch).
"""
