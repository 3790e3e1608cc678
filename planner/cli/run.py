"""`planner run`, `planner history` and `planner profiles update`.

Exit codes of `planner run`: 0 every node ran within the hard budgets; 2 bad input (files,
flags, a model that does not load); 3 no plan meets the budgets, or the plan's schedule on the
run's worker slots cannot meet its latency budget (nothing ran); 4 the run stopped early (a
partial or failed report is written and printed); 5 every node ran but the measured totals
broke a hard budget (status over_budget; the report names the budget, the overrun and the
node); 130 interrupted (Ctrl-C, SIGTERM, SIGHUP; report written with status interrupted).
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any, ClassVar

import typer
from pydantic import ValidationError
from rich.console import Console

from planner import catalogs
from planner.catalogs import trusted_models
from planner.cli.options import (
    AllowAbsoluteOpt,
    ApiKeyEnvOpt,
    BackendOpt,
    CatalogOpt,
    ColdOpt,
    CostBudgetOpt,
    DecomposerFlags,
    DecomposerOpt,
    EnergyBudgetOpt,
    ExecutionOpt,
    GapOpt,
    InputDirOpt,
    LatencyBudgetOpt,
    LlmConfigOpt,
    LlmModelOpt,
    LlmTimeoutOpt,
    LlmUrlOpt,
    MemoryBudgetOpt,
    MinAccuracyOpt,
    SemanticOpt,
    TimeLimitOpt,
    WeightsOpt,
    WorkersOpt,
    apply_overrides,
)
from planner.cli.render import render_plan
from planner.errors import ProblemError
from planner.io import plain, shown, write_atomic
from planner.plan import Plan
from planner.problem import (
    Problem,
    format_validation_error,
    problem_from_data,
    read_data_file,
)
from tasks import TaskGraph
from tasks.errors import GraphError

out = Console(highlight=False, soft_wrap=True)
#: ``PLANNER_TRUST_FILES=1`` acts as ``--trust-plan`` on every run (test harnesses, pipelines
#: that only ever run their own files).
TRUST_ENV = "PLANNER_TRUST_FILES"
err = Console(stderr=True, highlight=False)

EXIT_OK, EXIT_INFEASIBLE, EXIT_PARTIAL, EXIT_OVER_BUDGET, EXIT_INTERRUPTED = 0, 3, 4, 5, 130
#: The person answered no to "Run this plan?".
EXIT_DECLINED = 1

#: The hook for text requests: ``request text -> TaskGraph``. `get_decomposer` fills it from
#: the decomposer when it is installed; an application may set it directly.
DECOMPOSER: Callable[[str], TaskGraph] | None = None


def get_decomposer() -> Callable[[str], TaskGraph] | None:
    """The text -> `TaskGraph` decomposer, if one is available."""
    if DECOMPOSER is not None:
        return DECOMPOSER
    import importlib

    try:
        module = importlib.import_module("tasks.decompose")
    except ImportError:
        return None
    make = getattr(module, "make_decomposer", None)  # the decompose branch's entry point
    try:
        decomposer = make() if make is not None else module.OfflineDecomposer()
    except AttributeError:
        return None
    decompose: Callable[[str], TaskGraph] = decomposer.decompose
    return decompose


# --------------------------------------------------------------------------- targets


def demo_problem(catalog: Path | None = None) -> Problem:
    """The built-in demo request (package data ``planner/data/demo_problem.json``); its
    ``models`` name the built-in zoo, whose shipped catalog (or ``catalog``) is filled in."""
    text = resources.files("planner").joinpath("data/demo_problem.json").read_text("utf-8")
    data = json.loads(text)
    inputs = data.get("metadata", {}).get("inputs", {})
    for name, value in inputs.items():
        if isinstance(value, str) and value.startswith("package:"):
            inputs[name] = _package_image(value.removeprefix("package:"))
    if data.get("models") == "zoo":
        rows = load_models(catalog)
        tasks = {n["task"] for n in data["graph"]["nodes"]}
        data["models"] = [m.model_dump(exclude_none=True) for m in rows if m.task in tasks]
    return problem_from_data(data, where="the built-in demo problem")


def _package_image(name: str) -> list[list[int]]:
    """An image shipped in ``planner/data`` as rows of 8-bit grey values (needs Pillow, which
    the model zoo installs)."""
    try:
        from PIL import Image
    except ImportError as exc:
        raise ProblemError(
            f"the built-in demo needs the model zoo ({exc}): pip install 'cost-aware-planner[zoo]'"
        ) from exc
    import numpy as np

    source = resources.files("planner").joinpath("data", name)
    with resources.as_file(source) as path, Image.open(path) as img:
        grey: list[list[int]] = np.asarray(img.convert("L"), dtype=np.uint8).tolist()
    return grey


def load_models(catalog: Path | None) -> list[Any]:
    """Rows of ``catalog``, or of the built-in zoo's shipped catalog."""
    return list(base_catalog(catalog).models)


def base_catalog(catalog: Path | None) -> Any:
    """`planner.catalogs.base_catalog`, its stale-profile warning on stderr."""
    return catalogs.base_catalog(catalog, warn=lambda m: err.print(f"warning: {shown(m, True)}"))


def check_file_arguments(
    plan: Plan, file_inputs: Any, input_dir: Path, allow_absolute: bool
) -> None:
    """File arguments that come from the problem or plan file (node arguments, and the
    file's ``metadata.inputs``) must resolve inside ``input_dir`` (`InputPolicy`: no ``..``,
    no ``~``, no absolute path unless allowed, no symlink out). Inputs the user gives on the
    command line (``--input``, ``--inputs``) are the user's own and are not checked."""
    from tasks.decompose.inputs import InputPolicy, looks_like_path

    policy = InputPolicy(input_dir, allow_absolute=allow_absolute)
    policy.check_graph(plan.problem.graph)
    if isinstance(file_inputs, dict):
        for name, value in file_inputs.items():
            if isinstance(value, str) and looks_like_path(value):
                policy.resolve(value, where=f"input {name!r} of the file")


def problem_from_request(
    text: str, catalog: Path | None, decomposer: DecomposerFlags | None = None
) -> Problem:
    """Decompose ``text`` and pair its graph with the catalog's models (default: the zoo).
    ``decomposer``: the command line's decomposer flags (none given: `get_decomposer`)."""
    if decomposer is not None and decomposer.given():
        decompose: Callable[[str], TaskGraph] | None = decomposer.build().decompose
    else:
        decompose = get_decomposer()
    if decompose is None:
        raise ProblemError(
            "text requests need the decomposer (`planner decompose`), which is not part of "
            "this installation; give a problem or plan file instead, or run `planner run` "
            "with no argument for the built-in demo"
        )
    from tasks.decompose import DecomposeError

    try:
        graph = decompose(text)
    except (DecomposeError, GraphError) as exc:  # an LLM unreachable, a reply refused...
        raise ProblemError(f"the request cannot be decomposed: {exc}") from exc
    return problem_from_graph(
        graph.model_dump(mode="json"),
        catalog,
        name="request",
        description=text,
        where="the decomposed request",
    )


def problem_from_graph(
    graph: dict[str, Any],
    catalog: Path | None,
    name: str,
    description: str | None = None,
    where: str = "the task graph",
    base_dir: Path | None = None,
) -> Problem:
    """A problem of ``graph`` (problem-file shape) over the catalog's models (default: the
    zoo's shipped catalog); files the nodes make go into the run's folder."""
    rows = load_models(catalog)
    data: dict[str, Any] = {
        "name": name,
        "graph": files_into_run_dir(graph),
        "models": [m.model_dump(exclude_none=True) for m in rows],
    }
    if description:
        data["description"] = description
    return problem_from_data(data, where=where, base_dir=base_dir)


def files_into_run_dir(graph: dict[str, Any]) -> dict[str, Any]:
    """Nodes whose task makes a file (image, audio, video) write it into the run's folder
    (``output_dir: $run_dir``) unless the graph says where."""
    from tasks.registry import default_registry

    registry = default_registry()
    for node in graph.get("nodes", []):
        task = node.get("task")
        if task not in registry or not isinstance(node.get("args"), dict):
            continue
        if {"image", "audio", "video"} & set(registry.get(task).outputs):
            node["args"].setdefault("output_dir", "$run_dir")
    return graph


def load_plan(path: Path) -> Plan:
    """A plan file, or the plan of a run's report.json (the plan.json beside it)."""
    from planner.report import is_run_report, plan_file_of_report

    data = read_data_file(path)
    if is_run_report(data):
        path = plan_file_of_report(path, data)
        data = read_data_file(path)
    return _plan_from(data, path)


def _plan_from(data: Any, path: Path) -> Plan:
    try:
        return Plan.model_validate(data)
    except ValidationError as exc:
        raise ProblemError(format_validation_error(exc, f"{path} (a plan file)")) from exc


def load_file(path: Path, catalog: Path | None) -> Problem | Plan:
    """A plan file (format plan/v1), a problem file, or a task graph file in any format
    `planner decompose` writes (graph, TaskBench record, HuggingGPT plan), whose nodes get
    the models of ``catalog`` (default: the zoo's shipped catalog)."""
    from tasks.formats import graph_format, graph_from_data
    from tasks.registry import planner_registry

    data = read_data_file(path)
    if isinstance(data, dict) and data.get("format") == "plan/v1":
        return _plan_from(data, path)
    kind = graph_format(data)
    if kind is None:
        return problem_from_data(data, where=str(path), base_dir=path.parent)
    try:
        graph = graph_from_data(data, planner_registry())
    except GraphError as exc:
        raise ProblemError(f"{path}: {exc}") from exc
    text = None
    if isinstance(data, dict):
        found = data.get("user_request") or data.get("instruction")
        text = found if isinstance(found, str) else None
    return problem_from_graph(
        graph.model_dump(mode="json"),
        catalog,
        name=path.stem,
        description=text,
        where=f"{path} (a {kind} task graph)",
        base_dir=path.parent,
    )


def load_problem_file(path: Path, catalog: Path | None) -> Problem:
    """`load_file` for the commands that solve: a plan file is refused."""
    loaded = load_file(path, catalog)
    if isinstance(loaded, Plan):
        raise ProblemError(
            f"{path} is a plan file (already solved): give its problem or a task graph, "
            f"or run it with `planner run {path}`"
        )
    return loaded


def load_target(
    target: str | None, catalog: Path | None, decomposer: DecomposerFlags | None = None
) -> tuple[Problem | Plan, str | None]:
    """(problem or plan, request text) for the argument of `planner run` and `plan`: a
    file (`load_file`), else a request text (decomposed with ``decomposer``)."""
    if target is None:
        problem = demo_problem(catalog)
        return problem, problem.description
    path = Path(target)
    if path.exists():
        return load_file(path, catalog), None
    if names_a_file(target):
        raise ProblemError(f"{target}: no such file")
    return problem_from_request(target, catalog, decomposer), target


#: What `planner run` and `planner plan` say about their argument (`load_target`).
TARGET_RULE = (
    "An existing file is read as a file; a single word ending in .json, .yaml or .yml "
    "names a file (an error if it is missing); anything else is a request text, even with "
    "a '/' in it ('Detect the digits in images/scan.png')."
)


def names_a_file(target: str) -> bool:
    """Whether a ``target`` that is no existing file still names one (`TARGET_RULE`): one
    token, no whitespace, ending in a problem or plan file's suffix."""
    text = target.strip()
    return (
        bool(text)
        and not any(c.isspace() for c in text)
        and Path(text).suffix.lower() in (".json", ".yaml", ".yml")
    )


def parse_inputs(pairs: list[str], inputs_file: Path | None) -> dict[str, Any]:
    """``--inputs FILE`` (a JSON/YAML object) then ``--input NAME=VALUE`` (VALUE parsed as
    JSON when it is JSON, else taken as text)."""
    values: dict[str, Any] = {}
    if inputs_file is not None:
        data = read_data_file(inputs_file)
        if not isinstance(data, dict):
            raise ProblemError(f"{inputs_file}: --inputs expects an object {{name: value}}")
        values.update(data)
    for pair in pairs:
        if "=" not in pair:
            raise ProblemError(f"--input expects NAME=VALUE, got {pair!r}")
        name, raw = pair.split("=", 1)
        try:
            values[name.strip()] = json.loads(raw)
        except json.JSONDecodeError:
            values[name.strip()] = raw
    return values


def schedule_breaks_budget(plan: Plan, slots: int) -> str | None:
    """Why the plan cannot meet its latency budget on ``slots`` worker slots (the schedule
    the executor follows, simulated with the plan's predicted durations, plus start-up and
    cold loading as the plan counts them), or None when it can or has no latency budget."""
    budget = plan.problem.budgets.latency_ms
    if budget is None or not plan.has_plan:
        return None
    from planner.run.budget import predicted_timing

    timing = predicted_timing(plan.problem, plan.assignment, slots)
    if timing.latency_ms <= budget * (1 + 1e-9):
        return None
    extra = timing.startup_ms + timing.load_ms
    return (
        f"on {slots} worker slot(s) the plan's schedule takes {timing.latency_ms:.4g} ms "
        + (f"({extra:.4g} ms of start-up and loading) " if extra else "")
        + f"and breaks the latency budget of {budget:.4g} ms; give more --workers, a larger "
        "--latency-budget, or fewer nodes"
    )


# --------------------------------------------------------------------------- progress


class Progress:
    """Node states on stderr: a live table on a terminal, one line per change otherwise."""

    STYLE: ClassVar[dict[str, str]] = {
        "loading": "blue",
        "waiting": "dim",
        "running": "cyan",
        "retrying": "yellow",
        "succeeded": "green",
        "failed": "red",
        "replanned": "magenta",
        "not_run": "yellow",
    }

    def __init__(self, order: list[str], quiet: bool = False) -> None:
        self.states: dict[str, tuple[str, str]] = {n: ("waiting", "") for n in order}
        self.quiet = quiet
        self.live: Any = None
        if not quiet and err.is_terminal:
            from rich.live import Live

            self.live = Live(self._table(), console=err, refresh_per_second=10, transient=False)

    def _table(self) -> Any:
        from rich.table import Table

        table = Table(show_edge=False, pad_edge=False, title="planner run", title_justify="left")
        table.add_column("node")
        table.add_column("state")
        table.add_column("detail")
        for node, (state, detail) in self.states.items():
            style = self.STYLE.get(state, "")
            table.add_row(shown(node), f"[{style}]{state}[/]", shown(detail))
        return table

    def __call__(self, node: str, state: str, detail: str) -> None:
        self.states[node] = (state, detail)
        if self.quiet:
            return
        if self.live is not None:
            self.live.update(self._table())
        elif state != "waiting":
            err.print(shown(f"{node}: {state} {detail}".rstrip()))

    def __enter__(self) -> Progress:
        if self.live is not None:
            self.live.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.live is not None:
            self.live.stop()


# --------------------------------------------------------------------------- commands


def with_answer(report: Any, graph: Any) -> Any:
    """The report with its plain-language answer (`planner.answer`), also written into the
    run folder's report.json."""
    from planner.answer import answer_from_report

    try:
        answer = answer_from_report(report, graph)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        answer = f"(no answer: {exc})"
    report = report.model_copy(update={"answer": answer})
    if report.run_dir and (Path(report.run_dir) / "report.json").is_file():
        from planner.io import write_atomic

        write_atomic(Path(report.run_dir) / "report.json", report.to_json())
    return report


def check_speed(
    problem: Problem,
    ex: Any,
    plan: Plan,
    solve: Callable[[Problem], Plan],
    quiet: bool,
    calls: int = 9,
) -> Problem:
    """`planner.speed.speed_check` of the models plans would use, where this plan's nodes
    would run: in worker processes like the run's (as many, probing at once) or in this
    process for a thread pool."""
    from planner.speed import probe_here, probe_in_workers, speed_check

    opt = ex.options
    if ex.pool_for(plan) == "process":
        probe = probe_in_workers(opt.model_dump_json(), ex.slots_for(plan), calls)
    else:
        probe = probe_here(ex.factory.load, calls, opt.threads, opt.warmup)
    with contextlib.ExitStack() as stack:
        if not quiet:
            stack.enter_context(err.status("speed check: timing the chosen models' probes"))
        checked, check = speed_check(problem, probe, calls, solve=solve)
    if not quiet:
        err.print(
            f"speed check: {len(check.models)} model(s) probed in {check.seconds:.1f} s"
            + (f", {len(check.skipped)} skipped" if check.skipped else "")
        )
    return checked


def plan_loaded(
    loaded: Problem | Plan,
    *,
    target: str | None,
    request: str | None,
    catalog: Path | None,
    flags: dict[str, Any],
    workers: int | None,
    cold: bool | None,
    trust_plan: bool,
    backend: str,
    time_limit: float | None,
    gap: float | None,
) -> tuple[Plan, Callable[[Problem], Plan] | None]:
    """The plan `planner plan` shows and `planner run` runs: a plan file as it is (no flag
    may change it; its adapters checked unless trusted), or the problem with the command
    line's flags applied, solved. Also the solve function (None for a plan file)."""
    if isinstance(loaded, Plan):
        if cold is not None:
            raise ProblemError(
                "--cold/--warm apply to problems: a plan file runs as it was planned; "
                "solve its problem again with `planner solve --cold` to change it"
            )
        if any(f is not None for f in flags.values()):
            raise ProblemError(
                "budget, weight and execution flags apply to problems: a "
                "plan file runs as it is; solve its problem again with "
                "`planner solve` to change them"
            )
        if not trust_plan:
            from planner.trust import check_plan_adapters

            check_plan_adapters(plan=loaded, trusted=trusted_models(catalog), where=str(target))
        return loaded, None
    from planner.solve import solve as run_solve

    if not trust_plan and target is not None and request is None:
        from planner.trust import check_problem_adapters

        check_problem_adapters(loaded, trusted_models(catalog), where=str(target))
    problem = apply_overrides(loaded, **flags, workers=workers, cold=cold, measured_dispatch=True)

    def solve_it(problem: Problem) -> Plan:
        return run_solve(problem, backend=backend, time_limit_s=time_limit, gap_rel=gap)

    return solve_it(problem), solve_it


def stdin_is_terminal() -> bool:
    """Whether a person can answer a question on stdin (`planner run` asks only then)."""
    return sys.stdin is not None and sys.stdin.isatty()


def confirm_run(plan: Plan, request: str | None, yes: bool, quiet: bool) -> bool:
    """Show the plan's summary (on stderr, unless ``quiet``) and, when stdin is a terminal
    and not ``yes``, ask whether to run it. True: run."""
    ask = not yes and stdin_is_terminal()
    if quiet and not ask:
        return True
    if request:
        err.print(f"request: {shown(request, True)}")
    render_plan(plan, err)
    if not ask:
        return True
    return bool(typer.confirm("Run this plan?", default=True, err=True))


def register(app: typer.Typer) -> None:
    @app.command()
    def run(
        target: str | None = typer.Argument(
            None,
            help="A request text, a problem file, a task graph file (graph, TaskBench or "
            "HuggingGPT format) or a plan file (format plan/v1). Omitted: the built-in demo "
            "request over the built-in model zoo. " + TARGET_RULE,
        ),
        energy_budget: EnergyBudgetOpt = None,
        latency_budget: LatencyBudgetOpt = None,
        min_accuracy: MinAccuracyOpt = None,
        memory_budget: MemoryBudgetOpt = None,
        cost_budget: CostBudgetOpt = None,
        weights: WeightsOpt = None,
        execution: ExecutionOpt = None,
        backend: BackendOpt = "cbc",
        time_limit: TimeLimitOpt = None,
        gap: GapOpt = None,
        as_json: bool = typer.Option(False, "--json", help="Print the Report as JSON."),
        out_dir: Path | None = typer.Option(
            None,
            "--out",
            help="Run directory (outputs, plan.json, report.json); default "
            "<data dir>/runs/<run id>.",
        ),
        executor: str = typer.Option("local", "--executor", help="local or ray."),
        address: str | None = typer.Option(
            None, "--address", help="Ray cluster address (with --executor ray)."
        ),
        sequential: bool = typer.Option(
            False, "--sequential", help="One node at a time, even if the plan is parallel."
        ),
        workers: WorkersOpt = None,
        cold: ColdOpt = None,
        pool: str = typer.Option(
            "auto",
            "--pool",
            help="Where parallel nodes run: process (worker processes; concurrent nodes do "
            "not share an interpreter lock), thread, or auto (processes when nodes can "
            "overlap and the models fit the memory budget once per worker).",
        ),
        pin_workers: bool = typer.Option(
            True,
            "--pin-workers/--no-pin-workers",
            help="Pin each worker process to its own CPU core (Linux).",
        ),
        node_timeout: float | None = typer.Option(
            None, "--node-timeout", help="Seconds per attempt (default 10 + 20 x predicted)."
        ),
        tolerance: float = typer.Option(
            0.25,
            "--tolerance",
            help="Overrun of a budgeted metric that triggers a re-plan (0.25 = 25%).",
        ),
        no_replan: bool = typer.Option(
            False, "--no-replan", help="Stop at the first failure instead."
        ),
        input_pairs: list[str] = typer.Option(
            [], "--input", help="User input NAME=VALUE (repeatable)."
        ),
        inputs_file: Path | None = typer.Option(
            None, "--inputs", help="User inputs as a JSON/YAML object."
        ),
        catalog: CatalogOpt = None,
        decomposer_kind: DecomposerOpt = None,
        llm_url: LlmUrlOpt = None,
        llm_model: LlmModelOpt = None,
        api_key_env: ApiKeyEnvOpt = None,
        llm_config: LlmConfigOpt = None,
        llm_timeout: LlmTimeoutOpt = None,
        semantic: SemanticOpt = None,
        yes: bool = typer.Option(
            False,
            "--yes",
            "-y",
            help="Run without asking (it asks only when stdin is a terminal; exit 1 if the "
            "answer is no).",
        ),
        history_path: Path | None = typer.Option(
            None,
            "--history",
            help="Run history database (default $PLANNER_HISTORY or the user data dir).",
        ),
        no_history: bool = typer.Option(False, "--no-history", help="Do not record the run."),
        quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress display."),
        input_dir: InputDirOpt = Path("."),
        allow_absolute: AllowAbsoluteOpt = False,
        speed_check: bool = typer.Option(
            False,
            "--speed-check/--no-speed-check",
            help="Before running, time the speed probe of each model the plan would use (a "
            "few isolated calls on the inputs its profile was probed on, where the nodes will "
            "run) and scale its latency prediction by how fast this machine runs it now, then "
            "solve again. For a machine much busier or slower than when the catalog was "
            "measured; costs a few seconds. Local executor; problems and requests only (a plan "
            "file runs as it is).",
        ),
        trust_plan: bool = typer.Option(
            False,
            "--trust-plan",
            help="Run a plan or problem file's python/http adapters even if your catalog "
            "(--catalog, default the zoo's) does not declare them.",
        ),
    ) -> int:
        """Run a request end to end: solve, show the plan, execute, measure; print the
        report."""
        from planner.history import History, data_dir
        from planner.measure import default_counter
        from planner.run.executor import LocalExecutor
        from planner.run.files import missing_input_file
        from planner.run.options import RunOptions
        from planner.run.scheduler import RunInterrupted, new_run_id
        from planner.runners import RunnerFactory

        if executor not in ("local", "ray"):
            raise ProblemError(f"--executor must be local or ray, got {executor!r}")
        if address is not None and executor != "ray":
            raise ProblemError("--address needs --executor ray")
        if pool not in ("auto", "process", "thread"):
            raise ProblemError(f"--pool must be auto, process or thread, got {pool!r}")
        if workers is not None and workers < 1:
            raise ProblemError(f"--workers must be at least 1, got {workers}")
        options = RunOptions(
            sequential=sequential,
            max_workers=workers,
            pool=pool,
            pin_workers=pin_workers,
            node_timeout_s=node_timeout,
            tolerance=tolerance,
            replan=not no_replan,
            backend=backend,
            time_limit_s=time_limit,
        )
        factory = RunnerFactory()  # models the speed check loads here are the run's
        local = (
            LocalExecutor(factory=factory, options=options, counter=default_counter())
            if executor == "local"
            else None
        )
        decomposer = DecomposerFlags(
            decomposer_kind, llm_url, llm_model, api_key_env, llm_config, llm_timeout, semantic
        )
        loaded, request = load_target(target, catalog, decomposer)
        trust_plan = trust_plan or os.environ.get(TRUST_ENV) == "1"
        flags: dict[str, Any] = {
            "energy_budget": energy_budget,
            "latency_budget": latency_budget,
            "min_accuracy": min_accuracy,
            "memory_budget": memory_budget,
            "cost_budget": cost_budget,
            "weights": weights,
            "execution": execution,
        }
        plan, solve_it = plan_loaded(
            loaded,
            target=target,
            request=request,
            catalog=catalog,
            flags=flags,
            workers=workers,
            cold=cold,
            trust_plan=trust_plan,
            backend=backend,
            time_limit=time_limit,
            gap=gap,
        )
        if solve_it is not None and speed_check and local is not None and plan.has_plan:
            problem = check_speed(plan.problem, local, plan, solve_it, quiet=quiet or as_json)
            plan = solve_it(problem)
            factory.release(set(factory.loaded_ids()) - set(plan.assignment.values()))
        if not plan.has_plan:
            if as_json:
                typer.echo(plan.to_json(), nl=False)
            else:
                render_plan(plan, err)
            scaled = "speed_check" in plan.problem.metadata
            err.print(
                "nothing was run: no plan meets the budgets"
                + (
                    " once the speed check scaled the latency predictions to this machine's "
                    "speed now (--no-speed-check plans with the catalog's numbers)"
                    if scaled
                    else ""
                )
            )
            return EXIT_INFEASIBLE
        if executor == "local":
            assert local is not None
            late = schedule_breaks_budget(plan, local.slots_for(plan))
            if late is not None:
                err.print(f"nothing was run: {late}")
                return EXIT_INFEASIBLE
        file_inputs = plan.problem.metadata.get("inputs", {})
        check_file_arguments(plan, file_inputs, input_dir, allow_absolute)
        inputs = {**file_inputs, **parse_inputs(input_pairs, inputs_file)}
        absent = missing_input_file(plan.problem.graph, inputs)
        if absent is not None:  # the user's mistake, caught before anything is shown or run
            raise ProblemError(f"nothing was run: {absent}")
        run_id = new_run_id()
        run_dir = out_dir if out_dir is not None else data_dir() / "runs" / run_id
        if run_dir.exists() and any(run_dir.iterdir()):
            raise ProblemError(f"--out {run_dir} is not empty; give a new or empty folder")
        if not confirm_run(plan, request, yes=yes, quiet=quiet):
            err.print("nothing was run (not confirmed)")
            return EXIT_DECLINED
        progress = Progress(plan.problem.graph.topological_order(), quiet=quiet)
        if executor == "ray":
            from planner.run.executor import RayExecutor

            ex: Any = RayExecutor(address=address, options=options, progress=progress)
        else:
            assert local is not None
            ex = local
            ex.progress = progress
        interrupted = False
        hooks: tuple[Any, ...] = ()
        if not no_history:
            from planner.run.hooks import HistoryRecorder

            hooks = (
                HistoryRecorder(
                    lambda: History(history_path), lambda m: err.print(f"warning: {shown(m, True)}")
                ),
            )
        try:
            with progress:
                report = ex.execute(
                    plan, inputs, run_dir=run_dir, request=request, run_id=run_id, hooks=hooks
                )
        except RunInterrupted as exc:
            report, interrupted = exc.report, True
        report = with_answer(report, plan.problem.graph)
        if as_json:
            typer.echo(report.to_json(), nl=False)
        else:
            from planner.report import render_report

            render_report(report, out)
            typer.echo(plain(report.answer or "", newlines=True))  # model text: no raw ESC
        if report.overruns and as_json:  # the human view prints them itself
            for overrun in report.overruns:
                err.print(overrun.line())
        if interrupted:
            return EXIT_INTERRUPTED
        if report.status == "over_budget":
            return EXIT_OVER_BUDGET
        return EXIT_OK if report.status == "succeeded" else EXIT_PARTIAL

    @app.command()
    def history(
        as_json: bool = typer.Option(False, "--json", help="Print the runs as JSON."),
        limit: int = typer.Option(20, "--limit", "-n", help="How many runs, newest first."),
        history_path: Path | None = typer.Option(None, "--history", help="History database."),
        show: str | None = typer.Option(None, "--show", help="Print one run's report."),
    ) -> None:
        """List recorded runs (newest first)."""
        from rich.table import Table

        from planner.history import History
        from planner.report import render_report

        db = History(history_path)
        if show is not None:
            report = db.report(show)
            if as_json:
                typer.echo(report.to_json(), nl=False)
            else:
                render_report(report, out)
            return
        rows = db.runs(limit)
        if as_json:
            typer.echo(json.dumps([r.model_dump(mode="json") for r in rows], indent=2))
            return
        if not rows:
            out.print(f"no runs recorded in {shown(db.path)}")
            return
        table = Table(
            title=f"runs in {db.path}", title_justify="left", show_edge=False, pad_edge=False
        )
        table.add_column("run (UTC start)", no_wrap=True)
        table.add_column("status", no_wrap=True)
        for col in ("nodes", "wall ms", "energy J", "re-plans"):
            table.add_column(col, justify="right", no_wrap=True)
        table.add_column("problem / request")
        for r in rows:
            what = r.problem or r.request or "-"
            table.add_row(
                shown(r.run_id),
                shown(r.status),
                f"{r.n_succeeded}/{r.n_nodes}",
                f"{r.wall_ms:.0f}",
                f"{r.energy_j:.3g}",
                str(r.replans),
                shown(what if len(what) <= 40 else what[:37] + "..."),
            )
        width = out.width
        out.width = max(width, 110)
        try:
            out.print(table)
        finally:
            out.width = width

    profiles_app = typer.Typer(help="Model profile catalogs.", no_args_is_help=True)
    app.add_typer(profiles_app, name="profiles")

    @profiles_app.command("update")
    def profiles_update(
        catalog: Path | None = typer.Option(
            None, "--catalog", help="Catalog to update (default: the zoo's)."
        ),
        last: int = typer.Option(5, "--last", help="Median of the last K measurements."),
        output: Path | None = typer.Option(
            None, "-o", "--output", help="Write the catalog here (default stdout)."
        ),
        history_path: Path | None = typer.Option(None, "--history", help="History database."),
        any_hardware: bool = typer.Option(
            False, "--any-hardware", help="Use measurements from every machine, not only this one."
        ),
    ) -> None:
        """Re-derive latency and energy from recent runs (median of the last K)."""
        from planner.history import History, update_catalog
        from planner.measure import hardware_label

        base = base_catalog(catalog)
        new, changes = update_catalog(
            base, History(history_path), last, None if any_hardware else hardware_label()
        )
        text = json.dumps(new.model_dump(mode="json", exclude_none=True), indent=2) + "\n"
        if output is not None:
            write_atomic(output, text)
        else:
            typer.echo(text, nl=False)
        for c in changes:
            err.print(
                f"{shown(c.model)} ({shown(c.task)}): latency {c.latency_ms[0]:.4g} -> "
                f"{c.latency_ms[1]:.4g} ms, energy {c.energy_j[0]:.4g} -> "
                f"{c.energy_j[1]:.4g} J ({c.samples} run(s))"
            )
        err.print(
            f"{len(changes)} of {len(base.models)} row(s) updated from the history"
            + (f"; written to {output}" if output else "")
        )
