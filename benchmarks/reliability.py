"""Reliability report: inject every fault class of issues 8 and 18 and record what happened.

    python -m benchmarks.reliability                 # writes benchmarks/results/reliability.md
    python -m benchmarks.reliability --examples 300  # more hypothesis examples

Each class is *run* here (not counted from the test files): the malformed-input corpus of
tests/test_problem_validation.py through ``planner solve``, random malformed problems drawn
by the hypothesis strategy of tests/test_property.py, solver faults (time limits, a missing,
crashing or silent CBC binary, no HiGHS, backends returning garbage), execution faults (a
model raising mid-run, a model killing its process, concurrent runs sharing one history
database) and untrusted plans (foreign adapters, tampered plans, file paths outside the input
directory) and issue 18's corpus of hostile inputs (tests/reliability_corpus.py: parser
bombs, non-finite and overflowing numbers, device files and FIFOs, markup and control
characters, hostile flags and plan files, path tricks, output targets). A row's "ok" says
whether every try had the expected outcome.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import io
import json
import os
import sqlite3
import stat
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from unittest import mock

from benchmarks.machine import describe

REPO = Path(__file__).resolve().parent.parent
RESULT = REPO / "benchmarks" / "results" / "reliability.md"


@dataclass
class Row:
    fault: str
    tried: int
    outcome: str
    expected: str
    ok: bool
    details: list[str] = field(default_factory=list)


def cli(*args: str) -> tuple[int, str, str]:
    """``planner ARGS`` in this process: exit code, stdout, stderr."""
    from planner.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(args))
    return code, out.getvalue(), err.getvalue()


def refused_cleanly(code: int, err: str) -> bool:
    return code == 2 and "error:" in err and "Traceback" not in err


# ---------------------------------------------------------------------- malformed inputs


def malformed_corpus(work: Path) -> Row:
    from tests.conftest import two_node_data
    from tests.test_problem_validation import CASES, FILE_CASES, broken

    base: dict[str, Any] = two_node_data.__wrapped__()  # the fixture's function
    outcomes: Counter[str] = Counter()
    bad: list[str] = []
    for name, path, value, expected in CASES:
        assert isinstance(path, list) and isinstance(expected, str)
        f = work / "case.json"
        f.write_text(json.dumps(broken(base, path, value)))
        code, _, err = cli("solve", str(f))
        ok = refused_cleanly(code, err) and expected in err
        outcomes["exit 2 + message" if ok else f"exit {code}"] += 1
        if not ok:
            bad.append(name)
    for name, content in FILE_CASES.items():
        f = work / name
        f.write_bytes(content)
        code, _, err = cli("solve", str(f))
        ok = refused_cleanly(code, err)
        outcomes["exit 2 + message" if ok else f"exit {code}"] += 1
        if not ok:
            bad.append(name)
    import profiles.catalog

    with mock.patch.object(profiles.catalog, "MAX_FILE_BYTES", 100):
        f = work / "big.json"
        f.write_text(json.dumps({"pad": "x" * 200}))
        code, _, err = cli("solve", str(f))
        ok = refused_cleanly(code, err)
        outcomes["exit 2 + message" if ok else f"exit {code}"] += 1
    tried = len(CASES) + len(FILE_CASES) + 1
    return Row(
        "malformed problem files (corpus: wrong shapes, cycles, bad metrics/budgets/weights, "
        "unreadable/non-JSON/YAML tags, oversized)",
        tried,
        ", ".join(f"{n} {k}" for k, n in sorted(outcomes.items())),
        "all exit 2 with a message, no traceback",
        outcomes["exit 2 + message"] == tried,
        [f"not refused cleanly: {', '.join(bad)}"] if bad else [],
    )


def malformed_random(examples: int) -> Row:
    from hypothesis import HealthCheck, given, settings

    from planner import ProblemError, problem_from_data, solve
    from tests.test_property import mutated_problems

    outcomes: Counter[str] = Counter()
    crashes: list[str] = []

    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=True,  # same examples every run: the counts are reproducible
        suppress_health_check=list(HealthCheck),
    )
    @given(mutated_problems())
    def one(data: dict[str, Any]) -> None:
        try:
            problem = problem_from_data(copy.deepcopy(data))
        except ProblemError:
            outcomes["refused (ProblemError)"] += 1
            return
        except Exception as exc:  # the fault we look for
            outcomes["crash"] += 1
            crashes.append(f"{type(exc).__name__}: {exc}")
            return
        try:
            plan = solve(problem, backend="brute" if len(problem.graph.nodes) <= 6 else "cbc")
        except Exception as exc:
            outcomes["crash"] += 1
            crashes.append(f"{type(exc).__name__}: {exc}")
            return
        outcomes[f"still valid, solved: {plan.status}"] += 1

    one()
    tried = sum(outcomes.values())
    return Row(
        "random malformed problems (hypothesis: 1-3 mutations of a valid problem)",
        tried,
        ", ".join(f"{n} {k}" for k, n in sorted(outcomes.items())),
        "refused or solved; never another exception",
        outcomes["crash"] == 0,
        crashes[:5],
    )


# ---------------------------------------------------------------------- solver faults


def time_limits(limit_s: float) -> list[Row]:
    from benchmarks.instances import instance
    from solvers import Status, solve_selection, violations

    rows = []
    problem = instance(100, 10, 0)
    for backend, fast in (("cbc", True), ("highs", True), ("cbc", False), ("highs", False)):
        start = time.perf_counter()
        result = solve_selection(problem, backend, time_limit_s=limit_s, fast_path=fast).result
        wall = time.perf_counter() - start
        good = (
            result.status in (Status.FEASIBLE, Status.OPTIMAL)
            and result.choice is not None
            and not violations(problem, result.choice)
        )
        gap = "-" if result.gap is None else f"{result.gap:.2%}"
        # CBC alone (heuristics off) may find no plan in time under load: then it must say
        # time_limit with no plan; every other path must return its best plan.
        honest = result.status == Status.TIME_LIMIT and result.choice is None
        how = f"{backend} (default path)" if fast else f"{backend} alone (fast_path=False)"
        rows.append(
            Row(
                f"time limit {limit_s:g} s, {how}, 100 nodes x 10",
                1,
                f"{result.status.value} after {wall:.2f} s wall, gap {gap}",
                f"best plan and gap within {1.1 * limit_s:.2f} s + 1 s"
                + ("; or time_limit with no plan" if backend == "cbc" and not fast else ""),
                (good or (backend == "cbc" and not fast and honest))
                and wall <= 1.1 * limit_s + 1.0,
            )
        )
    return rows


def _fake_cbc(work: Path, name: str, body: str | None) -> Path:
    if body is None:
        return work / "no-such-dir" / "cbc"
    script = work / f"cbc-{name}"
    script.write_text("#!/bin/sh\n" + body + "\n")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script


@contextlib.contextmanager
def cbc_binary(binary: Path) -> Any:
    import solvers.api as api
    import solvers.cbc as cbc

    def command(pulp: Any, time_limit_s: float, *args: Any) -> Any:
        return pulp.COIN_CMD(path=str(binary), msg=False, timeLimit=time_limit_s)

    with (
        mock.patch.object(cbc, "cbc_command", command),
        mock.patch.object(api, "FAST_PATH_NODES", 0),
        mock.patch.object(api, "_separable_optimum", lambda problem: None),
    ):
        yield


def broken_cbc(work: Path) -> list[Row]:
    import importlib

    from planner import problem_from_data, solve
    from tests.conftest import random_problem_data

    planner_solve = importlib.import_module("planner.solve")
    data = random_problem_data(3, n_nodes=8, n_cands=5)
    problem = problem_from_data(data)
    reference = solve(problem, backend="brute")
    kinds = {
        "missing": None,
        "crashing (exit 1)": "echo 'segmentation fault' >&2; exit 1",
        "silent (exit 0, no answer)": "exit 0",
    }
    outcomes: Counter[str] = Counter()
    notes = []
    for name, body in kinds.items():
        with cbc_binary(_fake_cbc(work, name.split()[0], body)):
            plan = solve(problem, backend="cbc")
        same = (
            plan.objective is not None and abs(plan.objective - (reference.objective or 0)) < 1e-9
        )
        fell_back = plan.solver.backend == "highs" and "CBC unavailable" in plan.solver.message
        outcomes["HiGHS fallback, same optimum" if same and fell_back else plan.status] += 1
        notes.append(f"{name}: {plan.solver.message}")
    f = work / "problem.json"
    f.write_text(json.dumps(data))
    with (
        cbc_binary(_fake_cbc(work, "crash2", "exit 1")),
        mock.patch.object(planner_solve, "highs_available", lambda: False),
    ):
        code, _, err = cli("solve", str(f))
    no_highs_ok = refused_cleanly(code, err) and "pip install highspy" in err
    notes.append("no HiGHS: " + " ".join(err.split()))
    return [
        Row(
            "CBC binary missing / crashing / silent (HiGHS installed)",
            len(kinds),
            ", ".join(f"{n} {k}" for k, n in outcomes.items()),
            "plan solved by HiGHS, the fallback recorded in solver.message",
            outcomes["HiGHS fallback, same optimum"] == len(kinds),
            notes[:3],
        ),
        Row(
            "CBC crashing and HiGHS not installed (`planner solve`)",
            1,
            f"exit {code}" + (", message names `pip install highspy`" if no_highs_ok else ""),
            "exit 2, message naming `pip install highspy`",
            no_highs_ok,
            notes[3:],
        ),
    ]


def garbage() -> Row:
    import solvers.api as api
    from planner import problem_from_data, solve
    from planner.solve import Compiled
    from solvers import SolveResult, Status
    from tests.conftest import random_problem_data

    problem = problem_from_data(random_problem_data(5, n_nodes=6, n_cands=4, tightness=0.3))
    sel = Compiled(problem).selection
    n = sel.n_nodes
    heavy = tuple(max(range(len(c)), key=lambda i: c[i].energy_j) for c in sel.candidates)
    lies = {
        "index past the end": (4,) + (0,) * (n - 1),
        "negative index": (-1,) + (0,) * (n - 1),
        "too few choices": (0,) * (n - 1),
        "too many choices": (0,) * (n + 1),
        "plan breaking a budget": heavy,
    }
    outcomes: Counter[str] = Counter()
    for backend in ("cbc", "highs"):
        for choice in lies.values():
            lying = SolveResult(Status.OPTIMAL, backend, choice, 0.0, 0.0, 0.0)
            with (
                mock.patch(f"solvers.{backend}.solve_milp_{backend}", lambda *a, _r=lying, **k: _r),
                mock.patch.object(api, "FAST_PATH_NODES", 0),
                mock.patch.object(api, "_separable_optimum", lambda problem: None),
            ):
                plan = solve(problem, backend=backend, presolve=False)
            outcomes[
                f"status {plan.status}" + (" with no plan" if not plan.assignment else "")
            ] += 1
    tried = 2 * len(lies)
    return Row(
        "backend returns garbage labelled optimal (" + ", ".join(lies) + "; cbc and highs)",
        tried,
        ", ".join(f"{n} {k}" for k, n in outcomes.items()),
        "status error, no plan",
        outcomes["status error with no plan"] == tried,
    )


# ---------------------------------------------------------------------- execution faults


def _models(last: dict[str, Any]) -> list[dict[str, Any]]:
    from tests.test_execute import model

    return [model("ma", "A", "echo", 10, tag="ma"), model("mb", "B", "echo", 10, tag="mb"), last]


def _problem(work: Path, name: str, last: dict[str, Any]) -> Path:
    from tests.test_execute import diamond

    data = diamond(_models(last))
    data["metadata"] = {"inputs": {"x": "hi"}}
    path = work / name
    path.write_text(json.dumps(data))
    return path


def execution_faults(work: Path, concurrent: int) -> list[Row]:
    from planner.history import History
    from tests.test_execute import model

    env = {**os.environ, "PYTHONPATH": str(REPO)}
    env["PLANNER_HISTORY"] = str(work / "history.sqlite")
    env["XDG_DATA_HOME"] = str(work / "data")
    env["PLANNER_TRUST_FILES"] = "1"  # our own test models (tests/run_models.py)
    run = [sys.executable, "-m", "planner", "run", "-q", "--json"]
    rows = []
    # 1. a model raising mid-run (no alternative candidate)
    raising = _problem(work, "raise.json", model("mc", "C", "fail", 10, message="CUDA error"))
    out = work / "r-raise"
    proc = subprocess.run([*run, str(raising), "--out", str(out)], env=env, capture_output=True)
    report = json.loads((out / "report.json").read_text())
    history = History(work / "history.sqlite").runs()
    outputs = sorted(p.name for p in (out / "outputs").iterdir())
    consistent = (
        proc.returncode == 4
        and json.loads(proc.stdout) == report
        and report["status"] == "partial"
        and history[0].run_id == report["run_id"]
        and history[0].status == "partial"
        and history[0].n_succeeded == 3
        and outputs == ["a.json", "b.json", "c.json"]
        and all(json.loads((out / "outputs" / o).read_text()) for o in outputs)
    )
    rows.append(
        Row(
            "model raises mid-run (last node, no alternative model)",
            1,
            f"exit {proc.returncode}, report {report['status']}, history row "
            f"{history[0].status} ({history[0].n_succeeded} succeeded), outputs {outputs}",
            "exit 4; report on disk = printed; history row matches; finished outputs readable",
            consistent,
        )
    )
    # 2. a model killing its process
    killer = model("mc", "C", "die", 10)
    killer["adapter"]["target"] = "tests.reliability_models:die"
    out = work / "r-kill"
    proc = subprocess.run(
        [*run, str(_problem(work, "kill.json", killer)), "--out", str(out)],
        env=env,
        capture_output=True,
    )
    outputs = sorted(p.name for p in (out / "outputs").iterdir())
    leftovers = [p.name for p in out.rglob(".*")]
    before = len(history)
    after = History(work / "history.sqlite").runs()
    report = json.loads((out / "report.json").read_text()) if (out / "report.json").exists() else {}
    died = [
        a.get("error", "")
        for n in report.get("nodes", [])
        if n["id"] == "d"
        for a in n.get("attempts", [])
    ]
    rows.append(
        Row(
            "model kills its worker process (os._exit, like a native crash)",
            1,
            f"exit {proc.returncode}; outputs {outputs}; report {report.get('status', 'absent')}; "
            f"node d attempts {len(died)}; temp files {len(leftovers)}; history rows "
            f"{before} -> {len(after)}",
            "only the worker dies: the node is retried on a fresh worker, fails, the run "
            "ends partial (exit 4) with a report and a history row; finished outputs readable, "
            "no temp file",
            proc.returncode == 4
            and report.get("status") == "partial"
            and bool(died)
            and all("worker process died" in e for e in died)
            and outputs == ["a.json", "b.json", "c.json"]
            and not leftovers
            and len(after) == before + 1,
        )
    )
    # 3. concurrent runs sharing one history database
    good = _problem(work, "good.json", model("mc", "C", "echo", 10, tag="mc"))
    start = time.perf_counter()
    procs = [
        subprocess.Popen([*run, str(good)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for _ in range(concurrent)
    ]
    codes = [p.wait(timeout=300) for p in procs]
    for p in procs:
        assert p.stdout is not None and p.stderr is not None
        p.stdout.close()
        p.stderr.close()
    wall = time.perf_counter() - start
    rows_after = History(work / "history.sqlite").runs(limit=1000)
    with sqlite3.connect(work / "history.sqlite") as conn:
        integrity = conn.execute("PRAGMA integrity_check").fetchone()[0]
        mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
    new = len(rows_after) - len(after)
    rows.append(
        Row(
            f"{concurrent} `planner run` processes at once, one history database",
            concurrent,
            f"exit codes {sorted(Counter(codes).items())}; {new} rows recorded; integrity "
            f"{integrity}; journal {mode}; {wall:.1f} s wall",
            f"all exit 0, {concurrent} rows, integrity ok",
            codes == [0] * concurrent and new == concurrent and integrity == "ok",
        )
    )
    return rows


# ---------------------------------------------------------------------- untrusted plans


def untrusted(work: Path) -> list[Row]:
    from tests.test_execute import diamond, model

    models = _models(model("mc", "C", "echo", 10, tag="mc"))
    data = diamond(models)
    data["metadata"] = {"inputs": {"x": "hi"}}
    problem = work / "own.json"
    problem.write_text(json.dumps(data))
    plan = work / "plan.json"
    cli("solve", str(problem), "-o", str(plan))
    catalog = work / "catalog.json"
    catalog.write_text(json.dumps({"models": models}))
    tampered = json.loads(plan.read_text())
    tampered["problem"]["models"][1]["adapter"]["target"] = "tests.run_models:fail"
    bad_plan = work / "tampered.json"
    bad_plan.write_text(json.dumps(tampered))
    checks = {
        "foreign python adapters, no catalog": (("run", str(plan), "-q"), 2),
        "same adapters declared by --catalog": (
            ("run", str(plan), "-q", "--catalog", str(catalog)),
            0,
        ),
        "tampered target, with --catalog": (
            ("run", str(bad_plan), "-q", "--catalog", str(catalog)),
            2,
        ),
        "--trust-plan": (("run", str(plan), "-q", "--trust-plan"), 0),
    }
    got = {}
    for name, (args, _) in checks.items():
        got[name] = cli(*args)[0]
    rows = [
        Row(
            "plan files naming adapters (" + "; ".join(checks) + ")",
            len(checks),
            "; ".join(f"{k}: exit {v}" for k, v in got.items()),
            "exit 2 unless the user's catalog declares them or --trust-plan",
            all(got[k] == checks[k][1] for k in checks),
        )
    ]
    paths = ["../secret.jpg", "/etc/passwd.txt", "~/.ssh/id.txt", "in/../../x.csv"]
    codes = []
    for value in paths:
        d = copy.deepcopy(data)
        d["graph"]["nodes"][0]["args"]["image"] = value
        f = work / "paths.json"
        f.write_text(json.dumps(d))
        code, _, err = cli("run", str(f), "-q", "--input-dir", str(work), "--trust-plan")
        codes.append(code if "input directory" in err else -code)
    rows.append(
        Row(
            "file arguments outside the input directory (" + ", ".join(paths) + ")",
            len(paths),
            f"exit codes {codes}",
            "all exit 2, nothing run",
            codes == [2] * len(paths),
        )
    )
    return rows


def hostile_corpus(work: Path) -> list[Row]:
    """Issue 18's corpus (tests/reliability_corpus.py), one row per kind."""
    from tests.reliability_corpus import cases, replay

    by_kind: dict[str, list[Any]] = {}
    for case in cases(work / "corpus"):
        by_kind.setdefault(case.kind, []).append(replay(case))
    titles = {
        "solve": "hostile problem files (deep JSON/YAML, recursive aliases, billion laughs in "
        "args and metadata, NaN/Infinity/1e400/1e308, ids with newlines/ESC/markup, /dev/zero, "
        "FIFO, socket, directory, over the size limit, -o FIFO/device/directory)",
        "flags": "hostile flags (--time-limit nan/inf/0, --gap nan, --points 1e8, "
        "--max-points 1e10, --last 1e25, budgets and weights nan/1e400, --factors nan/1e400)",
        "plans": "hostile plan files (adapter kind dict/list, missing/unknown nodes, a model "
        "that is not a candidate, NaN)",
        "run": "`planner run` validation and outputs (paths with spaces, long paths, file: URLs, "
        "untrusted adapters in problem files, --inputs /dev/zero, deep, NaN or a YAML bomb, "
        "250-char ids, --workers/--node-timeout 0/-1/nan; model outputs with a circular "
        "reference, tuple keys or NaN written as strict JSON)",
        "decompose": "`planner decompose` / `eval` inputs (absolute path with a space, LLM "
        "config and tool graph as /dev/zero, FIFO, deep JSON, YAML bomb)",
        "report": "`planner report` / `diff` / `history` inputs (/dev/zero, deep, YAML bomb, "
        "-o FIFO, history of another schema)",
        "serve": "`planner serve` flags and files (catalog as /dev/zero, FIFO, deep, YAML bomb; "
        "NaN/zero/negative slot, budget, timeout; tiny body limit; unset token; bad port)",
    }
    rows = []
    for kind, outcomes in by_kind.items():
        bad = [o for o in outcomes if not o.ok]
        codes = Counter(o.code for o in outcomes)
        slowest = max(o.seconds for o in outcomes)
        rows.append(
            Row(
                titles.get(kind, kind),
                len(outcomes),
                ", ".join(f"{n} exit {c}" for c, n in sorted(codes.items()))
                + f"; slowest {slowest:.2f} s; {len(bad)} not as expected",
                "each exits with its expected code and message (2 + `error:`, or 0 with the "
                "right answer for valid input), no `internal error:`, no raw ESC, under 10 s",
                not bad,
                [f"{o.case.name}: {o.why}" for o in bad],
            )
        )
    return rows


def code_scan() -> Row:
    from tests.test_reliability_untrusted import test_no_code_from_data_anywhere

    try:
        test_no_code_from_data_anywhere()
        found = "none outside the vetted places"
        ok = True
    except AssertionError as exc:
        found, ok = str(exc), False
    return Row(
        "eval/exec/pickle/yaml.load/shell=True/os.system/unsafe torch.load in "
        "planner/ profiles/ solvers/ tasks/ (AST scan)",
        1,
        found,
        "none",
        ok,
    )


# ---------------------------------------------------------------------- report


def render(rows: list[Row], seconds: float, examples: int) -> str:
    lines = [
        "# Reliability report",
        "",
        "`python -m benchmarks.reliability` (this file is its output). Every row was run: "
        "faults injected, outcomes checked against what the row expects.",
        "",
        "Machine (shared, noisy; wall times are indicative only):",
        "",
        *[f"- {line}" for line in describe()],
        f"- total run time: {seconds:.0f} s; hypothesis examples requested: {examples}",
        "",
        "| fault class | tried | outcome | expected | ok |",
        "|---|---:|---|---|:---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r.fault} | {r.tried} | {r.outcome} | {r.expected} | {'yes' if r.ok else 'NO'} |"
        )
    total = sum(r.tried for r in rows)
    lines += [
        "",
        f"**{total} inputs and injected faults, {sum(r.ok for r in rows)}/{len(rows)} "
        "classes as expected.**",
        "",
        "Details:",
        "",
    ]
    for r in rows:
        for d in r.details:
            lines.append(f"- {r.fault.split(' (')[0]}: {d}")
    from benchmarks.reliability_checklist import render_checklist

    lines += ["", *render_checklist()]
    lines += [
        "",
        "Also covered by the test suite, not re-run here: Ctrl-C (SIGINT) stops a run with a "
        "partial report and exit 130 (tests/test_cli_run.py), retries and re-planning around a "
        "failing or timed-out model (tests/test_execute.py), 50 history writes from two "
        "processes (tests/test_cli_run.py), backends agreeing with the brute-force oracle on "
        "random valid problems (tests/test_property.py).",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=200, help="hypothesis examples")
    parser.add_argument("--time-limit", type=float, default=1.5, help="solver limit, s")
    parser.add_argument("--concurrent", type=int, default=4, help="parallel planner runs")
    parser.add_argument("-o", "--output", type=Path, default=RESULT)
    args = parser.parse_args(argv)
    sys.path.insert(0, str(REPO))
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="planner-reliability-") as tmp:
        work = Path(tmp)
        os.environ["PLANNER_HISTORY"] = str(work / "cli-history.sqlite")
        os.environ["XDG_DATA_HOME"] = str(work / "data")
        rows = [malformed_corpus(work), malformed_random(args.examples)]
        rows += time_limits(args.time_limit)
        rows += broken_cbc(work)
        rows.append(garbage())
        rows += execution_faults(work, args.concurrent)
        rows += untrusted(work)
        rows += hostile_corpus(work)
        rows.append(code_scan())
    text = render(rows, time.perf_counter() - start, args.examples)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text, encoding="utf-8")
    print(text)
    return 0 if all(r.ok for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
