"""`planner decompose` (request -> task graph) and `planner eval decompose` (TaskBench scores)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from planner.cli.options import (
    AllowAbsoluteOpt,
    ApiKeyEnvOpt,
    DecomposerFlags,
    DecomposerOpt,
    InputDirOpt,
    LlmConfigOpt,
    LlmModelOpt,
    LlmTimeoutOpt,
    LlmUrlOpt,
    SemanticOpt,
)
from planner.errors import PlannerError
from planner.io import shown, write_atomic

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False)


class DecomposeCLIError(PlannerError, ValueError):
    """Bad decomposer input or a failed decomposition (exit code 2)."""


def _registry(tool_graph: Path | None, data_file: Path | None = None) -> Any:
    from tasks.registry import RegistryError, default_registry, load_registry, planner_registry

    path = tool_graph
    if path is None and data_file is not None:
        beside = data_file.parent / "graph_desc.json"
        path = beside if beside.is_file() else None
    try:
        if path is not None:
            return load_registry(path)
        # scoring on TaskBench compares like with like: its 23 types; decomposing a request
        # may also use the built-in zoo's extra types
        return default_registry() if data_file is not None else planner_registry()
    except RegistryError as exc:
        raise DecomposeCLIError(str(exc)) from exc


#: The pre-`--llm-url` spellings, still accepted by `planner decompose` and `eval decompose`.
LegacyModelOpt = Annotated[
    str | None, typer.Option("--model", hidden=True, help="Same as --llm-model.")
]
LegacyTimeoutOpt = Annotated[
    float | None, typer.Option("--timeout", hidden=True, help="Same as --llm-timeout.")
]


def _decomposer(registry: Any, flags: DecomposerFlags) -> Any:
    try:
        return flags.build(registry)
    except PlannerError as exc:
        raise DecomposeCLIError(str(exc)) from exc


def register(app: typer.Typer) -> None:
    @app.command()
    def decompose(
        request: str = typer.Argument(..., help="The request, in quotes."),
        decomposer_kind: DecomposerOpt = None,
        llm: LlmUrlOpt = None,
        llm_model: LlmModelOpt = None,
        api_key_env: ApiKeyEnvOpt = None,
        llm_config: LlmConfigOpt = None,
        llm_timeout: LlmTimeoutOpt = None,
        model: LegacyModelOpt = None,
        timeout: LegacyTimeoutOpt = None,
        tool_graph: Path | None = typer.Option(
            None,
            "--tool-graph",
            help="TaskBench graph_desc.json (default: HuggingFace + the zoo's extra types).",
        ),
        semantic: SemanticOpt = None,
        input_dir: InputDirOpt = Path("."),
        allow_absolute: AllowAbsoluteOpt = False,
        fmt: str | None = typer.Option(
            None,
            "--format",
            help="Print JSON in this flavour: graph (problem file, the --json default), "
            "taskbench or hugginggpt.",
        ),
        as_json: bool = typer.Option(False, "--json", help="Print JSON."),
        output: Path | None = typer.Option(None, "-o", "--output", help="Write JSON here."),
    ) -> None:
        """Decompose a request into a task graph (offline rules, or an LLM: --decomposer llm)."""
        from tasks.decompose import DecomposeError, InputPathError, InputPolicy
        from tasks.errors import GraphError
        from tasks.formats import graph_to_data, graph_to_hugginggpt, graph_to_taskbench

        if fmt is not None:
            as_json = True  # a format names a JSON flavour: never ignored for the table
        fmt = fmt or "graph"
        if fmt not in ("graph", "taskbench", "hugginggpt"):
            raise DecomposeCLIError(f"--format must be graph, taskbench or hugginggpt, got {fmt!r}")
        registry = _registry(tool_graph)
        flags = DecomposerFlags(
            decomposer_kind,
            llm,
            llm_model if llm_model is not None else model,
            api_key_env,
            llm_config,
            llm_timeout if llm_timeout is not None else timeout,
            semantic,
        )
        decomposer = _decomposer(registry, flags)
        try:
            graph = decomposer.decompose(request)
            InputPolicy(input_dir, allow_absolute=allow_absolute).check_graph(graph)
        except (DecomposeError, GraphError, InputPathError) as exc:
            raise DecomposeCLIError(str(exc)) from exc
        data: Any = {
            "graph": graph_to_data,
            "hugginggpt": graph_to_hugginggpt,
            "taskbench": lambda g: graph_to_taskbench(g, registry),
        }[fmt](graph)
        text = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
        if output is not None:
            write_atomic(output, text)
        if as_json:
            typer.echo(text, nl=False)
            return
        table = Table(
            title=f"task graph ({decomposer.name})",
            title_justify="left",
            show_edge=False,
            pad_edge=False,
        )
        for col in ("node", "task", "args", "after"):
            # ids and task names whole; the arguments wrap (long words fold, none is cut)
            table.add_column(col, no_wrap=col in ("node", "task"), overflow="fold")
        preds = graph.predecessors()
        for node_id in graph.topological_order():
            node = graph.node(node_id)
            args = ", ".join(
                f"{k}={json.dumps(v, ensure_ascii=False)}" for k, v in node.args.items()
            )
            table.add_row(
                shown(node.id),
                shown(node.task),
                shown(args),
                shown(", ".join(preds[node_id]) or "-"),
            )
        out.print(table)
        if output is not None:
            out.print(f"graph written to {output}")

    eval_app = typer.Typer(
        help="Evaluate components against published benchmarks.", no_args_is_help=True
    )

    @eval_app.command("decompose")
    def eval_decompose(
        data: Path = typer.Argument(
            ..., help="TaskBench JSONL (id, instruction, task_nodes, task_links per line)."
        ),
        predictions: Path | None = typer.Option(
            None, "--predictions", help="Write one TaskBench record per request here (JSONL)."
        ),
        as_json: bool = typer.Option(False, "--json", help="Print the scores as JSON."),
        split: str = typer.Option(
            "all", "--split", help="all, first-half or second-half (by line order)."
        ),
        tool_graph: Path | None = typer.Option(
            None,
            "--tool-graph",
            help="Tool graph (default: graph_desc.json beside DATA, else HuggingFace).",
        ),
        decomposer_kind: DecomposerOpt = None,
        llm: LlmUrlOpt = None,
        llm_model: LlmModelOpt = None,
        api_key_env: ApiKeyEnvOpt = None,
        llm_config: LlmConfigOpt = None,
        llm_timeout: LlmTimeoutOpt = None,
        model: LegacyModelOpt = None,
        timeout: LegacyTimeoutOpt = None,
        semantic: SemanticOpt = None,
        limit: int | None = typer.Option(None, "--limit", help="Only the first N records."),
    ) -> None:
        """Score a decomposer on TaskBench records: node F1, link F1, exact match."""
        from tasks.decompose import DecomposeError
        from tasks.errors import GraphError
        from tasks.evaluate import evaluate, load_records
        from tasks.formats import graph_to_taskbench

        try:
            records, report = load_records(data, split=split)
        except ValueError as exc:
            raise DecomposeCLIError(str(exc)) from exc
        if limit is not None:
            records = records[: max(0, limit)]
        registry = _registry(tool_graph, data)
        flags = DecomposerFlags(
            decomposer_kind,
            llm,
            llm_model if llm_model is not None else model,
            api_key_env,
            llm_config,
            llm_timeout if llm_timeout is not None else timeout,
            semantic,
        )
        decomposer = _decomposer(registry, flags)
        errors: dict[str, str] = {}

        def predict(rec: Any) -> dict[str, Any] | None:
            try:
                return graph_to_taskbench(decomposer.decompose(rec.instruction), registry)
            except (DecomposeError, GraphError, ValueError) as exc:
                errors[rec.id] = str(exc)
                return None

        start = time.perf_counter()
        result, preds = evaluate(records, predict, registry.names)
        elapsed = time.perf_counter() - start
        if predictions is not None:
            write_atomic(
                predictions, "".join(json.dumps(p, ensure_ascii=False) + "\n" for p in preds)
            )
        summary = {
            "data": str(data),
            "split": split,
            "decomposer": decomposer.name,
            "tool_graph": registry.name,
            "records_read": report.total,
            "records_skipped": len(report.skipped),
            "records_normalised": len(report.normalised),
            **json.loads(result.model_dump_json()),
            "seconds": round(elapsed, 3),
            "skipped": report.skipped,
            "normalised": report.normalised,
            "errors": errors,
        }
        if as_json:
            typer.echo(json.dumps(summary, indent=2, ensure_ascii=False))
            return
        out.print(
            f"{data} ({split}): {result.requests} requests, decomposer "
            f"{decomposer.name}, tool graph {registry.name}"
        )
        if report.skipped or report.normalised:
            out.print(
                f"gold data: {len(report.skipped)} record(s) skipped as unreadable, "
                f"{len(report.normalised)} normalised (see --json for which and why)"
            )
        table = Table(show_edge=False, pad_edge=False)
        for col in ("metric", "precision", "recall", "F1", "tp", "fp", "fn"):
            table.add_column(col, justify="left" if col == "metric" else "right")
        for label, s in (("nodes", result.node), ("links", result.link)):
            table.add_row(
                label,
                f"{s.precision:.3f}",
                f"{s.recall:.3f}",
                f"{s.f1:.3f}",
                str(s.tp),
                str(s.fp),
                str(s.fn),
            )
        out.print(table)
        out.print(
            f"exact graph match: {result.exact_match:.3f}; decomposer failures: "
            f"{result.failures}; {elapsed:.2f} s"
        )
        if predictions is not None:
            out.print(f"predictions written to {predictions}")

    app.add_typer(eval_app, name="eval")
