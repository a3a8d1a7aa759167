"""Mutation testing of the code behind every number: do the tests notice a changed line?

Each mutant is one small change to one module (a comparison flipped, `and` made `or`, `any`
made `all`, `min` made `max`, a constant changed, a value returned as None, a condition forced,
a statement deleted). It is written into a temporary copy of the repository (the working tree
is never touched) and the test files that import the module are run against it with `-x`, the
fastest tests first. A mutant is killed when a test fails (or the run times out); a survivor is
a change no test notices. Survivors known to change nothing are listed, each with the reason,
in `mutation_equivalent.txt` beside this script; the score is printed with and without them.

    python scripts/mutation_test.py                         # the core modules, every mutant
    python scripts/mutation_test.py --all                   # and the interval and leaderboard code
    python scripts/mutation_test.py --module odbench/metrics.py --sample 5 --jobs 2
    python scripts/mutation_test.py --list                  # the mutants, without running them

`--sample N` keeps a deterministic 1-in-N share of the mutants (chosen by a hash of what the
mutant is, so a sample stays the same when unrelated lines change).
"""
from __future__ import annotations

import argparse
import ast
import copy
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EQUIVALENT_FILE = Path(__file__).resolve().parent / "mutation_equivalent.txt"
CORE_MODULES = ("odbench/metrics.py", "odbench/queries.py", "odbench/retrieval.py", "odbench/rankings.py",
                "odbench/validity.py")
# Run with --all, where they exist (SPEC 9's interval code and the leaderboard's checks).
EXTRA_MODULES = ("odbench/intervals.py", "odbench/comparison.py", "odbench/leaderboard/checks.py")
# Files above this size are linked into the temporary copy, not copied (the embedded dataset,
# the reference weights): no mutant touches them.
LINK_OVER_BYTES = 256 * 1024

COMPARE_SWAPS = {ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt, ast.Eq: ast.NotEq,
                 ast.NotEq: ast.Eq, ast.In: ast.NotIn, ast.NotIn: ast.In, ast.Is: ast.IsNot, ast.IsNot: ast.Is}
ARITHMETIC_SWAPS = {ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.Div, ast.Div: ast.Mult,
                    ast.FloorDiv: ast.Div}
NAME_SWAPS = {"any": "all", "all": "any", "min": "max", "max": "min", "minimum": "maximum",
              "maximum": "minimum", "argmin": "argmax", "argmax": "argmin"}
SYMBOLS = {ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=", ast.Eq: "==", ast.NotEq: "!=",
           ast.In: "in", ast.NotIn: "not in", ast.Is: "is", ast.IsNot: "is not", ast.Add: "+", ast.Sub: "-",
           ast.Mult: "*", ast.Div: "/", ast.FloorDiv: "//", ast.And: "and", ast.Or: "or"}
SIMPLE_STATEMENTS = (ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Expr, ast.Raise, ast.Assert,
                     ast.Continue, ast.Break)


# ---------------------------------------------------------------- mutants

@dataclass(frozen=True)
class Mutant:
    module: str          # path relative to the repository root
    index: int           # position of the mutated node in ast.walk order
    operator: str
    change: str          # e.g. "<= -> <"
    line: int
    text: str            # the original source line, stripped
    occurrence: int = 1  # the n-th mutant with the same text, operator and change

    @property
    def key(self) -> str:
        """What names the mutant in mutation_equivalent.txt (no line number: lines move)."""
        suffix = f" #{self.occurrence}" if self.occurrence > 1 else ""
        return f"[{self.module}] {self.text}  {{{self.operator}: {self.change}}}{suffix}"

    def sampled(self, every: int) -> bool:
        return every <= 1 or int(hashlib.sha256(self.key.encode()).hexdigest(), 16) % every == 0


def _protected(tree: ast.Module) -> set[int]:
    """Nodes never mutated: docstrings, annotations, decorators, f-strings (messages), imports."""
    skip: set[int] = set()

    def cover(node: ast.AST | None) -> None:
        if node is not None:
            skip.update(id(n) for n in ast.walk(node))

    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) \
                    and isinstance(first.value.value, str):
                cover(first)
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            for decorator in node.decorator_list:
                cover(decorator)
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            cover(node.returns)
            for a in (*node.args.posonlyargs, *node.args.args, *node.args.kwonlyargs,
                      node.args.vararg, node.args.kwarg):
                if a is not None:
                    cover(a.annotation)
        elif isinstance(node, ast.AnnAssign):
            cover(node.annotation)
        elif isinstance(node, (ast.JoinedStr, ast.Import, ast.ImportFrom)):
            cover(node)
    return skip


def _in_function(tree: ast.Module) -> set[int]:
    """Statements inside a function body (deleting a module- or class-level one only breaks import)."""
    inside: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for stmt in node.body:
                inside.update(id(n) for n in ast.walk(stmt) if isinstance(n, ast.stmt))
    return inside


def _variants(node: ast.AST, protected: set[int], in_function: set[int]) -> Iterator[tuple[str, str, object]]:
    """(operator, change, payload) for every mutation of this node."""
    if id(node) in protected:
        return
    if isinstance(node, ast.Compare):
        for i, op in enumerate(node.ops):
            if type(op) in COMPARE_SWAPS:
                new = COMPARE_SWAPS[type(op)]
                yield "compare", f"{SYMBOLS[type(op)]} -> {SYMBOLS[new]}", (i, new)
    elif isinstance(node, ast.BoolOp):
        other = ast.Or if isinstance(node.op, ast.And) else ast.And
        yield "and-or", f"{SYMBOLS[type(node.op)]} -> {SYMBOLS[other]}", other
    elif isinstance(node, (ast.BinOp, ast.AugAssign)) and type(node.op) in ARITHMETIC_SWAPS:
        new = ARITHMETIC_SWAPS[type(node.op)]
        yield "arithmetic", f"{SYMBOLS[type(node.op)]} -> {SYMBOLS[new]}", new
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        yield "negation", "not x -> x", None
    elif isinstance(node, ast.Call):
        f = node.func
        name = f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else None
        if name in NAME_SWAPS:
            yield "swap-call", f"{name} -> {NAME_SWAPS[name]}", NAME_SWAPS[name]
    elif isinstance(node, ast.Constant) and not isinstance(node.value, str):
        v = node.value
        if isinstance(v, bool):
            yield "constant", f"{v} -> {not v}", not v
        elif isinstance(v, (int, float)):
            yield "constant", f"{v!r} -> {v + 1!r}", v + 1
    elif isinstance(node, ast.Return) and node.value is not None \
            and not (isinstance(node.value, ast.Constant) and node.value.value is None):
        yield "return-none", "return ... -> return None", None
    if isinstance(node, (ast.If, ast.While, ast.IfExp)):
        yield "force-condition", "-> True", True
        yield "force-condition", "-> False", False
    if isinstance(node, SIMPLE_STATEMENTS) and id(node) in in_function:
        yield "delete", "statement -> pass", None


def _apply(node: ast.AST, operator: str, payload: object) -> ast.AST | None:
    """Mutate `node` in place; return a replacement statement where the node itself is replaced."""
    if operator == "compare":
        i, new = payload
        node.ops[i] = new()
    elif operator == "and-or":
        node.op = payload()
    elif operator == "arithmetic":
        node.op = payload()
    elif operator == "swap-call":
        if isinstance(node.func, ast.Name):
            node.func.id = payload
        else:
            node.func.attr = payload
    elif operator == "constant":
        node.value = payload
    elif operator == "return-none":
        node.value = ast.Constant(None)
    elif operator == "force-condition":
        node.test = ast.Constant(payload)
    elif operator == "negation":
        return node.operand
    elif operator == "delete":
        return ast.Pass()
    return None


class _Replace(ast.NodeTransformer):
    def __init__(self, target: ast.AST, replacement: ast.AST) -> None:
        self.target, self.replacement = target, replacement

    def generic_visit(self, node: ast.AST) -> ast.AST:
        if node is self.target:
            return self.replacement
        return super().generic_visit(node)


_SOURCES: dict[str, str] = {}


def source_sha256(module: str) -> str:
    return hashlib.sha256(source_of(module).encode()).hexdigest()


def source_of(module: str) -> str:
    """The module as it was when first read: mutants stay consistent if the file changes meanwhile."""
    if module not in _SOURCES:
        _SOURCES[module] = (ROOT / module).read_text()
    return _SOURCES[module]


def mutants_of(module: str) -> list[Mutant]:
    source = source_of(module)
    lines = source.splitlines()
    tree = ast.parse(source)
    protected, in_function = _protected(tree), _in_function(tree)
    out: list[Mutant] = []
    seen: dict[tuple[str, str, str], int] = {}
    for index, node in enumerate(ast.walk(tree)):
        for operator, change, _ in _variants(node, protected, in_function):
            text = lines[node.lineno - 1].strip()
            n = seen[(text, operator, change)] = seen.get((text, operator, change), 0) + 1
            out.append(Mutant(module, index, operator, change, node.lineno, text, n))
    return out


def _mutate(mutant: Mutant) -> tuple[ast.Module, ast.stmt]:
    """The module's tree with the mutant applied, and the statement that holds the change."""
    tree = ast.parse(source_of(mutant.module))
    protected, in_function = _protected(tree), _in_function(tree)
    parents = {id(child): parent for parent in ast.walk(tree) for child in ast.iter_child_nodes(parent)}
    node = next(n for i, n in enumerate(ast.walk(tree)) if i == mutant.index)
    stmt = node
    while not isinstance(stmt, ast.stmt):
        stmt = parents[id(stmt)]
    for operator, change, payload in _variants(node, protected, in_function):
        if (operator, change) == (mutant.operator, mutant.change):
            replacement = _apply(node, operator, payload)
            if replacement is not None:
                replacement = ast.copy_location(replacement, node)
                tree = _Replace(node, replacement).visit(tree)
                if node is stmt:
                    stmt = replacement
            return ast.fix_missing_locations(tree), stmt
    raise LookupError(f"no such mutant: {mutant.key}")


def mutated_source(mutant: Mutant) -> str:
    return ast.unparse(_mutate(mutant)[0])


def mutated_line(mutant: Mutant) -> str:
    """The changed statement as it reads after the change (only the header of an if or a loop)."""
    stmt = copy.copy(_mutate(mutant)[1])
    for name in ("body", "orelse", "handlers", "finalbody"):
        if getattr(stmt, name, None):
            setattr(stmt, name, [ast.Pass()] if name == "body" else [])
    text = ast.unparse(stmt).splitlines()[0]
    return text if len(text) <= 140 else text[:137] + "..."


# ---------------------------------------------------------------- which tests

def test_files_for(module: str) -> list[str]:
    """The test files that import the module (by `from odbench.x import`, `import odbench.x`,
    or `from odbench import x`)."""
    dotted = module.removesuffix(".py").replace("/", ".")
    package, _, name = dotted.rpartition(".")
    patterns = [rf"^\s*from {re.escape(dotted)} import", rf"^\s*import {re.escape(dotted)}\b",
                rf"^\s*from {re.escape(package)} import .*\b{re.escape(name)}\b"]
    found = []
    for path in sorted((ROOT / "tests").glob("test_*.py")):
        text = path.read_text()
        if any(re.search(p, text, re.MULTILINE) for p in patterns):
            found.append(str(path.relative_to(ROOT)))
    return found


# ---------------------------------------------------------------- running

PLUGIN = '''
import os, time
_out = os.environ.get("MUTATION_DURATIONS")
_times = {}
def pytest_runtest_logreport(report):
    _times[report.nodeid] = _times.get(report.nodeid, 0.0) + report.duration
def pytest_sessionfinish(session):
    if _out:
        with open(_out, "w") as f:
            for nodeid, t in _times.items():
                f.write(f"{t}\\t{nodeid}\\n")
'''


class Workspace:
    """A temporary copy of the repository (tracked and untracked, not ignored, files) in which
    one module at a time is replaced by a mutant."""

    def __init__(self, base: Path) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="ws-", dir=base))
        listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT,
                                capture_output=True, check=True).stdout.decode().split("\0")
        for rel in filter(None, listed):
            src, dst = ROOT / rel, self.root / rel
            if not src.is_file():
                continue
            dst.parent.mkdir(parents=True, exist_ok=True)
            if src.stat().st_size > LINK_OVER_BYTES:
                dst.symlink_to(src)
            else:
                shutil.copy2(src, dst)
        (self.root / "_mutation_plugin.py").write_text(PLUGIN)
        self.env = {**os.environ, "PYTHONPATH": str(self.root), "PYTHONDONTWRITEBYTECODE": "1",
                    "HF_HUB_OFFLINE": "1"}

    def start(self, tests: list[str], durations: Path | None = None, *, fork: bool = True) -> int:
        """Start pytest on `tests` in this copy, in a process group of its own (so that a
        timeout ends the tests' subprocesses too); returns its process id."""
        env = dict(self.env)
        if durations is not None:
            env["MUTATION_DURATIONS"] = str(durations)
        args = ["-x", "-q", "-p", "no:cacheprovider", "-p", "_mutation_plugin", "-o", "addopts=", *tests]
        if not fork:
            return subprocess.Popen([sys.executable, "-m", "pytest", *args], cwd=self.root, env=env,
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                    start_new_session=True).pid
        pid = os.fork()
        if pid == 0:            # the child: this process has torch & co. imported already, not odbench
            code = 3
            try:
                os.setsid()
                devnull = os.open(os.devnull, os.O_WRONLY)
                os.dup2(devnull, 1)
                os.dup2(devnull, 2)
                os.chdir(self.root)
                os.environ.clear()
                os.environ.update(env)
                sys.path.insert(0, str(self.root))
                import pytest
                code = int(pytest.main(args))
            finally:
                os._exit(code)
        return pid

    def run(self, tests: list[str], timeout: float, durations: Path | None = None, *,
            fork: bool = True) -> tuple[str, float]:
        """('passed' | 'failed' | 'timeout', seconds) of one pytest run in this copy."""
        started = time.monotonic()
        pid = self.start(tests, durations, fork=fork)
        return wait(pid, started, timeout), time.monotonic() - started

    def write(self, module: str, text: str) -> None:
        (self.root / module).write_text(text)

    def restore(self, module: str) -> None:
        (self.root / module).write_text(source_of(module))


def wait(pid: int, started: float, timeout: float, *, block: bool = True) -> str | None:
    """'passed', 'failed' or 'timeout' for a run started at `started`; None while it runs (block=False)."""
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return "passed" if os.waitstatus_to_exitcode(status) == 0 else "failed"
        if time.monotonic() - started > timeout:
            os.killpg(pid, 9)
            os.waitpid(pid, 0)
            return "timeout"
        if not block:
            return None
        time.sleep(0.05)


# Imported once by this process, so that every forked test run starts with them loaded.
PRELOAD = ("numpy", "torch", "torchvision", "datasets", "pyarrow", "PIL.Image", "jsonschema", "huggingface_hub",
           "open_clip", "transformers", "yaml", "tqdm", "pytest")


def preload() -> None:
    import importlib
    for name in PRELOAD:
        try:
            importlib.import_module(name)
        except Exception:   # an optional library: the tests import what they need themselves
            pass


@dataclass
class Outcome:
    mutant: Mutant
    status: str          # killed | timeout | survived
    seconds: float


def read_equivalent(path: Path = EQUIVALENT_FILE) -> dict[str, str]:
    """key -> why, from lines `[module] source line  {operator: change}` each followed by an
    indented `why: ...` line."""
    out: dict[str, str] = {}
    key = None
    for raw in path.read_text().splitlines() if path.exists() else ():
        if not raw.strip() or raw.lstrip().startswith("#"):
            continue
        if raw.startswith("["):
            key = raw.rstrip()
            out[key] = ""
        elif raw.strip().startswith("why:") and key is not None:
            out[key] = raw.strip()[4:].strip()
            key = None
        else:
            raise SystemExit(f"{path.name}: cannot read line {raw!r}")
    missing = [k for k, why in out.items() if not why]
    if missing:
        raise SystemExit(f"{path.name}: no 'why:' line for {missing[0]}")
    return out


def baseline(modules: list[str], ws: Workspace, fork: bool) -> dict[str, float]:
    """Run every test file of the modules once, unmutated: {test node id: seconds}. They must pass."""
    tests = sorted({t for m in modules for t in test_files_for(m)})
    durations = ws.root / "durations.tsv"
    status, _ = ws.run(tests, timeout=3600, durations=durations, fork=fork)
    if status != "passed":
        raise SystemExit(f"the tests fail without any mutant: {' '.join(tests)}")
    rows = [line.split("\t", 1) for line in durations.read_text().splitlines()]
    return {nodeid: float(t) for t, nodeid in rows}


def run_module(module: str, mutants: list[Mutant], timed: dict[str, float], workspaces: list[Workspace],
               fork: bool, log, record) -> list[Outcome]:
    """Run every mutant of the module against its tests, as many at once as there are workspaces."""
    tests = test_files_for(module)
    # Fastest tests first: with -x, most mutants die in the first seconds.
    order = sorted((n for n in timed if n.split("::")[0] in tests), key=lambda n: timed[n])
    seconds = sum(timed[n] for n in order)
    timeout = 3 * seconds + 30
    log(f"{module}: {len(mutants)} mutants, tests {' '.join(tests)} ({len(order)} tests, "
        f"{seconds:.0f} s unmutated, timeout {timeout:.0f} s)")

    outcomes: dict[int, Outcome] = {}
    running: dict[int, tuple[int, Workspace, float]] = {}      # pid -> (mutant index, workspace, start)
    free = list(workspaces)
    pending = list(enumerate(mutants))
    while pending or running:
        while pending and free:
            i, mutant = pending.pop(0)
            ws = free.pop()
            ws.write(module, mutated_source(mutant))
            running[ws.start(order, fork=fork)] = (i, ws, time.monotonic())
        for pid, (i, ws, started) in list(running.items()):
            status = wait(pid, started, timeout, block=False)
            if status is None:
                continue
            del running[pid]
            ws.restore(module)
            free.append(ws)
            mutant = mutants[i]
            outcomes[i] = Outcome(mutant, {"failed": "killed", "passed": "survived", "timeout": "timeout"}[status],
                                  time.monotonic() - started)
            record(outcomes[i])
            if status == "passed":
                log(f"  survived {module}:{mutant.line} {{{mutant.operator}: {mutant.change}}} {mutant.text}")
            if len(outcomes) % 25 == 0:
                log(f"  {len(outcomes)}/{len(mutants)} done")
        time.sleep(0.05)
    return [outcomes[i] for i in range(len(mutants))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--module", action="append", help="a module path such as odbench/metrics.py (repeatable); "
                        "default: " + ", ".join(CORE_MODULES))
    parser.add_argument("--all", action="store_true",
                        help="the core modules and, where they exist, " + ", ".join(EXTRA_MODULES))
    parser.add_argument("--sample", type=int, default=1, metavar="N", help="run a deterministic 1-in-N sample")
    parser.add_argument("--fail-under", type=float, metavar="PCT",
                        help="exit 1 when the score without equivalent mutants is below PCT")
    parser.add_argument("--match", action="append", metavar="TEXT",
                        help="only the mutants whose key contains TEXT (repeatable: any of them)")
    parser.add_argument("--jobs", type=int, default=1, help="mutants run at once (default 1)")
    parser.add_argument("--no-fork", action="store_true",
                        help="start each test run as a new interpreter instead of forking this one (slower)")
    parser.add_argument("--record", type=Path, metavar="FILE",
                        help="append each mutant's outcome to FILE (JSON lines) as it is known")
    parser.add_argument("--rerun-survivors", type=Path, metavar="FILE",
                        help="take the killed mutants of an earlier --record FILE as killed (where the module "
                        "is unchanged) and run only the others: after tests were added, never removed")
    parser.add_argument("--list", action="store_true", help="list the mutants and their keys, run nothing")
    args = parser.parse_args(argv)

    modules = args.module or list(CORE_MODULES)
    if args.all:
        modules += [m for m in EXTRA_MODULES if (ROOT / m).exists() and m not in modules]
    for m in modules:
        if not (ROOT / m).is_file():
            parser.error(f"no module {m}")
        if not test_files_for(m):
            parser.error(f"no test file imports {m}")
    equivalent = read_equivalent()
    selected = {m: [x for x in mutants_of(m) if x.sampled(args.sample)
                    and (not args.match or any(t in x.key for t in args.match))] for m in modules}
    known = {x.key for m in modules for x in mutants_of(m)}
    stale = [k for k in equivalent if k.split("]")[0][1:] in modules and k not in known]
    for k in stale:
        print(f"warning: {EQUIVALENT_FILE.name} names no current mutant: {k}")
    if args.list:
        for m, mutants in selected.items():
            for x in mutants:
                print(f"{m}:{x.line}\t{x.key}")
        return 0

    def log(text: str) -> None:
        print(text, flush=True)

    previous: dict[str, str] = {}
    if args.rerun_survivors:
        for line in args.rerun_survivors.read_text().splitlines():
            row = json.loads(line)
            module = row["key"].split("]")[0][1:]
            if module in modules and row["source_sha256"] == source_sha256(module) and row["status"] != "survived":
                previous[row["key"]] = row["status"]

    def record(outcome: Outcome) -> None:
        if args.record:
            with args.record.open("a") as f:
                f.write(json.dumps({"key": outcome.mutant.key, "source_sha256": source_sha256(outcome.mutant.module),
                                    "status": outcome.status}) + "\n")

    start = time.monotonic()
    results: dict[str, list[Outcome]] = {}
    with tempfile.TemporaryDirectory(prefix="odbench-mutation-") as base:
        workspaces = [Workspace(Path(base)) for _ in range(max(1, args.jobs))]
        fork = not args.no_fork
        if fork:
            preload()
        timed = baseline(modules, workspaces[0], fork)
        log(f"unmutated: {len(timed)} tests pass in {sum(timed.values()):.0f} s")
        for m in modules:
            known_killed = [Outcome(x, previous[x.key], 0.0) for x in selected[m] if x.key in previous]
            if known_killed:
                log(f"{m}: {len(known_killed)} mutants killed in {args.rerun_survivors}, not run again")
            for o in known_killed:
                record(o)
            to_run = [x for x in selected[m] if x.key not in previous]
            results[m] = known_killed + run_module(m, to_run, timed, workspaces, fork, log, record)

    print(f"\nSurvivors (copy a key into {EQUIVALENT_FILE.name} with a 'why:' line only if it changes nothing):")
    for m, outcomes in results.items():
        for o in outcomes:
            if o.status == "survived":
                tag = "equivalent" if o.mutant.key in equivalent else "SURVIVED"
                print(f"  {tag}  {m}:{o.mutant.line} {o.mutant.operator}: {o.mutant.change}")
                print(f"      was: {o.mutant.text}")
                print(f"      now: {mutated_line(o.mutant)}")
                print(f"      key: {o.mutant.key}")

    sample = f" (1 in {args.sample} sample)" if args.sample > 1 else ""
    print(f"\nMutation score{sample}, {time.monotonic() - start:.0f} s:")
    totals = [0, 0, 0]
    for m, outcomes in results.items():
        killed = sum(o.status != "survived" for o in outcomes)
        eq = sum(o.status == "survived" and o.mutant.key in equivalent for o in outcomes)
        n = len(outcomes)
        totals = [totals[0] + n, totals[1] + killed, totals[2] + eq]
        print(_score_line(m, n, killed, eq))
    print(_score_line("all", *totals))
    score = 100.0 * totals[1] / max(1, totals[0] - totals[2])
    if args.fail_under is not None and score < args.fail_under:
        print(f"mutation score {score:.1f}% without equivalent mutants is under {args.fail_under}%")
        return 1
    return 0


def _score_line(name: str, n: int, killed: int, equivalent: int) -> str:
    raw = 100.0 * killed / max(1, n)
    net = 100.0 * killed / max(1, n - equivalent)
    return (f"  {name:32s} {n:4d} mutants, {killed:4d} killed, {n - killed - equivalent:3d} survived, "
            f"{equivalent:3d} equivalent: {raw:5.1f}% raw, {net:5.1f}% without equivalent")


if __name__ == "__main__":
    sys.exit(main())
