"""The `planner` command line (typer + rich). Exit codes: 0 ok, 2 user error, 3 infeasible."""

from __future__ import annotations

import importlib
import sys
import traceback

import typer

from planner.cli.catalog import register as register_catalog
from planner.cli.decompose import register as register_decompose
from planner.cli.insight import register as register_insight
from planner.cli.plan import register as register_plan
from planner.cli.profiles import register as register_profiles
from planner.cli.run import register as register_run
from planner.cli.serve import register as register_serve
from planner.cli.solve import register as register_solve
from planner.errors import PlannerError
from planner.io import plain

app = typer.Typer(
    name="planner",
    help="Plan and run multi-model AI requests under explicit budgets.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


@app.callback()
def _root(
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks for errors."),
) -> None:
    """Plan and run multi-model AI requests under explicit budgets."""


register_solve(app)
register_plan(app)
register_catalog(app)
register_insight(app)
register_decompose(app)
register_profiles(app)
register_run(app)
register_serve(app)

#: Exceptions that mean "the user gave bad input": printed as one message, exit code 2.
USER_ERRORS: tuple[type[BaseException], ...] = (PlannerError, ValueError, OSError)


def _classes(name: str) -> tuple[type[BaseException], ...]:
    """Exception classes called ``name`` in typer (which vendors click from 0.2x) and click."""
    found: list[type[BaseException]] = []
    for module in ("typer", "typer.exceptions", "typer._click.exceptions", "click.exceptions"):
        try:
            cls = getattr(importlib.import_module(module), name, None)
        except ImportError:
            continue
        if isinstance(cls, type) and issubclass(cls, BaseException) and cls not in found:
            found.append(cls)
    return tuple(found)


_EXIT = _classes("Exit")
_ABORT: tuple[type[BaseException], ...] = (*_classes("Abort"), KeyboardInterrupt)
_CLICK_ERROR = _classes("ClickException")


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script; never lets a traceback through unless --debug."""
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args
    try:
        result = app(args=args, prog_name="planner", standalone_mode=False)
    except _EXIT as exc:
        return int(getattr(exc, "exit_code", 0))
    except _CLICK_ERROR as exc:
        exc.show()  # type: ignore[attr-defined]
        return 2
    except _ABORT:
        print("interrupted", file=sys.stderr)
        return 130
    except USER_ERRORS as exc:
        if debug:
            traceback.print_exc()
        print(f"error: {plain(exc)}", file=sys.stderr)
        return 2
    except Exception as exc:  # a bug: still no traceback unless asked
        if debug:
            traceback.print_exc()
        print(
            f"internal error: {type(exc).__name__}: {plain(exc)} "
            "(rerun with --debug and report it)",
            file=sys.stderr,
        )
        return 1
    return int(result) if isinstance(result, int) else 0
