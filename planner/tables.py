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


def fits(console: Console, table: Table, keep: Iterable[str] = ()) -> bool:
    """Whether ``table`` prints within ``console``'s width with no cell cut (rich marks a
    cut cell with an ellipsis) and every word of ``keep`` on one line (not folded)."""
    probe = Console(width=console.width, file=io.StringIO(), color_system=None)
    with probe.capture() as captured:
        probe.print(table)
    text = captured.get()
    return "…" not in text and all(word in text for word in keep)


def print_fitted(
    console: Console,
    build: Callable[[Namer], Table],
    ids: dict[str, Iterable[str]],
    keep: Iterable[str] = (),
) -> None:
    """Print the table ``build(name)`` makes. ``ids``: alias prefix -> the ids of one kind
    (``{"m": model ids, "n": node ids}``); ``keep``: words of wrapping columns (task names)
    that should not fold. While the table does not fit, the longest ids are replaced one at
    a time by aliases (``m1``, ``n2``...), and a legend of the aliases follows the table."""
    words = {w for text in keep for w in text.split()}
    groups = {prefix: list(dict.fromkeys(group)) for prefix, group in ids.items()}
    aliases: dict[str, str] = {}

    def name(text: str) -> str:
        return aliases.get(text, text)

    longest_first = sorted(
        ((text, prefix) for prefix, group in groups.items() for text in group),
        key=lambda item: -len(item[0]),
    )
    table = build(name)
    for text, prefix in longest_first:
        if fits(console, table, words):
            break
        if len(text) > max(len(f"{prefix}{len(groups[prefix])}"), 4) and text not in aliases:
            aliases[text] = f"{prefix}{groups[prefix].index(text) + 1}"
            table = build(name)
    # number each kind's aliases 1, 2, ... in the order its ids appear
    legend: list[str] = []
    for prefix, group in groups.items():
        chosen = [x for x in group if x in aliases]
        aliases.update({x: f"{prefix}{i}" for i, x in enumerate(chosen, 1)})
        legend += chosen
    console.print(build(name))
    for text in legend:
        # soft_wrap: printed whole, never cut (the terminal wraps a line longer than it)
        console.print(f"  {aliases[text]} = {shown(text)}", soft_wrap=True, highlight=False)
