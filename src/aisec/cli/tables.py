"""Rich tables that fit the console: ids stay whole, long columns move into a details column.

When a table is wider than the console, Rich shrinks its wrappable columns evenly and cuts the
words that no longer fit with "…"; at 80 columns (a CI log is not a terminal, so Rich uses
``COLUMNS``, else 80) that truncated test and threat ids. :func:`fitted_table` takes the
first of these layouts that fits the console's width:

1. every column;
2. the ``detail`` columns that are not ``key`` columns merged into one last column, one
   ``header: value`` line each (a value of several lines, e.g. one id a line, goes on one
   line, comma-separated; an empty or ``-`` value is left out);
3. as 2, with the ``detail`` ``key`` columns merged too (a long file name);

each first with every ``optional`` column, then dropping them from the last one. When even
the narrowest of these does not fit, the widest key columns may fold (a word longer than the
column goes on on the next line), one more at a time. Otherwise ``key`` columns (ids, names,
file names) are never wrapped or truncated, and every other column folds a word longer than
itself instead of cutting it: nothing is ever cut with "…".
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from rich.console import Console, JustifyMethod
from rich.table import Table
from rich.text import Text

COMFORT_WIDTH = 24
"""Width a text column needs to read well (or its longest word, when longer)."""

FOLDED_KEY_WIDTH = 8
"""Width a key column allowed to fold needs at least."""

Cell = str | Text
"""A cell: a string with Rich markup, or a :class:`Text`."""
Rows = list[list[Text]]


@dataclass(frozen=True)
class Col:
    """One column of a :func:`fitted_table`."""

    header: str
    key: bool = False
    """An id or a name: one line, never truncated."""
    optional: bool = False
    """Secondary: dropped when the table is too wide for the console."""
    detail: bool = False
    """May move into the details column when the table is too wide."""
    label: bool = True
    """In the details column, prefix the value by the header (``header: value``)."""
    justify: JustifyMethod = "left"
    style: str | None = None


@dataclass(frozen=True)
class _Layout:
    cols: list[Col]
    rows: Rows
    merged: bool = False
    folding: frozenset[str] = frozenset()
    """Headers of the key columns allowed to fold."""


def _text(cell: Cell) -> Text:
    return cell if isinstance(cell, Text) else Text.from_markup(cell)


def _widths(cells: Sequence[Text]) -> tuple[int, int]:
    """(widest line, longest word) of ``cells``."""
    lines = [line for cell in cells for line in cell.plain.splitlines()] or [""]
    words = [w for line in lines for w in line.split()] or [""]
    return max(Text(x).cell_len for x in lines), max(Text(w).cell_len for w in words)


def _key_width(layout: _Layout, index: int) -> int:
    """The width of a key column: its widest cell or header."""
    header = Text(layout.cols[index].header)
    return _widths([header, *(row[index] for row in layout.rows)])[0]


def _needed(layout: _Layout) -> int:
    """The width ``layout`` needs to read well: whole keys, other columns at a comfortable width.

    A header may wrap, so only its longest word counts.
    """
    total = 3 * len(layout.cols) + 1  # a border and a space either side of each cell
    for i, col in enumerate(layout.cols):
        widest, longest_word = _widths([row[i] for row in layout.rows])
        header_word = _widths([Text(col.header)])[1]
        if col.key and col.header not in layout.folding:
            total += _key_width(layout, i)
        elif col.key:  # folding: it takes what the other columns leave
            total += max(header_word, min(widest, FOLDED_KEY_WIDTH))
        else:
            total += max(header_word, longest_word, min(widest, COMFORT_WIDTH))
    return total


def _merge(cols: Sequence[Col], rows: Rows, moved: set[int], header: str) -> _Layout:
    """The layout with the columns ``moved`` merged into one last column named ``header``."""
    kept = [i for i in range(len(cols)) if i not in moved]
    new_rows: Rows = []
    for row in rows:
        lines: list[Text] = []
        for i in sorted(moved):
            if row[i].plain.strip() in ("", "-"):
                continue
            value = Text(", ").join(row[i].split("\n"))
            lines.append(
                Text.assemble((f"{cols[i].header}: ", "dim"), value) if cols[i].label else value
            )
        new_rows.append([row[i] for i in kept] + [Text("\n").join(lines)])
    return _Layout([*(cols[i] for i in kept), Col(header)], new_rows, merged=True)


def _without_optional(layout: _Layout, keep: int) -> _Layout:
    """``layout`` without its optional columns after the first ``keep`` of them."""
    optional = [i for i, c in enumerate(layout.cols) if c.optional]
    drop = set(optional[keep:])
    kept = [i for i in range(len(layout.cols)) if i not in drop]
    return _Layout(
        [layout.cols[i] for i in kept],
        [[row[i] for i in kept] for row in layout.rows],
        layout.merged,
    )


def _layouts(cols: Sequence[Col], rows: Rows, details_header: str) -> Iterator[_Layout]:
    """The candidate layouts, most complete first (see the module docstring)."""
    bases = [_Layout(list(cols), rows)]
    plain = {i for i, c in enumerate(cols) if c.detail and not c.key}
    keys = {i for i, c in enumerate(cols) if c.detail and c.key}
    if plain:
        bases.append(_merge(cols, rows, plain, details_header))
    if keys:
        bases.append(_merge(cols, rows, plain | keys, details_header))
    n_optional = sum(c.optional for c in cols)
    for base in bases:
        for keep in range(n_optional, -1, -1):
            yield _without_optional(base, keep)
    last = _without_optional(bases[-1], 0)
    keys = sorted((i for i, c in enumerate(last.cols) if c.key), key=lambda i: -_key_width(last, i))
    for n in range(1, len(keys) + 1):
        folding = frozenset(last.cols[i].header for i in keys[:n])
        yield _Layout(last.cols, last.rows, last.merged, folding)


def fitted_table(
    console: Console,
    cols: Sequence[Col],
    rows: Sequence[Sequence[Cell]],
    *,
    details_header: str = "details",
    **table_options: Any,
) -> Table:
    """A :class:`Table` of ``rows`` laid out for ``console.width`` (see the module docstring).

    ``table_options`` go to :class:`Table` (``title``, ``show_header``, ...). A table whose
    columns were merged separates its rows by lines (each row then spans several lines)
    unless ``show_lines`` is given.
    """
    text_rows = [[_text(cell) for cell in row] for row in rows]
    layout = None
    for layout in _layouts(cols, text_rows, details_header):
        if _needed(layout) <= console.width:
            break
    assert layout is not None
    if layout.merged:
        table_options.setdefault("show_lines", True)
    table = Table(**table_options)
    for i, col in enumerate(layout.cols):
        if col.key and col.header not in layout.folding:
            table.add_column(
                col.header,
                justify=col.justify,
                style=col.style,
                no_wrap=True,
                width=_key_width(layout, i),
            )
        else:
            table.add_column(col.header, justify=col.justify, style=col.style, overflow="fold")
    for row in layout.rows:
        table.add_row(*row)
    return table
