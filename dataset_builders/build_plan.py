"""Plan once, edit in shards, merge: the work folder of a resumable, sharded build.

    WORK/plan/            the plan, written once (atomically, as a folder rename):
        plan.json         kind, plan hash, unit count, chunk size
        units.jsonl       one line per source with pixel work: its annotations and its edits
        rows-CONFIG.jsonl the dataset's rows in final order; edited pixels are {"part": name, "unit": u}
        meta.json         everything else the merge needs (manifest, report, small configs)
    WORK/shard-I-of-N/    what shard I of N has edited:
        chunk-000012/     the PNGs of one chunk of units, renamed into place when complete
        shard.json        written when the shard is complete (plan hash, I, N)

Units are cut into chunks of CHUNK_UNITS, chunk c belongs to shard c mod N, so a shard knows
its work from the plan alone, and a killed shard loses at most the chunk it was writing. The
plan is a pure function of the inputs: a restart re-plans and compares the hash, which is how
changed inputs are detected. Nothing here holds all units or rows in memory: they stream from
the JSON-lines files.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from PIL import Image

from .build_progress import ProgressLine
from .coco_format import decode_segmentation
from .source import Caption, Instance, SourceImage

CHUNK_UNITS = 16
PLAN = "plan"
_PLAN_FILES = ("plan.json", "units.jsonl", "meta.json")


class BuildError(ValueError):
    """A sharded build that cannot go on as asked; printed as one `error:` line."""


# ------------------------------------------------------------------ sources in plan lines
def image_to_json(image: SourceImage) -> dict[str, Any]:
    """A source image as a plan line holds it, so that a shard needs no annotation file."""
    return {"id": image.id, "coco_id": image.coco_id, "path": str(image.path), "width": image.width,
            "height": image.height, "captions": [[c.id, c.text] for c in image.captions],
            "instances": [[i.category, i.iscrowd, i.area, list(i.bbox), i.segmentation] for i in image.instances]}


def image_from_json(d: Mapping[str, Any]) -> SourceImage:
    return SourceImage(
        id=d["id"], coco_id=d["coco_id"], path=Path(d["path"]), width=d["width"], height=d["height"],
        captions=tuple(Caption(i, t) for i, t in d["captions"]),
        instances=tuple(Instance(category=c, iscrowd=bool(crowd), area=float(area), bbox=tuple(bbox),
                                 segmentation=seg, decode=decode_segmentation)
                        for c, crowd, area, bbox, seg in d["instances"]))


def _line(obj: Any) -> str:
    # Sorted keys and no spaces: the same plan is the same bytes, so its hash finds changes.
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False) + "\n"


# ------------------------------------------------------------------------------- the plan
class PlanWriter:
    """Writes a plan into a fresh folder line by line; `close` seals it with its hash."""

    def __init__(self, folder: Path, kind: str, row_configs: list[str], chunk_units: int = CHUNK_UNITS):
        self.folder, self.kind, self.units, self.chunk_units = folder, kind, 0, chunk_units
        folder.mkdir(parents=True)
        self._units = (folder / "units.jsonl").open("w", encoding="utf-8")
        self._rows: dict[str, TextIO] = {c: (folder / f"rows-{c}.jsonl").open("w", encoding="utf-8")
                                         for c in row_configs}

    def unit(self, unit: Mapping[str, Any]) -> int:
        """Add a unit of pixel work; returns its index (for the rows' part references)."""
        self._units.write(_line(dict(unit)))
        self.units += 1
        return self.units - 1

    def row(self, config: str, row: Mapping[str, Any]) -> None:
        self._rows[config].write(_line(dict(row)))

    def close(self, meta: Mapping[str, Any]) -> str:
        for f in (self._units, *self._rows.values()):
            f.close()
        (self.folder / "meta.json").write_text(_line(dict(meta)), encoding="utf-8")
        h = hashlib.sha256(f"{self.kind}/chunk={self.chunk_units}\0".encode())
        names = ["units.jsonl", "meta.json", *sorted(f"rows-{c}.jsonl" for c in self._rows)]
        for name in names:
            h.update(name.encode() + b"\0")
            with (self.folder / name).open("rb") as f:
                for block in iter(lambda: f.read(1 << 20), b""):
                    h.update(block)
        digest = h.hexdigest()
        header = {"kind": self.kind, "plan_hash": digest, "units": self.units, "chunk_units": self.chunk_units,
                  "row_configs": sorted(self._rows)}
        (self.folder / "plan.json").write_text(_line(header), encoding="utf-8")
        return digest


@dataclass(frozen=True)
class Plan:
    folder: Path
    kind: str
    plan_hash: str
    units: int
    chunk_units: int

    @property
    def chunks(self) -> int:
        return -(-self.units // self.chunk_units)

    def meta(self) -> dict[str, Any]:
        return json.loads((self.folder / "meta.json").read_text(encoding="utf-8"))

    def iter_units(self, chunks: set[int] | None = None) -> Iterator[tuple[int, dict[str, Any]]]:
        """(index, unit) in order, only of `chunks` when given (lines of other chunks are skipped
        unparsed)."""
        with (self.folder / "units.jsonl").open(encoding="utf-8") as f:
            for u, line in enumerate(f):
                if chunks is None or u // self.chunk_units in chunks:
                    yield u, json.loads(line)

    def iter_rows(self, config: str) -> Iterator[dict[str, Any]]:
        with (self.folder / f"rows-{config}.jsonl").open(encoding="utf-8") as f:
            for line in f:
                yield json.loads(line)


def read_plan(work: Path) -> Plan:
    folder = work / PLAN
    try:
        h = json.loads((folder / "plan.json").read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BuildError(f"{work} holds no plan (no {folder / 'plan.json'}); run the build command first") from None
    return Plan(folder, h["kind"], h["plan_hash"], h["units"], h["chunk_units"])


def shard_dir(work: Path, shard: int, shards: int) -> Path:
    return work / f"shard-{shard}-of-{shards}"


def check_shard_index(shard: int, shards: int) -> None:
    if shards < 1:
        raise BuildError(f"--shards must be at least 1, got {shards}")
    if not 0 <= shard < shards:
        raise BuildError(f"--shard {shard} is out of range for --shards {shards} (valid: 0 to {shards - 1})")


def _has_work(folder: Path) -> bool:
    return folder.is_dir() and any(folder.iterdir())


def prepare(work: Path, make_plan: Callable[[PlanWriter], Mapping[str, Any]] | None, kind: str, row_configs: list[str],
            *, shard: int, shards: int, resume: bool, overwrite: bool, chunk_units: int = CHUNK_UNITS) -> Plan:
    """Plan into `work` (or check the plan there is the same) before shard `shard` edits.

    `make_plan(writer)` writes units and rows and returns the meta. Refuses, changing nothing,
    when this shard already holds edits and neither `resume` nor `overwrite` is given, and when
    the inputs no longer give the plan found in `work` (unless `overwrite`)."""
    check_shard_index(shard, shards)
    mine = shard_dir(work, shard, shards)
    if _has_work(mine) and not (resume or overwrite):
        raise BuildError(f"{mine} holds edits of an earlier build; pass --resume to finish it or --overwrite "
                         f"to start again")
    if make_plan is None:        # another process (torchrun's rank 0) made the plan
        plan = read_plan(work)
        if overwrite and mine.exists():
            _remove(mine)
        return plan
    created = not work.exists()
    work.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".plan-", dir=work))
    try:
        return _plan_into(work, tmp, mine, make_plan, kind, row_configs, overwrite, chunk_units)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        if created:          # a plan that failed (no pair selected, ...) leaves no folder behind
            shutil.rmtree(work, ignore_errors=True)
        raise


def _plan_into(work: Path, tmp: Path, mine: Path, make_plan: Callable[[PlanWriter], Mapping[str, Any]], kind: str,
               row_configs: list[str], overwrite: bool, chunk_units: int) -> Plan:
    try:
        writer = PlanWriter(tmp / PLAN, kind, row_configs, chunk_units)
        new_hash = writer.close(make_plan(writer))
        existing = work / PLAN
        if (existing / "plan.json").is_file():
            old = read_plan(work)
            if old.plan_hash != new_hash:
                if not overwrite:
                    raise BuildError(f"the inputs or options changed since the plan in {existing} was made (plan "
                                     f"{old.plan_hash[:12]}, now {new_hash[:12]}); rerun with the same inputs, or "
                                     f"pass --overwrite to discard the edits made for the old plan")
                _remove(existing)
            elif overwrite:
                _remove(mine)
        if overwrite and mine.exists():
            _remove(mine)
        if not (existing / "plan.json").is_file():
            try:
                (tmp / PLAN).rename(existing)
            except OSError:       # a sibling shard renamed the same plan into place first
                if read_plan(work).plan_hash != new_hash:
                    raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return read_plan(work)


def _remove(path: Path) -> None:
    """Delete a folder by renaming it aside first, so a kill midway leaves no half folder."""
    if not path.exists():
        return
    aside = path.with_name(f".{path.name}.removing-{os.getpid()}")
    path.rename(aside)
    shutil.rmtree(aside)


# ------------------------------------------------------------------------------- editing
def shard_chunks(plan: Plan, shard: int, shards: int) -> list[int]:
    return list(range(shard, plan.chunks, shards))


def chunk_dir(work: Path, shard: int, shards: int, chunk: int) -> Path:
    return shard_dir(work, shard, shards) / f"chunk-{chunk:06d}"


def run_shard(work: Path, plan: Plan, render: Callable[[dict[str, Any]], dict[str, Image.Image]], *,
              shard: int, shards: int, num_workers: int = 1, log: TextIO | None = None) -> dict[str, Any]:
    """Edit the chunks of shard `shard` that are not on disk yet; returns counts.

    `render(unit)` returns {name: image} for one unit. A chunk's PNGs are written into a
    temporary folder renamed into place when complete, so a kill loses only that chunk."""
    mine = shard_dir(work, shard, shards)
    mine.mkdir(parents=True, exist_ok=True)
    stamp = mine / "plan_hash"
    if stamp.is_file() and stamp.read_text().strip() != plan.plan_hash:
        raise BuildError(f"{mine} holds edits made for another plan ({stamp.read_text().strip()[:12]}); "
                         f"pass --overwrite to discard them")
    if not stamp.is_file():
        stamp.write_text(plan.plan_hash + "\n")
    for stale in mine.glob(".chunk-*"):          # a chunk a killed run was writing
        shutil.rmtree(stale, ignore_errors=True)
    chunks = shard_chunks(plan, shard, shards)
    todo = [c for c in chunks if not chunk_dir(work, shard, shards, c).is_dir()]
    total = sum(min(plan.chunk_units, plan.units - c * plan.chunk_units) for c in chunks)
    done_before = total - sum(min(plan.chunk_units, plan.units - c * plan.chunk_units) for c in todo)
    line = ProgressLine(f"edit shard {shard}/{shards}", total, done_before, stream=log,
                        overall=lambda: _overall_done(work, plan, shards), overall_total=plan.units)
    started = time.perf_counter()
    edited = 0
    pool = None
    if num_workers > 1:
        from concurrent.futures import ProcessPoolExecutor
        pool = ProcessPoolExecutor(num_workers)
    try:
        jobs = ((render, u) for _, u in plan.iter_units(set(todo)))
        results = _bounded_map(pool, jobs, window=4 * num_workers) if pool else map(_render_unit, jobs)
        current, tmp = None, None
        indices = (u for c in todo for u in range(c * plan.chunk_units, min(plan.units, (c + 1) * plan.chunk_units)))
        for u, images in zip(indices, results, strict=True):
            c = u // plan.chunk_units
            if c != current:
                if tmp is not None:
                    tmp.rename(chunk_dir(work, shard, shards, current))
                current, tmp = c, mine / f".chunk-{c:06d}"
                tmp.mkdir()
            for name, png in images.items():
                (tmp / f"{name}.png").write_bytes(png)
            edited += len(images)
            line.advance(1)
        if tmp is not None:
            tmp.rename(chunk_dir(work, shard, shards, current))
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)
    line.close()
    (mine / "shard.json").write_text(_line({"plan_hash": plan.plan_hash, "shard": shard, "shards": shards,
                                            "chunks": len(chunks)}), encoding="utf-8")
    seconds = time.perf_counter() - started
    return {"shard": shard, "shards": shards, "units": total, "units_resumed": done_before,
            "images_edited": edited, "edit_seconds": round(seconds, 2)}


def _bounded_map(pool: Any, jobs: Iterator[Any], window: int) -> Iterator[dict[str, bytes]]:
    """`pool.map(_render_unit, jobs)` in order with at most `window` jobs in flight
    (Executor.map submits every job at once, which would hold the whole plan in memory)."""
    from collections import deque
    pending: deque = deque()
    for job in jobs:
        pending.append(pool.submit(_render_unit, job))
        if len(pending) >= window:
            yield pending.popleft().result()
    while pending:
        yield pending.popleft().result()


def _render_unit(job: tuple[Callable[[dict[str, Any]], dict[str, Image.Image]], dict[str, Any]]) -> dict[str, bytes]:
    """PNG bytes of one unit's images (runs in a worker: bytes travel back, not pixels)."""
    import io
    render, unit = job
    out = {}
    for name, image in render(unit).items():
        buf = io.BytesIO()
        image.save(buf, format="PNG")
        out[name] = buf.getvalue()
    return out


def _overall_done(work: Path, plan: Plan, shards: int) -> int:
    """Units finished by every shard of this count, read from the folders (other processes)."""
    done = 0
    for i in range(shards):
        folder = shard_dir(work, i, shards)
        if folder.is_dir():
            for entry in os.scandir(folder):
                if entry.name.startswith("chunk-"):
                    c = int(entry.name[6:])
                    done += min(plan.chunk_units, plan.units - c * plan.chunk_units)
    return done


# ------------------------------------------------------------------------------- merging
def check_shards(work: Path, plan: Plan, extra: list[Path] = ()) -> dict[int, Path]:
    """The complete shard folders of one shard count for `plan`: {chunk: folder}, or one
    BuildError naming the missing, duplicated, unfinished or foreign shard."""
    folders = sorted(p for p in work.glob("shard-*-of-*") if p.is_dir()) + [Path(p) for p in extra]
    seen: dict[tuple[int, int], Path] = {}
    counts = set()
    for folder in folders:
        marker = folder / "shard.json"
        if not marker.is_file():
            raise BuildError(f"{folder} is not a finished shard (no shard.json); finish it with --resume")
        info = json.loads(marker.read_text(encoding="utf-8"))
        if info["plan_hash"] != plan.plan_hash:
            raise BuildError(f"{folder} was edited for another plan ({info['plan_hash'][:12]}, this plan is "
                             f"{plan.plan_hash[:12]}): shards from different plans cannot be merged")
        key = (info["shard"], info["shards"])
        if key in seen and seen[key].resolve() != folder.resolve():
            raise BuildError(f"shard {key[0]} of {key[1]} is given twice ({seen[key]} and {folder})")
        seen[key] = folder
        counts.add(info["shards"])
    if not seen:
        raise BuildError(f"{work} holds no finished shard; run the shards first")
    if len(counts) > 1:
        raise BuildError(f"{work} holds shards of different shard counts ({sorted(counts)}); merge one set")
    (n,) = counts
    missing = [i for i in range(n) if (i, n) not in seen]
    if missing:
        raise BuildError(f"shard(s) {', '.join(map(str, missing))} of {n} missing; run them (--shards {n} "
                         f"--shard {missing[0]}) before merging")
    out = {}
    for c in range(plan.chunks):
        folder = seen[(c % n, n)] / f"chunk-{c:06d}"
        if not folder.is_dir():
            raise BuildError(f"{folder} is missing although its shard is marked finished; rerun that shard "
                             f"with --resume")
        out[c] = folder
    return out


def resolve_images(rows: Iterator[dict[str, Any]], chunks: Mapping[int, Path], plan: Plan,
                   columns: tuple[str, ...] = ("image",)) -> Iterator[dict[str, Any]]:
    """Rows with part references replaced by their PNG files."""
    for row in rows:
        for col in columns:
            ref = row[col]
            if isinstance(ref, dict):
                row[col] = str(chunks[ref["unit"] // plan.chunk_units] / f"{ref['part']}.png")
        yield row
