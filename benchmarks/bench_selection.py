"""Selection quality of the ILP against baseline selectors, on real task graphs and profiles.

    python -m benchmarks.bench_selection [--quick] [--data DIR] [--taskbench FILE]
        [--seeds 10] [--repeats 3] [--energy-frac 0.3] [--latency-frac 0.5]
        [--accuracy-frac 0.5] [--out benchmarks/results/selection.md]

Task graphs are TaskBench's gold decompositions (HuggingFace domain), converted with
`tasks.formats.taskbench_to_graph`; malformed records are skipped and counted. A request is
kept when every one of its task types has published candidates (see ``TABLES``). Candidates
come from published tables through `profiles.published.import_table` (the full tables in
``../shared/data/profiles-public`` when present, else the excerpts in
``tests/data/profiles-public``).

Every selector sees the same budgets per request, set from that request's candidates (see
`request_budgets`). Selectors:

- ``ilp-accuracy``: the ILP maximising end-to-end accuracy under the budgets
  (`planner.insight.Solver.best(problem, "accuracy")`), then, with accuracy held at that
  optimum, `planner.solve` with weights energy=1, latency=0 for the least energy.
- ``ilp-cost``: `planner.solve` as a user runs it (default backend and weights: minimise
  0.5 energy + 0.5 latency, normalised) under the budgets, min_accuracy included.
- ``description``: imitates an LLM orchestrator picking from model cards: the largest model
  (most memory, i.e. parameters) per node, ties to the more accurate. Budget-unaware.
- ``most-accurate``: the most accurate candidate per node (ties: least energy).
- ``cheapest``: the least-energy candidate per node (ties: more accurate).
- ``random``: a uniformly random candidate per node, ``--seeds`` seeds, averaged.
- ``per-node-pareto``: the energy budget split evenly over the n nodes; each node takes the
  most accurate candidate with energy <= B_E / n (ties: least energy), or its cheapest
  candidate when none fits (counted as a fallback).
"""

from __future__ import annotations

import argparse
import functools
import gc
import json
import math
import random
import re
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.machine import describe
from planner import Problem, problem_from_data, solve
from planner.insight import Solver, default_backend
from planner.solve import Compiled
from profiles.published import ImportOptions, import_table, merge_catalogs
from profiles.schema import Catalog, ModelProfile
from solvers import Candidate, SelectionProblem, evaluate, violations
from tasks.errors import GraphError
from tasks.formats import graph_to_data, taskbench_to_graph

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "data"
SHARED_PROFILES = SHARED / "profiles-public"
TEST_PROFILES = ROOT / "tests" / "data" / "profiles-public"
TASKBENCH = ROOT / "tests" / "data" / "taskbench" / "huggingface" / "data_sample.jsonl"

#: (format, file under the profiles folder, tasks it serves here, hardware option).
TABLES: tuple[tuple[str, str, tuple[str, ...], str | None], ...] = (
    ("timm", "timm/results-imagenet.csv", ("Image Classification",), "gpu"),
    (
        "torchvision",
        "torchvision/torchvision_weights_meta.csv",
        ("Image Classification", "Object Detection", "Image Segmentation"),
        "gpu",
    ),
    (
        "yolo",
        "ultralytics/yolo11_performance.csv",
        ("Image Classification", "Object Detection", "Image Segmentation"),
        "gpu",
    ),
    (
        "mlenergy",
        "mlenergy/v1-legacy/A100_chat_benchmark.csv",
        ("Text Generation", "Conversational"),
        None,
    ),
    ("mlenergy", "mlenergy/v3/gpqa.json", ("Question Answering",), "H100"),
    (
        "mlenergy",
        "mlenergy/v3/image-chat.json",
        ("Visual Question Answering", "Image-to-Text"),
        "H100",
    ),
    ("mlenergy", "mlenergy/v3/text-to-image.json", ("Text-to-Image",), "H100"),
    ("mlenergy", "mlenergy/v3/text-to-video.json", ("Text-to-Video",), "H100"),
)

#: Tasks whose candidates (ML.ENERGY v3) carry the placeholder accuracy 1.0.
PLACEHOLDER_TASKS = frozenset(
    {
        "Question Answering",
        "Visual Question Answering",
        "Image-to-Text",
        "Text-to-Image",
        "Text-to-Video",
    }
)

#: With ``--llm-proxy``: text tasks the ML.ENERGY v1 chat LLMs also serve, with their
#: published accuracy (ARC/HellaSwag/TruthfulQA mean) standing in for the task's own metric.
PROXY_TASKS = ("Summarization", "Translation")

ILP_ACC = "ilp-accuracy"
ILP_COST = "ilp-cost"
BASELINES = ("description", "most-accurate", "cheapest", "random", "per-node-pareto")
SELECTORS = (ILP_ACC, ILP_COST, *BASELINES)
MODE = {
    ILP_ACC: "ILP, accuracy mode: max accuracy, then least energy",
    ILP_COST: "ILP, cost mode: `planner.solve` default (min 0.5 E + 0.5 T, normalised)",
    "description": "description-based (largest model per node)",
    "most-accurate": "most accurate per node",
    "cheapest": "cheapest (least energy) per node",
    "random": "random per node (mean over seeds)",
    "per-node-pareto": "per-node Pareto, energy budget split evenly",
}


# --------------------------------------------------------------------------- inputs
def profiles_dir(data: Path | None = None) -> Path:
    """The profiles folder: ``data`` if given, else the shared full tables, else excerpts."""
    if data is not None:
        return data
    return SHARED_PROFILES if SHARED_PROFILES.is_dir() else TEST_PROFILES


def load_catalog_from_tables(
    root: Path, proxy_tasks: Sequence[str] = ()
) -> tuple[Catalog, list[str]]:
    """Every table of ``TABLES`` found under ``root``, merged; and the files used.

    ``proxy_tasks``: the ML.ENERGY v1 "Text Generation" rows are also offered for these
    tasks, their ``provenance.metric`` saying that the accuracy is a proxy.
    """
    catalogs: list[Catalog] = []
    used: list[str] = []
    for fmt, rel, tasks, hardware in TABLES:
        path = root / rel
        if not path.is_file():
            continue
        result = import_table(fmt, path, ImportOptions(tasks=tasks, hardware=hardware))
        catalogs.append(result.catalog)
        used.append(f"{rel} ({len(result.catalog.models)} rows, {len(result.skipped)} skipped)")
        if proxy_tasks and "v1-legacy" in rel:
            llm = [m for m in result.catalog.models if m.task == "Text Generation"]
            catalogs.append(Catalog(models=tuple(_proxy(m, t) for t in proxy_tasks for m in llm)))
            used.append(f"{rel}: its {len(llm)} LLMs also offered for {', '.join(proxy_tasks)}")
    return merge_catalogs(catalogs), used


def _proxy(m: ModelProfile, task: str) -> ModelProfile:
    assert m.provenance is not None  # every imported row has one
    note = f"{m.provenance.metric}; used as a proxy for {task}, not measured on {task}"
    prov = m.provenance.model_copy(update={"metric": note})
    return m.model_copy(update={"task": task, "provenance": prov})


@dataclass
class Requests:
    kept: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    total: int = 0
    malformed: int = 0
    unserved: int = 0
    served: int = 0
    reasons: Counter[str] = field(default_factory=Counter)


def load_requests(path: Path, tasks: set[str], limit: int | None = None) -> Requests:
    """TaskBench records as (id, graph data), keeping those whose tasks all have candidates."""
    out = Requests()
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        out.total += 1
        try:
            record = json.loads(line)
            graph = taskbench_to_graph(record)
        except (json.JSONDecodeError, GraphError, AttributeError) as exc:
            out.malformed += 1
            text = " ".join(re.sub(r"\[\d+\]|<node-\d+>", "[k]", str(exc)).split())
            out.reasons[text[:120]] += 1
            continue
        if not {n.task for n in graph.nodes} <= tasks:
            out.unserved += 1
            continue
        out.served += 1
        if limit is None or len(out.kept) < limit:
            out.kept.append((str(record.get("id")), graph_to_data(graph)))
    return out


def request_budgets(
    sel: SelectionProblem, energy_frac: float, latency_frac: float, accuracy_frac: float
) -> dict[str, float]:
    """Budgets between the request's cheapest and most expensive plans.

    energy: E_min + f_E (E_max - E_min), where E_min/E_max are the sums of each node's least
    and largest energy; latency likewise between the makespans of the fastest and slowest
    candidates per node; min_accuracy: A_min (A_max / A_min)^f_A (geometric interpolation
    between the products of each node's least and largest accuracy).
    """

    def pick(key: Callable[[Any], float], best: Callable[..., Any]) -> tuple[int, ...]:
        return tuple(
            cands.index(best(cands, key=key)) for cands in (list(c) for c in sel.candidates)
        )

    lo_e = evaluate(sel, pick(lambda c: c.energy_j, min)).energy_j
    hi_e = evaluate(sel, pick(lambda c: c.energy_j, max)).energy_j
    lo_t = evaluate(sel, pick(lambda c: c.latency_ms, min)).latency_ms
    hi_t = evaluate(sel, pick(lambda c: c.latency_ms, max)).latency_ms
    lo_a = evaluate(sel, pick(lambda c: c.accuracy, min)).accuracy
    hi_a = evaluate(sel, pick(lambda c: c.accuracy, max)).accuracy
    return {
        "energy_j": lo_e + energy_frac * (hi_e - lo_e),
        "latency_ms": lo_t + latency_frac * (hi_t - lo_t),
        "min_accuracy": min(1.0, lo_a * (hi_a / lo_a) ** accuracy_frac),
    }


# --------------------------------------------------------------------------- selectors
Choice = tuple[int, ...]


def _best(
    cands: Sequence[Candidate],
    key: Callable[[Candidate], tuple[float, ...]],
    among: Sequence[int] | None = None,
) -> int:
    """Index of the candidate with the largest ``key`` (first on ties)."""
    indices = range(len(cands)) if among is None else among
    return max(indices, key=lambda i: key(cands[i]))


def _largest(m: Candidate) -> tuple[float, ...]:
    return (m.memory_mb, m.accuracy, -m.energy_j)


def _accurate(m: Candidate) -> tuple[float, ...]:
    return (m.accuracy, -m.energy_j)


def _cheap(m: Candidate) -> tuple[float, ...]:
    return (-m.energy_j, m.accuracy)


def select_description(sel: SelectionProblem) -> Choice:
    return tuple(_best(c, _largest) for c in sel.candidates)


def select_most_accurate(sel: SelectionProblem) -> Choice:
    return tuple(_best(c, _accurate) for c in sel.candidates)


def select_cheapest(sel: SelectionProblem) -> Choice:
    return tuple(_best(c, _cheap) for c in sel.candidates)


def select_random(sel: SelectionProblem, seed: int) -> Choice:
    rng = random.Random(seed)
    return tuple(rng.randrange(len(c)) for c in sel.candidates)


def select_per_node_pareto(sel: SelectionProblem) -> tuple[Choice, int]:
    """(choice, number of nodes where no candidate fit B_E / n and the cheapest was taken)."""
    assert sel.budgets.energy_j is not None
    share = sel.budgets.energy_j / sel.n_nodes
    choice: list[int] = []
    fallbacks = 0
    for c in sel.candidates:
        fits = [i for i in range(len(c)) if c[i].energy_j <= share]
        if fits:
            choice.append(_best(c, _accurate, fits))
        else:
            fallbacks += 1
            choice.append(_best(c, _cheap))
    return tuple(choice), fallbacks


def _choice_of(compiled: Compiled, assignment: dict[str, str]) -> Choice:
    return tuple(
        [m.id for m in rows].index(assignment[node_id])
        for node_id, rows in zip(compiled.order, compiled.rows, strict=True)
    )


def ilp_cost(problem: Problem) -> Choice | None:
    plan = solve(problem)
    if not plan.has_plan:
        return None
    return _choice_of(Compiled(problem), plan.assignment)


def ilp_accuracy(problem: Problem) -> Choice | None:
    compiled = Compiled(problem)
    best = Solver(default_backend()).best(compiled.selection, "accuracy")
    if best is None:
        return None
    accuracy = evaluate(compiled.selection, best).accuracy
    floor = accuracy * (1.0 - 1e-9)
    plan = solve(
        problem.with_overrides(
            budgets={"min_accuracy": floor}, weights={"energy": 1.0, "latency": 0.0}
        )
    )
    if not plan.has_plan:  # cannot happen: `best` meets the same budgets
        return best
    return _choice_of(compiled, plan.assignment)


# --------------------------------------------------------------------------- running
@dataclass
class Outcome:
    """One selector's plan for one request (random: one per seed)."""

    accuracy: float
    energy_j: float
    latency_ms: float
    broken: list[str]
    time_ms: float
    fallbacks: int = 0


@dataclass
class RequestResult:
    request: str
    nodes: int
    tasks: list[str]
    budgets: dict[str, float]
    placeholder_only: bool
    real_accuracy: bool
    outcomes: dict[str, list[Outcome]]


def _timed(fn: Callable[[], Any], repeats: int) -> tuple[Any, float]:
    times: list[float] = []
    result: Any = None
    for _ in range(repeats):
        gc.collect()
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return result, statistics.median(times) * 1000.0


def _outcome(sel: SelectionProblem, choice: Choice, time_ms: float, fallbacks: int = 0) -> Outcome:
    t = evaluate(sel, choice)
    return Outcome(
        t.accuracy, t.energy_j, t.latency_ms, violations(sel, choice), time_ms, fallbacks
    )


def run_request(
    request_id: str,
    graph: dict[str, Any],
    models: Sequence[ModelProfile],
    fracs: tuple[float, float, float],
    seeds: int,
    repeats: int,
) -> RequestResult | None:
    """Every selector on one request; None when no plan meets its budgets (ILP infeasible)."""
    tasks = sorted({n["task"] for n in graph["nodes"]})
    rows = [m.model_dump(mode="json", exclude_none=True) for m in models if m.task in tasks]
    data = {"name": f"taskbench-{request_id}", "graph": graph, "models": rows}
    loose = problem_from_data(data)
    budgets = request_budgets(Compiled(loose).selection, *fracs)
    problem = problem_from_data({**data, "budgets": budgets})
    sel = Compiled(problem).selection
    outcomes: dict[str, list[Outcome]] = {}
    choice, ms = _timed(lambda: ilp_accuracy(problem), repeats)
    if choice is None:
        return None
    outcomes[ILP_ACC] = [_outcome(sel, choice, ms)]
    choice, ms = _timed(lambda: ilp_cost(problem), repeats)
    assert choice is not None, "ilp-cost infeasible where ilp-accuracy found a plan"
    outcomes[ILP_COST] = [_outcome(sel, choice, ms)]
    for name, fn in (
        ("description", select_description),
        ("most-accurate", select_most_accurate),
        ("cheapest", select_cheapest),
    ):
        choice, ms = _timed(functools.partial(fn, sel), repeats)
        outcomes[name] = [_outcome(sel, choice, ms)]
    outcomes["random"] = []
    for seed in range(seeds):
        choice, ms = _timed(functools.partial(select_random, sel, seed), repeats)
        outcomes["random"].append(_outcome(sel, choice, ms))
    (choice, fallbacks), ms = _timed(lambda: select_per_node_pareto(sel), repeats)
    outcomes["per-node-pareto"] = [_outcome(sel, choice, ms, fallbacks)]
    return RequestResult(
        request=request_id,
        nodes=sel.n_nodes,
        tasks=tasks,
        budgets=budgets,
        placeholder_only=set(tasks) <= PLACEHOLDER_TASKS,
        real_accuracy=not set(tasks) & PLACEHOLDER_TASKS,
        outcomes=outcomes,
    )


# --------------------------------------------------------------------------- summary
@dataclass
class SelectorSummary:
    name: str
    plans: int
    mean_accuracy: float
    mean_energy_j: float
    mean_latency_ms: float
    accuracy_per_joule: float
    violating_requests: float
    broken: dict[str, float]
    median_time_ms: float
    fallbacks: int
    met_plans: int
    met_accuracy: float
    ilp_on_met: float
    ilp_worse: int


def summarise(results: list[RequestResult], name: str) -> SelectorSummary:
    outs = [(r, o) for r in results for o in r.outcomes[name]]
    per_request = max(1, len(outs) // max(1, len(results)))
    acc = statistics.fmean(o.accuracy for _, o in outs)
    energy = statistics.fmean(o.energy_j for _, o in outs)
    broken: dict[str, float] = {}
    for _, o in outs:
        for b in o.broken:
            broken[b] = broken.get(b, 0.0) + 1.0 / per_request
    met = [(r, o) for r, o in outs if not o.broken]
    ilp = {r.request: r.outcomes[ILP_ACC][0].accuracy for r in results}
    worse = sum(1 for r, o in met if ilp[r.request] < o.accuracy * (1 - 1e-9))
    return SelectorSummary(
        name=name,
        plans=len(outs),
        mean_accuracy=acc,
        mean_energy_j=energy,
        mean_latency_ms=statistics.fmean(o.latency_ms for _, o in outs),
        accuracy_per_joule=acc / energy,
        violating_requests=sum(1 for _, o in outs if o.broken) / per_request,
        broken=broken,
        median_time_ms=statistics.median(o.time_ms for _, o in outs),
        fallbacks=sum(o.fallbacks for _, o in outs),
        met_plans=len(met),
        met_accuracy=statistics.fmean(o.accuracy for _, o in met) if met else math.nan,
        ilp_on_met=statistics.fmean(ilp[r.request] for r, _ in met) if met else math.nan,
        ilp_worse=worse,
    )


def _geomean(values: list[float]) -> float:
    return math.exp(statistics.fmean(math.log(v) for v in values)) if values else math.nan


@dataclass
class Gain:
    accuracy_rel: float
    accuracy_pp: float
    per_request_min: float
    per_request_max: float
    apj_rel: float
    apj_geomean: float
    apj_max: float
    time_ilp_ms: float
    time_desc_ms: float


def gain_over_description(results: list[RequestResult], ilp: str = ILP_ACC) -> Gain:
    a = [r.outcomes[ilp][0] for r in results]
    d = [r.outcomes["description"][0] for r in results]
    acc_a = statistics.fmean(o.accuracy for o in a)
    acc_d = statistics.fmean(o.accuracy for o in d)
    apj_a = acc_a / statistics.fmean(o.energy_j for o in a)
    apj_d = acc_d / statistics.fmean(o.energy_j for o in d)
    per_acc = [x.accuracy / y.accuracy - 1 for x, y in zip(a, d, strict=True)]
    per_apj = [
        (x.accuracy / x.energy_j) / (y.accuracy / y.energy_j) for x, y in zip(a, d, strict=True)
    ]
    return Gain(
        accuracy_rel=acc_a / acc_d - 1,
        accuracy_pp=(acc_a - acc_d) * 100,
        per_request_min=min(per_acc),
        per_request_max=max(per_acc),
        apj_rel=apj_a / apj_d - 1,
        apj_geomean=_geomean(per_apj) - 1,
        apj_max=max(per_apj) - 1,
        time_ilp_ms=statistics.median(o.time_ms for o in a),
        time_desc_ms=statistics.median(o.time_ms for o in d),
    )


SELECTOR_HEADER = (
    "| selector | mode | mean accuracy | mean energy J | accuracy / kJ | mean latency ms "
    "| requests over budget | budgets broken | median selection ms | met budgets: its accuracy "
    "| ILP (accuracy mode) on the same requests | requests where it beats the ILP |\n"
    "|---|---|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|"
)


def _fmt(x: float, digits: int = 4) -> str:
    return "n/a" if math.isnan(x) else f"{x:.{digits}f}"


def _count(x: float) -> str:
    return f"{x:.0f}" if abs(x - round(x)) < 1e-9 else f"{x:.1f}"


def selector_row(s: SelectorSummary, requests: int) -> str:
    broken = ", ".join(f"{k} {_count(v)}" for k, v in sorted(s.broken.items())) or "none"
    if s.fallbacks:
        broken += f" ({s.fallbacks} node fallbacks to cheapest)"
    over = f"{_count(s.violating_requests)} / {requests}"
    if s.violating_requests:
        over = f"**{over}** (flagged)"
    return (
        f"| {s.name} | {MODE[s.name]} | {s.mean_accuracy:.4f} | {s.mean_energy_j:,.1f} "
        f"| {s.accuracy_per_joule * 1000:.4f} | {s.mean_latency_ms:,.1f} | {over} | {broken} "
        f"| {s.median_time_ms:.3f} | {_fmt(s.met_accuracy)} | {_fmt(s.ilp_on_met)} "
        f"| {s.ilp_worse} |"
    )


def gain_lines(acc: Gain, cost: Gain) -> list[str]:
    def both(fn: Callable[[Gain], str]) -> str:
        return f"| {fn(acc)} | {fn(cost)} |"

    return [
        "| vs description-based | ILP, accuracy mode | ILP, cost mode |",
        "|---|---|---|",
        "| accuracy gain (mean accuracy) "
        + both(lambda g: f"{g.accuracy_rel:+.2%} ({g.accuracy_pp:+.2f} points)"),
        "| accuracy gain per request (min .. max) "
        + both(lambda g: f"{g.per_request_min:+.2%} .. {g.per_request_max:+.2%}"),
        "| accuracy-per-joule gain (mean accuracy / mean energy) "
        + both(lambda g: f"{g.apj_rel:+.1%}"),
        "| accuracy-per-joule gain per request (geometric mean; max) "
        + both(lambda g: f"{g.apj_geomean:+.1%}; {g.apj_max:+.1%}"),
        "| median selection time, description (no LLM call) -> ILP "
        + both(lambda g: f"{g.time_desc_ms:.3f} ms -> {g.time_ilp_ms:.2f} ms"),
    ]


def section(title: str, results: list[RequestResult]) -> list[str]:
    if not results:
        return [f"## {title}", "", "No request in this group.", ""]
    summaries = [summarise(results, name) for name in SELECTORS]
    n = len(results)
    return [
        f"## {title}",
        "",
        f"{n} request(s), {sum(r.nodes for r in results)} nodes.",
        "",
        SELECTOR_HEADER,
        *[selector_row(s, n) for s in summaries],
        "",
        *gain_lines(
            gain_over_description(results, ILP_ACC), gain_over_description(results, ILP_COST)
        ),
        "",
    ]


@dataclass
class Report:
    results: list[RequestResult]
    requests: Requests
    infeasible: list[str]
    tables: list[str]
    profiles: Path
    text: str = ""


def run(
    profiles: Path,
    taskbench: Path,
    limit: int | None,
    fracs: tuple[float, float, float],
    seeds: int,
    repeats: int,
    proxy_tasks: Sequence[str] = (),
) -> Report:
    catalog, tables = load_catalog_from_tables(profiles, proxy_tasks)
    requests = load_requests(taskbench, {m.task for m in catalog.models}, limit)
    results: list[RequestResult] = []
    infeasible: list[str] = []
    for request_id, graph in requests.kept:
        res = run_request(request_id, graph, catalog.models, fracs, seeds, repeats)
        if res is None:
            infeasible.append(request_id)
        else:
            results.append(res)
    return Report(results, requests, infeasible, tables, profiles)


REAL_TITLE = "Requests whose every node has a published accuracy (no ML.ENERGY v3 task)"


def render(report: Report, command: str, machine: list[str], args: argparse.Namespace) -> str:
    r = report.requests
    results = report.results
    real = [x for x in results if x.real_accuracy]
    mixed = [x for x in results if not x.real_accuracy and not x.placeholder_only]
    lines = [
        "# Selection quality: the ILP against baseline selectors",
        "",
        f"Command: `{command}`",
        "",
        *[f"- {line}" for line in machine],
        "- timings are wall time on a shared 2-core machine (other jobs running): noisy; "
        f"each is the median of {args.repeats} run(s) per request, then the median over requests",
        "",
        "## Inputs",
        "",
        f"- Task graphs: `{_rel(args.taskbench)}`: {r.total} TaskBench records, "
        f"{r.malformed} malformed (skipped), {r.unserved} with a task no published table "
        f"serves, {r.served} kept"
        + (f" (first {len(r.kept)} used)" if len(r.kept) < r.served else "")
        + f"; {len(report.infeasible)} of those have no plan meeting their budgets "
        "(excluded from every selector: " + (", ".join(report.infeasible) or "none") + ").",
        *[f"  - malformed, {n}x: {reason}" for reason, n in r.reasons.most_common()],
        f"- Candidates: `{_rel(report.profiles)}`"
        + (
            " (the full published tables)"
            if report.profiles.resolve() == SHARED_PROFILES.resolve()
            else ""
        ),
        *[f"  - {t}" for t in report.tables],
        f"- Budgets per request: energy = E_min + {args.energy_frac:g} (E_max - E_min), "
        f"latency = T_min + {args.latency_frac:g} (T_max - T_min), min_accuracy = "
        f"A_min (A_max / A_min)^{args.accuracy_frac:g}, from the request's cheapest and "
        "dearest candidate per node (latency: makespan, nodes in parallel where the graph "
        "allows).",
        *(
            [
                f"- `--llm-proxy`: {', '.join(PROXY_TASKS)} nodes are served by the ML.ENERGY "
                "v1 chat LLMs, whose accuracy (mean of ARC, HellaSwag, TruthfulQA) is a proxy, "
                "not a measurement on those tasks; such requests count as 'published accuracy' "
                "below."
            ]
            if args.llm_proxy
            else []
        ),
        f"- Random: {args.seeds} seeds per request; its figures are means over seeds and its "
        "over-budget count is the mean count per seed.",
        "",
        "Columns: accuracy is the product over nodes; *requests over budget* counts the "
        "requests whose plan breaks at least one budget (such a selector is flagged, not "
        "credited); *met budgets* columns compare, on the requests where the selector met every "
        "budget, its mean accuracy with the ILP's (accuracy mode) on the same requests; the "
        "last column counts those requests where the selector was more accurate than the ILP "
        "(must be 0).",
        "",
        *section("All requests", results),
        *section(REAL_TITLE, real),
        *section("Requests mixing published and placeholder accuracy", mixed),
    ]
    return "\n".join(lines) + "\n"


def _rel(path: Path) -> str:
    full = path.resolve()
    if full.is_relative_to(ROOT):
        return str(full.relative_to(ROOT))
    if full.is_relative_to(ROOT.parent):
        return "../" + str(full.relative_to(ROOT.parent))
    return str(path)


def main(argv: list[str] | None = None) -> Report:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="3 requests, 3 seeds, 1 repeat")
    parser.add_argument("--data", type=Path, default=None, help="profiles-public folder")
    parser.add_argument("--taskbench", type=Path, default=TASKBENCH)
    parser.add_argument("--limit", type=int, default=None, help="first N kept requests")
    parser.add_argument(
        "--llm-proxy",
        action="store_true",
        help=f"let the ML.ENERGY v1 LLMs also serve {', '.join(PROXY_TASKS)} (accuracy: proxy)",
    )
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--energy-frac", type=float, default=0.3)
    parser.add_argument("--latency-frac", type=float, default=0.5)
    parser.add_argument("--accuracy-frac", type=float, default=0.5)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/selection.md")
    args = parser.parse_args(argv)
    if args.quick:
        args.limit = args.limit or 3
        args.seeds = min(args.seeds, 3)
        args.repeats = 1
    for name in ("energy_frac", "latency_frac", "accuracy_frac"):
        if not 0 <= getattr(args, name) <= 1:
            parser.error(f"--{name.replace('_', '-')} must be in [0, 1]")
    machine = describe()
    report = run(
        profiles_dir(args.data),
        args.taskbench,
        args.limit,
        (args.energy_frac, args.latency_frac, args.accuracy_frac),
        args.seeds,
        args.repeats,
        PROXY_TASKS if args.llm_proxy else (),
    )
    command = "python -m benchmarks.bench_selection " + " ".join(
        argv if argv is not None else sys.argv[1:]
    )
    report.text = render(report, command.strip(), machine, args)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(report.text, encoding="utf-8")
    print(report.text)
    print(f"written to {args.out}")
    return report


if __name__ == "__main__":
    main()
