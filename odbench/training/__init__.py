"""Contrastive training and finetuning of open_clip models on ODBench data.

- ``data``: image-caption pair sources (a COCO-format / PictoWorld split, an HF dataset folder
  such as the synthetic training set) and the batch sampler that mixes them by ratio.
- ``loop``: the contrastive loop (open_clip's ``ClipLoss``), AdamW with cosine schedule, AMP on
  CUDA, resumable checkpoints and a JSONL loss log.

Imported lazily by ``odbench train-reference`` and ``odbench finetune``; needs torch and open_clip.
"""
