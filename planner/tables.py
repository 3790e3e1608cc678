"""Tables for people that never cut an id: too wide for the terminal, the longest ids are
printed as short aliases (``m1``, ``n2``...) with a legend below the table."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable

from rich.console import Console
from rich.table import Table

from planner.io import shown

#: ``name(id) -> the text shown for it`` (the id itself, or its alias).
Namer = Callable[[str], str]


def fits(console: Console, table: Table) -> bool:
    """Whether ``table`` prints within ``console``'s width with no cell cut (rich marks a
    cut cell with an ellipsis)."""
    probe = Console(width=console.width, file=io.StringIO(), color_system=None)
    with probe.capture() as captured:
        probe.print(table)
    return "…" not in captured.get()


def print_fitted(
    console: Console, build: Callable[[Namer], Table], ids: dict[str, Iterable[str]]
) -> None:
    """Print the table ``build(name)`` makes. ``ids``: alias prefix -> the ids of one kind
    (``{"m": model ids, "n": node ids}``). While the table is too wide, the longest ids
    are replaced one at a time by aliases (``m1``, ``m2``...), and a legend follows it."""
    aliases: dict[str, str] = {}

    def name(text: str) -> str:
        return aliases.get(text, text)

    table = build(name)
    groups = sorted(
        ((prefix, list(dict.fromkeys(group))) for prefix, group in ids.items()),
        key=lambda kv: -max((len(x) for x in kv[1]), default=0),
    )
    for prefix, group in groups:
        # the longest ids first, one at a time, until the table fits
        for text in sorted(group, key=len, reverse=True):
            if fits(console, table):
                break
            if len(text) > len(f"{prefix}{len(group)}"):
                aliases[text] = f"{prefix}{group.index(text) + 1}"
                table = build(name)
        # number the aliases of this kind 1, 2, ... in the order the ids appear
        chosen = [x for x in group if x in aliases]
        aliases.update({x: f"{prefix}{i}" for i, x in enumerate(chosen, 1)})
        table = build(name)
    console.print(table)
    legend = [x for _, group in groups for x in group if x in aliases]
    for text in legend:
        alias = aliases[text]
        # soft_wrap: printed whole, never cut (the terminal wraps a line longer than it)
        console.print(f"  {alias} = {shown(text)}", soft_wrap=True, highlight=False)
