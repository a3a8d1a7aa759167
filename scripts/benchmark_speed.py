"""Speed of ODBench's own work against the bare operations it wraps (issue #13). Prints figures
and ratios measured within one run; asserts nothing (timings on a shared machine are noisy).

    python scripts/benchmark_speed.py                 # default sizes, a few minutes on 2 cores
    python scripts/benchmark_speed.py --scale large   # adds 10k x 200k and 1M x 200k (extrapolated)
    python scripts/benchmark_speed.py --only topk,e2e # a subset: topk, chunks, recall, validate, intervals, e2e
    python scripts/benchmark_speed.py --only chunks --device cuda   # odbench's top-K on a GPU

Parts:
  topk      odbench.retrieval.top_k against bare torch.topk(q @ g.T) and faiss IndexFlatIP (when
            installed), top-10, at 25k x 5k and 5k x 25k, d=512 (large: 10k x 200k, d=256)
  chunks    odbench.retrieval.top_k on --device (default: cuda when available) with 256, 1024 and
            4096 queries scored at once, 25k x 30k, d=512: queries per second
  recall    recall@1/5/10 both directions, 25k captions x 5k images: odbench's ranking and
            hit@k against a faithful copy of CLIP_benchmark's zeroshot_retrieval formula
  validate  checking a COCO-size result document
  intervals building the query sets and relevance of a COCO-shaped benchmark (5,000 sources,
            25,000 original captions, 10,000 edited images and captions), ranking it, its metrics,
            and SPEC 9's intervals (B = 1000) of every metric, against ranking it
  e2e       odbench-eval --model odbench:baseline on the embedded dataset: imports, the run's
            own work, forward passes, decoding, exit; a second run of the same model; --help
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]


def timed(fn, *args, repeat: int = 1, **kwargs):
    """Best of `repeat` wall times (the least disturbed by the other jobs on the machine)."""
    best, out = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        out = fn(*args, **kwargs)
        best = min(best, time.perf_counter() - start)
    return best, out


def embeddings(n: int, d: int, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.nn.functional.normalize(torch.randn(n, d, generator=g), dim=-1)


def bare_topk(q: torch.Tensor, g: torch.Tensor, k: int, chunk: int | None = None) -> np.ndarray:
    """What a user would write: torch.topk over the score matrix (by query chunks when huge)."""
    if chunk is None:
        return torch.topk(q @ g.T, k, dim=1).indices.numpy()
    return np.concatenate([torch.topk(q[s:s + chunk] @ g.T, k, dim=1).indices.numpy()
                           for s in range(0, len(q), chunk)])


def faiss_topk(q: torch.Tensor, g: torch.Tensor, k: int) -> np.ndarray | None:
    try:
        import faiss
    except ImportError:
        return None
    index = faiss.IndexFlatIP(g.shape[1])
    index.add(g.numpy())
    return index.search(q.numpy(), k)[1]


def part_topk(sizes: list[tuple[int, int, int]], repeat: int) -> None:
    from odbench import retrieval

    backend = "faiss" if "faiss" in getattr(retrieval, "BACKENDS", ()) else None
    for nq, ng, d in sizes:
        q, g = embeddings(nq, d, 0), embeddings(ng, d, 1)
        big = nq * ng > 4e8
        t_bare, bare = timed(bare_topk, q, g, 10, 1024 if big else None, repeat=repeat)
        t_ours, ours = timed(retrieval.top_k, q, g, 10, repeat=repeat)
        line = (f"top-10 {nq} x {ng} x {d}: bare torch.topk {t_bare:.2f} s, odbench {t_ours:.2f} s "
                f"({t_ours / t_bare:.2f}x bare)")
        t_faiss, ranked = timed(faiss_topk, q, g, 10, repeat=repeat)
        if ranked is not None:
            line += f", faiss IndexFlatIP {t_faiss:.2f} s (odbench {t_ours / t_faiss:.2f}x faiss)"
            if backend:
                t_fb, fb = timed(retrieval.top_k, q, g, 10, backend="faiss", repeat=repeat)
                line += (f", odbench faiss backend {t_fb:.2f} s ({t_fb / t_faiss:.2f}x faiss, rankings "
                         f"{'identical' if np.array_equal(fb, ours) else 'DIFFERENT'})")
        else:
            line += ", faiss not installed"
        print(line, flush=True)


def part_chunks(device: str) -> None:
    from odbench.retrieval import top_k

    q, g = embeddings(25_000, 512, 0), embeddings(30_000, 512, 1)
    sync = torch.cuda.synchronize if device.startswith("cuda") else (lambda: None)
    for chunk in (256, 1024, 4096):
        top_k(q[:chunk], g, 10, device=device, chunk_size=chunk)     # warm-up (CUDA context, kernels)
        sync()
        took, _ = timed(top_k, q, g, 10, device=device, chunk_size=chunk)
        print(f"top-10 {len(q)} x {len(g)} x 512 on {device}, {chunk} queries at once: {took:.2f} s "
              f"({len(q) / took:,.0f} queries/s)", flush=True)


def _huge_child(nq: int, ng: int, d: int) -> None:
    """Runs in a subprocess so that its peak memory is its own."""
    from odbench.retrieval import top_k

    def filled(n: int, seed: int) -> torch.Tensor:   # made in slices: no peak above the inputs
        out, gen = torch.empty(n, d), torch.Generator().manual_seed(seed)
        for s in range(0, n, 65536):
            out[s:s + 65536] = torch.nn.functional.normalize(torch.randn(min(65536, n - s), d, generator=gen), dim=-1)
        return out

    q, g = filled(nq, 0), filled(ng, 1)
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    top_k(q, g, 10)
    took = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"s": took, "peak_mib": peak / 1024, "inputs_mib": base / 1024}))


def part_huge(nq_measured: int) -> None:
    nq, ng, d = 1_000_000, 200_000, 256
    out = subprocess.run([sys.executable, __file__, "--huge-child", str(nq_measured), str(ng), str(d)],
                         capture_output=True, text=True, check=True).stdout
    r = json.loads(out.strip().splitlines()[-1])
    print(f"top-10 {nq:,} x {ng:,} x {d}: measured {nq_measured:,} queries in {r['s']:.1f} s, peak RSS "
          f"{r['peak_mib']:.0f} MiB ({r['inputs_mib']:.0f} MiB before ranking); extrapolated to "
          f"{nq:,} queries: {r['s'] * nq / nq_measured / 60:.1f} min (the queries themselves would hold "
          f"{nq * d * 4 / 2**30:.1f} GiB)", flush=True)


def clip_benchmark_recall(texts: torch.Tensor, images: torch.Tensor, texts_image_index: list[int],
                          recall_k_list=(1, 5, 10), batch_size: int = 64) -> dict[str, float]:
    """CLIP_benchmark's clip_benchmark/metrics/zeroshot_retrieval.py, the part after encoding."""
    def recall_at_k(scores, positive_pairs, k):
        nb_texts, nb_images = scores.shape
        topk_indices = torch.topk(scores, k, dim=1)[1]
        nb_positive = positive_pairs.sum(dim=1)
        topk_indices_onehot = torch.nn.functional.one_hot(topk_indices, num_classes=nb_images)
        positive_pairs_reshaped = positive_pairs.view(nb_texts, 1, nb_images)
        nb_true_positive = (topk_indices_onehot * positive_pairs_reshaped).sum(dim=(1, 2))
        return nb_true_positive / nb_positive

    def batchify(func, X, Y, batch_size, *args, **kwargs):
        return torch.cat([func(X[s:s + batch_size], Y[s:s + batch_size], *args, **kwargs)
                          for s in range(0, len(X), batch_size)])

    scores = texts @ images.t()
    positive_pairs = torch.zeros_like(scores, dtype=bool)
    positive_pairs[torch.arange(len(scores)), texts_image_index] = True
    metrics = {}
    for k in recall_k_list:
        metrics[f"image_retrieval_recall@{k}"] = (batchify(recall_at_k, scores, positive_pairs, batch_size,
                                                           k=k) > 0).float().mean().item()
        metrics[f"text_retrieval_recall@{k}"] = (batchify(recall_at_k, scores.T, positive_pairs.T, batch_size,
                                                          k=k) > 0).float().mean().item()
    return metrics


def odbench_recall(texts: torch.Tensor, images: torch.Tensor, texts_image_index: np.ndarray) -> dict[str, float]:
    from odbench.metrics import hit_at_k
    from odbench.retrieval import top_k

    t2i = top_k(texts, images, 10)
    i2t = top_k(images, texts, 10)
    rel_t2i = t2i == texts_image_index[:, None]
    rel_i2t = texts_image_index[i2t] == np.arange(len(images))[:, None]
    return {**{f"image_retrieval_recall@{k}": hit_at_k(rel_t2i, k).mean() for k in (1, 5, 10)},
            **{f"text_retrieval_recall@{k}": hit_at_k(rel_i2t, k).mean() for k in (1, 5, 10)}}


def part_recall(repeat: int) -> None:
    n_images, d = 5000, 512
    images = embeddings(n_images, d, 2)
    index = np.repeat(np.arange(n_images), 5)
    # captions near their image, so that recall is not ~0 and the two codes can be compared
    texts = torch.nn.functional.normalize(images[index] + 1.5 * embeddings(len(index), d, 3), dim=-1)
    t_ours, ours = timed(odbench_recall, texts, images, index, repeat=repeat)
    t_cb, cb = timed(clip_benchmark_recall, texts, images, index.tolist())
    same = all(abs(ours[k] - cb[k]) < 1e-6 for k in cb)
    print(f"recall@1/5/10 both directions, {len(index)} captions x {n_images} images: odbench {t_ours:.2f} s, "
          f"CLIP_benchmark formula {t_cb:.2f} s ({t_cb / t_ours:.1f}x slower; values "
          f"{'equal' if same else 'DIFFER'})", flush=True)


def part_validate() -> None:
    from odbench import results
    from odbench.rankings import rankings_hash

    data = json.loads((ROOT / "submissions" / "odbench-picto" / "odbench-baseline.json").read_text())
    rng = np.random.default_rng(0)
    caps, imgs = [f"c{i}" for i in range(25_000)], [f"i{i}" for i in range(10_000)]
    pick = lambda pool, n: [[pool[j] for j in rng.choice(len(pool), 10, replace=False)] for _ in range(n)]  # noqa: E731
    data["rankings"] = {"i2t": dict(zip(imgs[:5000], pick(caps, 5000), strict=True)),
                        "t2i": dict(zip(caps[:5000], pick(imgs, 5000), strict=True)),
                        "std_i2t": dict(zip(imgs[:5000], pick(caps, 5000), strict=True)),
                        "std_t2i": dict(zip(caps, pick(imgs, 25_000), strict=True))}
    data["rankings_sha256"] = rankings_hash(data["rankings"])
    t, _ = timed(results.validate, data)
    n = sum(len(r) for r in data["rankings"].values())
    print(f"validate a result document with {n} ranked lists (COCO size): {t:.2f} s", flush=True)


PROFILE = """
import json, os, sys, time
t0 = time.time()
import datasets, odbench.cli.eval, odbench.data, odbench.encoders, odbench.evaluate, odbench.queries
import odbench.reference, odbench.results
t1 = time.time()
spent = {}

def timing(owner, name, label):
    real = getattr(owner, name)
    def wrapper(*args, **kwargs):
        start = time.perf_counter()
        try:
            return real(*args, **kwargs)
        finally:
            spent[label] = spent.get(label, 0.0) + time.perf_counter() - start
    setattr(owner, name, wrapper)

# the steps of odbench-eval (imported by name inside its run(), after these patches)
timing(odbench.data, "verify_content_hashes", "hash check")
timing(odbench.data, "load_benchmark", "load dataset")
timing(odbench.evaluate, "build_encoder", "build model")
timing(odbench.queries, "build_query_sets", "query sets")
timing(odbench.evaluate, "rank_all", "ranking")
timing(odbench.evaluate, "compute_metrics", "metrics")
timing(odbench.results, "save", "write")
timing(odbench.evaluate._ImageRows, "__getitem__", "decoding")
real_build = odbench.evaluate.build_encoder
def build(*args, **kwargs):
    loaded = real_build(*args, **kwargs)
    for name in ("encode_images", "encode_texts"):
        timing(loaded.encoder, name, "forward")
    return loaded
odbench.evaluate.build_encoder = build
rc = odbench.cli.eval.main(sys.argv[1:])
t2 = time.time()
with open(os.environ["PROFILE_OUT"], "w") as f:
    json.dump({"start": t0, "imported": t1, "main_done": t2, "rc": rc, "spent": spent}, f)
"""


def _eval_process(argv: list[str], env: dict[str, str], work: Path) -> dict[str, float]:
    prof = work / "profile.json"
    start = time.time()
    proc = subprocess.run([sys.executable, "-c", PROFILE, *argv], env={**env, "PROFILE_OUT": str(prof)},
                          capture_output=True, text=True)
    end = time.time()
    if proc.returncode != 0:
        raise SystemExit(f"odbench-eval failed:\n{proc.stderr}")
    p = json.loads(prof.read_text())
    doc = json.loads(Path(argv[argv.index("--output") + 1]).read_text())
    return {"total": end - start, "startup": p["start"] - start, "imports": p["imported"] - p["start"],
            "main": p["main_done"] - p["imported"], "exit": end - p["main_done"],
            "wall_time_s": doc["run"]["wall_time_s"], "rankings": doc["rankings_sha256"],
            "stderr": proc.stderr, "stdout": proc.stdout, "spent": p["spent"]}


def help_time(exe: str, *args: str, repeat: int = 5) -> float:
    return min(timed(subprocess.run, [exe, *args], capture_output=True, check=True)[0] for _ in range(repeat))


def part_e2e() -> None:
    bindir = Path(sys.executable).parent
    odbench_eval = shutil.which("odbench-eval", path=str(bindir)) or "odbench-eval"
    has_cache = "--no-cache" in subprocess.run([odbench_eval, "--help"], capture_output=True, text=True).stdout
    work = Path(tempfile.mkdtemp(prefix="odbench-bench-"))
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "ODBENCH_CACHE_DIR": str(work / "cache")}
    base = ["--model", "odbench:baseline", "--device", "cpu", "--overwrite"]
    # warm the `datasets` cache of the embedded folder: a user's first ever load is not measured
    subprocess.run([sys.executable, "-c", "from odbench.data import load_benchmark; load_benchmark(verify=False)"],
                   env=env, check=True, capture_output=True)
    first = _eval_process([*base, "--output", str(work / "a.json")], env, work)
    second = _eval_process([*base, "--output", str(work / "b.json")], env, work)
    s1, s2 = first["spent"], second["spent"]
    forward, decode = s1.get("forward", 0.0), s1.get("decoding", 0.0)
    own = first["main"] - forward
    steps = lambda s: ", ".join(f"{k} {v:.2f}" for k, v in sorted(s.items(), key=lambda kv: -kv[1]))  # noqa: E731
    print(f"odbench-eval --model odbench:baseline on odbench-picto, first run: {first['total']:.2f} s = startup "
          f"{first['startup']:.2f} + imports {first['imports']:.2f} + run {first['main']:.2f} + exit "
          f"{first['exit']:.2f}; run.wall_time_s {first['wall_time_s']:.2f}", flush=True)
    print(f"  inside the run (s): {steps(s1)}", flush=True)
    print(f"  odbench's own work (run - forward passes): {own:.2f} s = {own / forward:.2f}x forward time", flush=True)
    cached = " (embedding cache)" if has_cache else " (no cache in this version)"
    saved = first["total"] - second["total"]
    print(f"second run of the same model{cached}: {second['total']:.2f} s = imports {second['imports']:.2f} + run "
          f"{second['main']:.2f} + exit {second['exit']:.2f}; run.wall_time_s {second['wall_time_s']:.2f} = "
          f"{second['wall_time_s'] / first['wall_time_s']:.2f}x the first's; process {saved:.2f} s faster "
          f"(the first run's forward passes + decoding: {forward + decode:.2f} s); rankings "
          f"{'identical' if first['rankings'] == second['rankings'] else 'DIFFERENT'}", flush=True)
    print(f"  inside the run (s): {steps(s2)}", flush=True)
    odbench = shutil.which("odbench", path=str(bindir)) or "odbench"
    t_python = help_time(sys.executable, "-c", "pass")
    t_help = help_time(odbench, "--help")
    probe = ("import sys; from odbench.cli.main import main; main(['validate', sys.argv[1]]); "
             "print('torch' in sys.modules)")
    validate_torch = subprocess.run([sys.executable, "-c", probe, str(work / "a.json")], capture_output=True,
                                    text=True, env=env).stdout.strip().splitlines()[-1]
    t_validate = help_time(odbench, "validate", str(work / "a.json"), repeat=3)
    print(f"odbench --help {t_help:.3f} s (python -c pass {t_python:.3f} s); odbench validate {t_validate:.2f} s, "
          f"imports torch: {validate_torch}", flush=True)
    shutil.rmtree(work, ignore_errors=True)


def coco_shaped_benchmark(n_sources: int, seed: int = 0):
    """An exhaustive benchmark of COCO's size: per source 5 objects (one of 6 correlated pairs
    among them), 5 captions, one decorrelate and one control edit with an edited caption each."""
    from odbench.data import build_benchmark

    rng = np.random.default_rng(seed)
    cats = [f"c{i}" for i in range(80)]
    pairs = [(cats[2 * i], cats[2 * i + 1]) for i in range(6)]
    images = {k: [] for k in ("image_id", "src_id", "edit_kind", "removed", "objects", "pair", "gallery_pos")}
    captions = {k: [] for k in ("caption_id", "text", "src_id", "edit_kind", "removed", "mentions", "pair",
                                "gallery_pos")}

    def add(table, row):
        for key, value in row.items():
            table[key].append(value)

    for s in range(n_sources):
        pair = pairs[s % len(pairs)]
        others = rng.choice(cats[12:], size=3, replace=False).tolist()
        objects = sorted([*pair, *others])
        sid = f"i{s:05d}"
        add(images, dict(image_id=sid, src_id=sid, edit_kind="original", removed=None, objects=objects, pair=None))
        for j in range(5):
            add(captions, dict(caption_id=f"{sid}_c{j}", text="", src_id=sid, edit_kind="original", removed=None,
                               mentions=objects, pair=None))
        for kind, removed, edit_pair in (("decorrelate", pair[s % 2], list(pair)), ("control", others[0], None)):
            kept = [o for o in objects if o != removed]
            add(images, dict(image_id=f"{sid}-no-{removed}", src_id=sid, edit_kind=kind, removed=removed,
                             objects=kept, pair=edit_pair))
            add(captions, dict(caption_id=f"{sid}_c0-no-{removed}", text="", src_id=sid, edit_kind=kind,
                               removed=removed, mentions=kept, pair=edit_pair))
    images["gallery_pos"] = rng.permutation(len(images["image_id"])).tolist()
    captions["gallery_pos"] = rng.permutation(len(captions["caption_id"])).tolist()
    manifest = {"name": "coco-shaped", "version": "0.0.0", "dataset_hash": "0" * 64, "spec_version": "2",
                "caption_style": "exhaustive"}
    return build_benchmark(images, captions, pairs, manifest)[0]


def part_intervals(repeat: int) -> None:
    from odbench.evaluate import rank_all
    from odbench.intervals import compute_intervals
    from odbench.metrics import query_scores, report_of
    from odbench.queries import build_query_sets
    from odbench.run_config import RunConfig

    benchmark = coco_shaped_benchmark(5_000)
    queries_s, queries = timed(build_query_sets, benchmark, repeat=repeat)
    sizes = {name: len(queries.direction(name).query_ids) for name in ("i2t", "t2i", "std_i2t", "std_t2i")}
    images, texts = embeddings(len(benchmark.images), 512, 1), embeddings(len(benchmark.captions), 512, 2)
    ranking_s, rankings = timed(rank_all, queries, images, texts, RunConfig(), repeat=repeat)
    scores_s, scores = timed(query_scores, benchmark, queries, rankings, repeat=repeat)
    metrics_s, report = timed(report_of, scores, repeat=repeat)
    intervals_s, intervals = timed(compute_intervals, benchmark, queries, rankings, scores=scores,
                                   point=report.metrics, repeat=repeat)
    print(f"intervals: COCO-shaped result, {len(benchmark.sources)} sources, queries {sizes} "
          f"({len(intervals.metrics)} metrics, {len(intervals.per_pair)} pairs, B = {intervals.draws})")
    print(f"  query sets and relevance {queries_s:.2f} s; ranking all four directions {ranking_s:.2f} s; "
          f"per-query values {scores_s:.2f} s; metrics {metrics_s:.3f} s")
    print(f"  intervals {intervals_s:.3f} s = {intervals_s / ranking_s:.3f}x ranking (targets: <= 2 s, <= 0.2x)",
          flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", choices=("default", "large"), default="default")
    parser.add_argument("--only", default="topk,chunks,recall,validate,intervals,e2e")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu",
                        help="where the chunks part ranks (default: cuda when available)")
    parser.add_argument("--repeat", type=int, default=2, help="best of this many runs per timing")
    parser.add_argument("--huge-queries", type=int, default=20_000,
                        help="queries measured of the 1M x 200k case (--scale large)")
    parser.add_argument("--huge-child", nargs=3, type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.huge_child:
        return _huge_child(*args.huge_child)
    parts = set(args.only.split(","))
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {os.cpu_count()} cores; "
          f"load average {os.getloadavg()[0]:.1f} (other jobs share this machine)", flush=True)
    if "topk" in parts:
        part_topk([(25_000, 5_000, 512), (5_000, 25_000, 512)], args.repeat)
        if args.scale == "large":
            part_topk([(10_000, 200_000, 256)], 1)
            part_huge(args.huge_queries)
    if "chunks" in parts:
        part_chunks(args.device)
    if "recall" in parts:
        part_recall(args.repeat)
    if "validate" in parts:
        part_validate()
    if "intervals" in parts:
        part_intervals(args.repeat)
    if "e2e" in parts:
        part_e2e()


if __name__ == "__main__":
    main()
