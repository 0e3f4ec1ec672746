"""Charts for the governors' report: PNG bar charts, 800 x 400 pixels, drawn with matplotlib.

Drawn off-screen with the Agg canvas on a ``Figure`` of its own (no pyplot, no global state, no
display needed), so a scheduled job on a server can make them. Only what the anonymised table
publishes is drawn: a hidden count gets no bar, only its words ("fewer than 3", "not shown"),
and a withheld breakdown is a chart that says so. No metadata but the image size is written.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from policy.reporting import CountTable, Hidden

WIDTH_PX = 800
HEIGHT_PX = 400
DPI = 100
_BAR = "#4a6fa5"
_MUTED = "#666666"


def _wrapped(label: str, width: int) -> str:
    return "\n".join(textwrap.wrap(label, width)) or label


def bar_chart(table: CountTable, path: Path, *, horizontal: bool) -> None:
    """Draw ``table`` as a bar chart into ``path`` (PNG, ``WIDTH_PX`` x ``HEIGHT_PX``).

    Rows with a count of 0 are left out of horizontal charts (long lists of categories) and
    kept in vertical ones (months, where a gap is information).
    """
    figure = Figure(figsize=(WIDTH_PX / DPI, HEIGHT_PX / DPI), dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    axes.set_title(f"{table.title} (total {table.total.text})", fontsize=11, loc="left")
    cells = [c for c in table.cells if not (horizontal and c.value == 0)]
    if table.withheld or not cells:
        words = (
            "Withheld: the numbers are too small to show safely"
            if table.withheld
            else "None in this period"
        )
        axes.text(0.5, 0.5, words, ha="center", va="center", fontsize=12, color=_MUTED)
        axes.set_axis_off()
    else:
        positions = list(range(len(cells)))
        values = [c.value or 0 for c in cells]
        if horizontal:
            labels = [_wrapped(c.label, 34) for c in cells]
            axes.barh(positions, values, color=_BAR)
            axes.set_yticks(positions, labels, fontsize=8)
            axes.invert_yaxis()
            axes.xaxis.set_major_locator(MaxNLocator(integer=True))
            axes.set_xlim(0, max([*values, 1]) * 1.15)
        else:
            labels = [_wrapped(c.label, 12) for c in cells]
            axes.bar(positions, values, color=_BAR)
            axes.set_xticks(positions, labels, fontsize=8)
            axes.yaxis.set_major_locator(MaxNLocator(integer=True))
            axes.set_ylim(0, max([*values, 1]) * 1.15)
        for position, cell in zip(positions, cells, strict=True):
            shown = cell.hidden is Hidden.SHOWN
            words = str(cell.value) if shown else cell.text
            style = "normal" if shown else "italic"
            colour = "black" if shown else _MUTED
            if horizontal:
                axes.text(
                    cell.value or 0,
                    position,
                    f" {words}",
                    va="center",
                    fontsize=8,
                    style=style,
                    color=colour,
                )
            else:
                axes.text(
                    position,
                    cell.value or 0,
                    words,
                    ha="center",
                    va="bottom",
                    fontsize=8,
                    style=style,
                    color=colour,
                )
        for side in ("top", "right"):
            axes.spines[side].set_visible(False)
    path.parent.mkdir(parents=True, exist_ok=True)
    # "Software" is the only metadata matplotlib adds by default; leave it out too.
    figure.savefig(path, format="png", dpi=DPI, metadata={"Software": None})
