"""A stand-in for a user's transformers CLIP checkpoint: the files `save_pretrained` writes for
a CLIP model and its processor, random and tiny, made offline (needs odbench[hf])."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

from tiny_inpainting_model import _byte_level_vocab

# What a hub repository's files are stored under in a cache: a commit id, 40 hex digits.
FAKE_COMMIT = "0123456789abcdef0123456789abcdef01234567"


def save_tiny_clip(folder: Path, seed: int = 0) -> Path:
    """A CLIPModel with a few thousand random weights, its tokenizer (byte-level vocabulary, no
    merges) and its image processor (32 px), saved under `folder` as a user's checkpoint is."""
    import torch
    from transformers import CLIPConfig, CLIPImageProcessor, CLIPModel, CLIPProcessor, CLIPTokenizer

    folder.mkdir(parents=True, exist_ok=True)
    chars = _byte_level_vocab()
    tokens = chars + [c + "</w>" for c in chars] + ["<|startoftext|>", "<|endoftext|>"]
    (folder / "vocab.json").write_text(json.dumps({t: i for i, t in enumerate(tokens)}))
    (folder / "merges.txt").write_text("#version: 0.2\n")
    tokenizer = CLIPTokenizer(str(folder / "vocab.json"), str(folder / "merges.txt"), model_max_length=32)
    image_processor = CLIPImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32})
    config = CLIPConfig(
        text_config={"vocab_size": len(tokens), "hidden_size": 16, "intermediate_size": 32,
                     "num_attention_heads": 2, "num_hidden_layers": 1, "max_position_embeddings": 32,
                     "bos_token_id": len(tokens) - 2, "eos_token_id": len(tokens) - 1},
        vision_config={"hidden_size": 16, "intermediate_size": 32, "num_attention_heads": 2,
                       "num_hidden_layers": 1, "image_size": 32, "patch_size": 8},
        projection_dim=8)
    torch.manual_seed(seed)
    CLIPModel(config).save_pretrained(folder)
    CLIPProcessor(image_processor=image_processor, tokenizer=tokenizer).save_pretrained(folder)
    return folder


def as_hub_cache(checkpoint: Path, cache: Path, repo_id: str, commit: str = FAKE_COMMIT) -> Path:
    """Lay `checkpoint`'s files out as huggingface_hub caches a download of `repo_id` at
    `commit` (branch main), so that HF_HUB_OFFLINE=1 with HF_HUB_CACHE=cache resolves it."""
    repo = cache / ("models--" + repo_id.replace("/", "--"))
    shutil.copytree(checkpoint, repo / "snapshots" / commit)
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(commit)
    return cache
