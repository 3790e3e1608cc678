"""`planner profile` (measure candidates on this machine) and `planner models` (list a
catalog, by default the zoo's shipped one)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from planner import fmt
from planner.errors import ProblemError
from planner.io import shown, write_atomic
from planner.tables import Namer, print_fitted

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False)


def _user_rows(catalog: Path) -> list[dict[str, Any]]:
    from profiles.catalog import read_structured

    data = read_structured(catalog)
    rows = data.get("models") if isinstance(data, dict) else data
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise ProblemError(f'{catalog}: expected {{"models": [rows]}} with one object per model')
    for i, r in enumerate(rows):
        if "adapter" not in r:
            raise ProblemError(
                f"{catalog}: models[{i}] ({r.get('id', '?')}) has no 'adapter'; "
                "the profiler needs a way to run it"
            )
    return rows


def profile_cmd(
    task: str | None = typer.Option(None, "--task", "-t", help="Only candidates of this task."),
    model: str | None = typer.Option(None, "--model", "-m", help="Only this model id."),
    all_: bool = typer.Option(
        False,
        "--all",
        help="Every zoo model (the default when no --catalog, --task or --model is given).",
    ),
    catalog: Path | None = typer.Option(
        None,
        "--catalog",
        "-c",
        help="Profile the rows of "
        "this catalog (their 'adapter' says how to run them) "
        "instead of the zoo.",
    ),
    repeats: int = typer.Option(
        30,
        "--repeats",
        "-n",
        help="Timed batch-1 inferences per candidate (latency median/p95, energy).",
    ),
    min_time: float = typer.Option(
        1.0,
        "--min-time",
        help="Keep timing this many seconds per candidate (at least --repeats calls).",
    ),
    back_to_back: bool = typer.Option(
        False,
        "--back-to-back",
        help="Time calls back to back (steady state) instead of isolated calls: by default "
        "each timed call follows a cache sweep and a 10 ms pause, as a plan calls a model once.",
    ),
    rounds: int = typer.Option(
        3,
        "--rounds",
        help="Timed calls are split in this many rounds interleaved over all candidates.",
    ),
    warmup: int = typer.Option(3, "--warmup", help="Untimed inferences before timing."),
    eval_limit: int | None = typer.Option(
        None,
        "--eval-limit",
        help="Evaluate quality on at most this many items (default: the whole set).",
    ),
    threads: int = typer.Option(1, "--threads", help="Torch/BLAS threads while measuring."),
    energy: str = typer.Option(
        "auto", "--energy", help="Energy meter: auto, rapl, nvml or estimate."
    ),
    watts_per_core: float | None = typer.Option(
        None,
        "--watts-per-core",
        help="Watts per busy core for the estimate (default 10, or $PLANNER_WATTS_PER_CORE).",
    ),
    output: Path | None = typer.Option(
        None, "--output", "-o", help="Write the catalog here (JSON); without it, print it."
    ),
) -> None:
    """Measure quality, latency, energy, memory and load time of candidate models here."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from profiles.energy import EnergyMeterError, choose_meter
    from profiles.profiler import (
        ProfileSettings,
        catalog_document,
        profile_rows,
        zoo_rows,
    )

    if catalog is not None and all_:
        raise ProblemError("--all profiles the zoo; do not combine it with --catalog")
    if catalog is not None:
        rows = _user_rows(catalog)
        rows = [
            r
            for r in rows
            if (task is None or r.get("task") == task) and (model is None or r.get("id") == model)
        ]
        base_dir: Path | None = catalog.resolve().parent
    else:
        rows = zoo_rows(task, model, available_only=True)
        base_dir = None
        from profiles.zoo import availability

        skipped = [r["id"] for r in zoo_rows(task, model) if r not in rows]
        if model is not None and skipped:
            raise ProblemError(f"zoo model {model!r} cannot run here: {availability(model)[1]}")
        for name in skipped:
            err.print(f"skipped {name}: {availability(name)[1]}")
    if not rows:
        from profiles.zoo import MODEL_CLASSES

        tasks = sorted({c.task for c in MODEL_CLASSES.values()})
        raise ProblemError(
            f"no candidate matches (task={task!r}, model={model!r}); zoo tasks: {', '.join(tasks)}"
        )
    try:
        meter = choose_meter(energy, watts_per_core)
    except EnergyMeterError as exc:
        raise ProblemError(f"--energy {energy}: {exc}") from exc
    settings = ProfileSettings(
        repeats=repeats,
        warmup=warmup,
        eval_limit=eval_limit,
        threads=threads,
        min_time_s=min_time,
        rounds=rounds,
        max_repeats=max(20000, repeats),
        isolated=not back_to_back,
    )
    start = time.perf_counter()
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=False,
    ) as bar:
        overall = bar.add_task(f"{len(rows)} candidates", total=len(rows))
        current = bar.add_task("", total=1)

        def progress(name: str, done: int, total: int) -> None:
            bar.update(current, description=f"  {name}", completed=done, total=total)

        def on_row(profile: Any) -> None:
            bar.advance(overall)

        profiles = profile_rows(
            rows, meter, settings, base_dir=base_dir, progress=progress, on_row=on_row
        )
    doc = catalog_document(profiles, zoo_only=catalog is None)
    doc["generated"]["wall_s"] = round(time.perf_counter() - start, 1)
    text = json.dumps(doc, indent=1) + "\n"
    if output is None:
        out.print(text, end="", markup=False)
    else:
        write_atomic(output, text)
        err.print(
            f"wrote {len(profiles)} profiles to {output} in "
            f"{doc['generated']['wall_s']} s (energy: {meter.describe()['energy_source']})"
        )


def models_cmd(
    catalog: Path | None = typer.Option(
        None, "--catalog", "-c", help="List this catalog instead of the zoo's shipped one."
    ),
    task: str | None = typer.Option(None, "--task", "-t", help="Only rows of this task."),
    as_json: bool = typer.Option(False, "--json", help='Print {"models": [rows]}.'),
) -> None:
    """List the candidate models of a catalog (default: the built-in zoo, as measured)."""
    from profiles import load_catalog

    if catalog is None:
        from profiles.zoo import shipped_catalog, stale_warning

        cat = shipped_catalog(available_only=False)
        warning = stale_warning()
        if warning:
            err.print(f"warning: {warning}")
    else:
        cat = load_catalog(catalog)
    rows = [m for m in cat.models if task is None or m.task == task]
    if task is not None and not rows:
        raise ProblemError(f"no model for task {task!r}; tasks here: {', '.join(cat.tasks())}")
    missing: dict[str, str] = {}
    if catalog is None:
        from profiles.zoo import MODEL_CLASSES, availability

        missing = {m.id: availability(m.id)[1] for m in rows if m.id in MODEL_CLASSES}
        missing = {k: v for k, v in missing.items() if v}
    if as_json:
        data: dict[str, Any] = {
            "models": [m.model_dump(mode="json", exclude_none=True) for m in rows]
        }
        if catalog is None:
            data["unavailable"] = missing
        out.print(json.dumps(data, indent=1), markup=False)
        return
    ordered = sorted(rows, key=lambda r: (r.task, r.latency_ms))

    def build(name: Namer) -> Table:
        table = Table(title=None)
        for col in (
            "task",
            "id",
            "accuracy",
            "latency",
            "p95",
            "energy",
            "memory",
            "source",
            *(("available",) if catalog is None else ()),
        ):
            left = col in ("task", "id", "source", "available")
            table.add_column(col, justify="left" if left else "right", no_wrap=col != "source")
        for m in ordered:
            prov = m.provenance
            extra = prov.model_extra or {} if prov else {}
            p95 = extra.get("latency_p95_ms")
            table.add_row(
                shown(m.task),
                shown(name(m.id)),
                f"{m.accuracy:.4f}",
                fmt.duration_ms(m.latency_ms),
                "-" if not isinstance(p95, int | float) else fmt.duration_ms(p95),
                fmt.energy_j(m.energy_j),
                fmt.memory_mb(m.memory_mb),
                f"{prov.source}/{prov.energy_source}" if prov else "-",
                *(("no" if m.id in missing else "yes",) if catalog is None else ()),
            )
        return table

    # a wide table: at least 150 columns (a terminal wraps its lines; nothing is cut)
    wide = Console(highlight=False, width=max(out.width, 150))
    print_fitted(wide, build, {"m": [m.id for m in ordered]})
    if catalog is None and rows:
        first = rows[0].provenance
        if first is not None:
            out.print(
                f"measured on {first.hardware}; metric and dataset per row: planner models --json"
            )
    for model_id, why in sorted(missing.items()):
        out.print(f"not available here: {model_id} {why}")


def register(app: typer.Typer) -> None:
    app.command("profile")(profile_cmd)
    app.command("models")(models_cmd)
