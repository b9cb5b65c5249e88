"""Draw the audit and stats charts with matplotlib, as inline SVG (or PNG) with fixed bytes.

No pyplot and no global state: each chart is a `Figure` rendered once. SVG text is drawn as
paths, so a page needs no fonts and no script; ids are salted with a constant and the date
is left out, so the same numbers always give the same bytes.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from dolmakit.errors import DolmakitError

if TYPE_CHECKING:
    from matplotlib.figure import Figure

PALETTE = (
    "#4e79a7",
    "#f28e2b",
    "#59a14f",
    "#e15759",
    "#76b7b2",
    "#edc948",
    "#b07aa1",
    "#ff9da7",
    "#9c755f",
    "#bab0ac",
)
_METADATA = re.compile(r"\s*<metadata>.*?</metadata>", re.DOTALL)
_RC: dict[Any, Any] = {
    "svg.hashsalt": "dolmakit",
    "svg.fonttype": "path",
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
}


def _figure(width: float = 7.0, height: float = 3.2) -> Figure:
    try:
        from matplotlib.figure import Figure
    except ImportError as exc:
        raise DolmakitError(
            f"charts need matplotlib: pip install 'dolmakit[charts]' ({exc})"
        ) from None
    return Figure(figsize=(width, height), dpi=100, layout="constrained")


def _render(fig: Figure, fmt: str) -> bytes:
    import matplotlib

    buf = io.BytesIO()
    metadata: dict[str, Any] = {"Date": None} if fmt == "svg" else {"Software": None}
    with matplotlib.rc_context(_RC):
        fig.savefig(buf, format=fmt, metadata=metadata)
    return buf.getvalue()


def svg(fig: Figure) -> str:
    """Return the chart as an `<svg>` element to inline in HTML (no XML prolog)."""
    text = _render(fig, "svg").decode()
    text = _METADATA.sub("", text[text.index("<svg") :])
    return text.strip()


def png(fig: Figure) -> bytes:
    """Return the chart as PNG bytes."""
    return _render(fig, "png")


def bar_chart(
    labels: Sequence[str],
    series: dict[str, Sequence[float]],
    *,
    title: str,
    ylabel: str = "",
    percent: bool = False,
) -> Figure:
    """Draw grouped vertical bars: one group per label, one bar per series."""
    import matplotlib

    with matplotlib.rc_context(_RC):
        fig = _figure(max(5.0, 1.0 + 0.9 * len(labels) * max(1, len(series)) ** 0.5), 3.4)
        ax = fig.add_subplot()
        count = max(1, len(series))
        width = 0.8 / count
        for i, (name, values) in enumerate(series.items()):
            xs = [j + (i - (count - 1) / 2) * width for j in range(len(labels))]
            ax.bar(xs, list(values), width, label=name, color=PALETTE[i % len(PALETTE)])
        ax.set_xticks(range(len(labels)), list(labels), rotation=30, ha="right")
        ax.set_title(title)
        ax.set_ylabel(ylabel)
        if percent:
            ax.yaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0))
        if len(series) > 1:
            ax.legend(frameon=False)
    return fig


def stacked_bar_chart(
    labels: Sequence[str], series: dict[str, Sequence[float]], *, title: str, ylabel: str = ""
) -> Figure:
    """Draw stacked vertical bars: one bar per label, one segment per series."""
    import matplotlib

    with matplotlib.rc_context(_RC):
        fig = _figure(max(5.0, 1.5 + 0.7 * len(labels)), 3.4)
        ax = fig.add_subplot()
        bottom = [0.0] * len(labels)
        for i, (name, values) in enumerate(series.items()):
            ax.bar(
                range(len(labels)),
                list(values),
                0.7,
                bottom=bottom,
                label=name,
                color=PALETTE[i % len(PALETTE)],
            )
            bottom = [b + v for b, v in zip(bottom, values, strict=True)]
        ax.set_xticks(range(len(labels)), list(labels), rotation=30, ha="right")
        ax.set_title(title)
        ax.set_ylabel(ylabel)
        ax.legend(frameon=False, fontsize=7, ncols=min(4, max(1, len(series))))
    return fig


def histogram_chart(
    edges: Sequence[float],
    counts: dict[str, Sequence[int]],
    *,
    title: str,
    xlabel: str = "",
) -> Figure:
    """Draw step histograms sharing the bin `edges`, one line per series (e.g. per source)."""
    import matplotlib

    with matplotlib.rc_context(_RC):
        fig = _figure(6.0, 3.0)
        ax = fig.add_subplot()
        for i, (name, values) in enumerate(counts.items()):
            ax.stairs(
                list(values),
                list(edges),
                label=name,
                color=PALETTE[i % len(PALETTE)],
                fill=len(counts) == 1,
                linewidth=1.5,
            )
        ax.set_title(title)
        ax.set_xlabel(xlabel)
        ax.set_ylabel("documents")
        if len(counts) > 1:
            ax.legend(frameon=False, fontsize=7)
    return fig


def funnel_chart(steps: Sequence[tuple[str, float]], *, title: str) -> Figure:
    """Draw horizontal bars from the first step (top) to the last, with their values."""
    import matplotlib

    with matplotlib.rc_context(_RC):
        fig = _figure(6.5, 0.6 + 0.45 * max(1, len(steps)))
        ax = fig.add_subplot()
        labels = [label for label, _ in steps]
        values = [value for _, value in steps]
        ys = list(range(len(steps)))
        ax.barh(ys, values, 0.6, color=[PALETTE[i % len(PALETTE)] for i in ys])
        ax.set_yticks(ys, labels)
        ax.invert_yaxis()
        top = max(values) if values and max(values) > 0 else 1.0
        for y, value in zip(ys, values, strict=True):
            ax.text(value + top * 0.01, y, f"{value:,.0f}", va="center", fontsize=8)
        ax.set_xlim(0, top * 1.15)
        ax.set_title(title)
    return fig
