"""The near-duplicate figures of issue #20: how many top-10 lists honest result files share.

    python scripts/near_duplicate_figures.py submissions/odbench-picto/*.json W/res/*.json

prints, for every pair of files, the share of queries whose top-10 lists hold the same items
(`odbench.leaderboard.near_duplicates.same_list_share`, what the leaderboard rejects at 50 %)
and the share of identical lists, order included. The published figures (CONTRIBUTING.md,
"Near-duplicates") used, besides the committed results, brief finetunes of the baseline and
small models trained from scratch on a 1,500-scene PictoWorld split (generator seed 5):

    odbench finetune --model odbench:baseline --original W/pw --output W/ft-sS --mix 0 --seed S \\
        --epochs 1 --steps-per-epoch 30 --batch-size 64 --lr 1e-4 --warmup 5 --threads 1 --device cpu
    odbench train-reference --pictoworld W/pw --output W/sc-sS --seed S --epochs 4 --batch-size 128 \\
        --lr 1e-3 --warmup 5 --threads 1 --device cpu
    odbench-eval --model odbench:W/ft-sS/model.safetensors --device cpu --output W/res/ft-sS.json --no-cache
"""
from __future__ import annotations

import itertools
import json
import sys
from pathlib import Path

from odbench.leaderboard.near_duplicates import identical_list_share, same_list_share


def main(paths: list[str]) -> int:
    docs = {Path(p).stem: json.loads(Path(p).read_text()) for p in paths}
    for x, y in itertools.combinations(docs, 2):
        a, b = docs[x]["rankings"], docs[y]["rankings"]
        print(f"{x:24s} {y:24s} same top-10 set {same_list_share(a, b):7.2%}   "
              f"identical list {identical_list_share(a, b):7.2%}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
