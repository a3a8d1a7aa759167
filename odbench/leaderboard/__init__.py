"""The leaderboard (SPEC section 7): verify every submission, then render leaderboard.md.

It never trusts a reported number: for every result document under `submissions/` it finds the
dataset by benchmark name and version, checks the dataset and rankings hashes, recomputes every
metric from the rankings with `compute_metrics`, and accepts the file only if all reported
values agree. A rejected file gets exactly one reason, one of `rejection.REASONS`, so a
contributor knows what to fix.

Identity is checked too, as far as it can be: two files with the same rankings are one result
listed twice, and with `reproduce` the models this repository can build by itself are re-run
from their spec (odbench.reproduce). Everything a file says reaches leaderboard.md and the CI
log only through odbench.escaping, and symbolic links are never followed.

- `rejection`: the reasons a submission is rejected for;
- `datasets`: the datasets submissions may name (embedded, submissions/datasets.json, --dataset);
- `checks`: reading and checking every file, duplicates and reproduction;
- `markdown`: leaderboard.md from the accepted files;
- `html`: the same as a static web page with plots (`odbench leaderboard --html DIR`).
"""
