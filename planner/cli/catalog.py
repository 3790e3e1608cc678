"""`planner catalog import`: published tables (timm, torchvision, YOLO11, ML.ENERGY) -> catalogs."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console

from planner.io import write_atomic

#: what every imported catalog says about its rows
PLAN_ONLY = (
    "these rows are plan-only: published numbers with no 'adapter', so `planner solve` can "
    "plan with them but `planner run` cannot execute them until you add an adapter to each "
    "row you have locally (zoo, python, http, subprocess, onnx or transformers; see docs/zoo.md)"
)

err = Console(stderr=True, highlight=False, soft_wrap=True)
out = Console(highlight=False, soft_wrap=True)

catalog_app = typer.Typer(
    help="Build model catalogs from published tables.",
    no_args_is_help=True,
    rich_markup_mode=None,
)


@catalog_app.command("import")
def import_cmd(
    fmt: str = typer.Argument(..., metavar="FORMAT", help="timm, torchvision, yolo or mlenergy."),
    table: Path = typer.Argument(..., metavar="FILE", help="The published table."),
    output: Path | None = typer.Option(
        None, "-o", "--output", help="Write the catalog here (default: stdout)."
    ),
    task: list[str] | None = typer.Option(
        None,
        "--task",
        help="Keep rows that can serve this TaskBench task and label them so "
        "(repeatable: an LLM can serve 'Text Generation' and 'Conversational').",
    ),
    hardware: str | None = typer.Option(
        None,
        "--hardware",
        help="timm/yolo/torchvision: cpu (default) or gpu; ML.ENERGY v3: "
        "H100 (default) or B200; ML.ENERGY v1: the GPU in the file name.",
    ),
    metric: str | None = typer.Option(
        None,
        "--metric",
        help="Accuracy column, e.g. top1/top5 (timm), acc@1/box_map/miou "
        "(torchvision), mAP50-95(box) (yolo), arc/hellaswag/truthfulqa/mean (ML.ENERGY v1).",
    ),
    watts: float | None = typer.Option(
        None, "--watts", help="Power (W) for energy estimates instead of the device's rating."
    ),
    batch: int | None = typer.Option(
        None,
        "--batch",
        help="ML.ENERGY v3: batch size of the configuration to use "
        "(default: the smallest published).",
    ),
    match: str | None = typer.Option(
        None, "--match", help="Keep only model ids matching this regex."
    ),
    benchmark: Path | None = typer.Option(
        None,
        "--benchmark",
        help="timm: the benchmark-infer-*.csv to join (default: the one "
        "next to FILE for --hardware).",
    ),
    scores: Path | None = typer.Option(
        None, "--scores", help="ML.ENERGY v1: score.csv (default: next to FILE)."
    ),
    reference: str | None = typer.Option(
        None, "--reference", help="Override the provenance reference text."
    ),
) -> None:
    """Turn a published table into a catalog whose rows are labelled 'published'."""
    from profiles.published import ImportOptions, catalog_json, import_table

    options = ImportOptions(
        tasks=tuple(task or ()),
        hardware=hardware,
        metric=metric,
        watts=watts,
        batch=batch,
        match=match,
        benchmark=benchmark,
        scores=scores,
        reference=reference,
    )
    result = import_table(fmt, table, options)
    data = json.loads(catalog_json(result.catalog))
    data["note"] = PLAN_ONLY
    text = json.dumps(data, indent=1) + "\n"
    cat = result.catalog
    counts = ", ".join(f"{t}: {len(cat.for_task(t))}" for t in cat.tasks())
    summary = f"{len(cat.models)} published row(s) from {table.name} ({counts})"
    if result.skipped:
        summary += f"; skipped {len(result.skipped)}, e.g. {result.skipped[0]}"
    if output is None:
        typer.echo(text, nl=False)
        err.print(summary)
        err.print(f"note: {PLAN_ONLY}")
    else:
        write_atomic(output, text)
        out.print(f"wrote {output}: {summary}")
        out.print(f"note: {PLAN_ONLY}")


def register(app: typer.Typer) -> None:
    app.add_typer(catalog_app, name="catalog")
