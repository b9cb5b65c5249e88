"""Draw the audit and stats charts with matplotlib, as inline SVG (or PNG) with fixed bytes.

No pyplot and no global state: each chart is a `Figure` rendered once. SVG text is drawn as
paths, so a page needs no fonts and no script; ids are salted with a constant and the date
is left out, so the same numbers always give the same bytes. Figures are drawn at the width
of a report page's content (`WIDTH`) and scale with it (the SVG keeps its viewBox); count
axes have thousands separators; a label too long to show whole is shortened, with its full
text as an SVG `<title>` (the browser's tooltip).
"""

from __future__ import annotations

import html
import io
import re
import textwrap
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
_TIP = re.compile(r'<g id="dolmakit-tip-([0-9a-f]*)">')
_SIZE = re.compile(r'^<svg([^>]*?) width="[^"]*" height="[^"]*"')
WIDTH = 11.0  # inches: the content width of a report page (html.py), at 96 px per inch
LABEL_CHARS = 40  # a funnel label wraps at this many characters, on at most two lines
_RC: dict[Any, Any] = {
    "svg.hashsalt": "dolmakit",
    "svg.fonttype": "path",
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
}


def _figure(width: float = WIDTH, height: float = 3.2) -> Figure:
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
    """Return the chart as an `<svg>` element to inline in HTML (no XML prolog).

    The element has no fixed size (the page's CSS gives it its width; the viewBox its shape),
    and every artist with a `tooltip` gid carries its text as a `<title>`.
    """
    text = _render(fig, "svg").decode()
    text = _METADATA.sub("", text[text.index("<svg") :]).strip()
    text = _SIZE.sub(r"<svg\1", text, count=1)
    return _TIP.sub(lambda m: f"<g><title>{html.escape(_unhex(m.group(1)))}</title>", text)


def tooltip(text: str) -> str:
    """Return the gid that makes `svg` give an artist the tooltip `text`."""
    return "dolmakit-tip-" + text.encode().hex()


def _unhex(digits: str) -> str:
    return bytes.fromhex(digits).decode()


def short_label(text: str, width: int = LABEL_CHARS, lines: int = 2) -> str:
    """Return `text` wrapped at `width` characters on at most `lines` lines, cut with '…'."""
    wrapped = textwrap.wrap(text, width, break_on_hyphens=False) or [""]
    if len(wrapped) > lines:
        wrapped = wrapped[:lines]
        wrapped[-1] = wrapped[-1][: width - 1].rstrip() + "…"
    return "\n".join(wrapped)


def _count_axis(axis: Any) -> None:
    """Label a count axis with whole numbers and thousands separators (12,000, not 12000)."""
    import matplotlib.ticker

    axis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
    axis.set_major_formatter(matplotlib.ticker.StrMethodFormatter("{x:,.0f}"))


def _legend(fig: Figure, columns: int = 1) -> None:
    """Put the legend right of the plot, where it covers no bar."""
    fig.legend(loc="outside right upper", frameon=False, ncols=columns)


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
        fig = _figure(height=3.4)
        ax = fig.add_subplot()
        count = max(1, len(series))
        width = 0.7 / count
        for i, (name, values) in enumerate(series.items()):
            xs = [j + (i - (count - 1) / 2) * width for j in range(len(labels))]
            ax.bar(xs, list(values), width, label=name, color=PALETTE[i % len(PALETTE)])
        ax.set_xticks(range(len(labels)), list(labels), rotation=30, ha="right")
        ax.set_title(title)
        ax.set_ylabel(ylabel)
        if percent:
            ax.yaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0))
        else:
            _count_axis(ax.yaxis)
        if len(series) > 1:
            _legend(fig)
    return fig


def stacked_bar_chart(
    labels: Sequence[str], series: dict[str, Sequence[float]], *, title: str, ylabel: str = ""
) -> Figure:
    """Draw stacked vertical bars: one bar per label, one segment per series."""
    import matplotlib

    with matplotlib.rc_context(_RC):
        fig = _figure(height=3.4)
        ax = fig.add_subplot()
        bottom = [0.0] * len(labels)
        for i, (name, values) in enumerate(series.items()):
            ax.bar(
                range(len(labels)),
                list(values),
                0.6,
                bottom=bottom,
                label=name,
                color=PALETTE[i % len(PALETTE)],
            )
            bottom = [b + v for b, v in zip(bottom, values, strict=True)]
        ax.set_xticks(range(len(labels)), list(labels), rotation=30, ha="right")
        ax.set_title(title)
        ax.set_ylabel(ylabel)
        _count_axis(ax.yaxis)
        _legend(fig, columns=1 + (len(series) - 1) // 12)
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
        fig = _figure(height=3.0)
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
        _count_axis(ax.yaxis)
        if len(counts) > 1:
            _legend(fig)
    return fig


def _step_colour(label: str) -> str:
    """Colour a funnel step by its kind: read, a filter clause, sampled, emitted."""
    kinds = {"read": PALETTE[0], "sampled": PALETTE[2]}
    if label.startswith("emitted"):
        return PALETTE[4]
    return kinds.get(label, PALETTE[1])


def funnel_chart(
    funnels: Sequence[tuple[str, Sequence[tuple[str, float]]]], *, title: str
) -> Figure:
    """Draw one funnel per (name, steps): horizontal bars, first step on top, in step order.

    Each funnel has its own scale and states every value and its share of the first step;
    long step labels are wrapped and shortened (the full text is the label's tooltip).
    """
    import matplotlib

    with matplotlib.rc_context(_RC):
        rows = [max(1, len(steps)) for _, steps in funnels] or [1]
        fig = _figure(height=0.5 + sum(0.55 + 0.34 * n for n in rows))
        fig.suptitle(title)
        axes = fig.subplots(len(rows), 1, squeeze=False, height_ratios=[n + 1.6 for n in rows])
        for ax, (name, steps) in zip(axes[:, 0], funnels, strict=False):
            labels = [label for label, _ in steps]
            values = [value for _, value in steps]
            ys = list(range(len(steps)))
            bars = ax.barh(ys, values, 0.65, color=[_step_colour(label) for label in labels])
            first = values[0] if values and values[0] > 0 else None
            for bar, label, value in zip(bars, labels, values, strict=True):
                bar.set_gid(tooltip(f"{name}: {label}: {value:,.0f}"))
            ax.set_yticks(ys, [short_label(label) for label in labels])
            for tick, label in zip(ax.get_yticklabels(), labels, strict=True):
                tick.set_gid(tooltip(label))
            ax.invert_yaxis()
            top = max(values) if values and max(values) > 0 else 1.0
            for y, value in zip(ys, values, strict=True):
                share = f" ({value / first:.0%})" if first and y > 0 else ""
                ax.text(value + top * 0.01, y, f"{value:,.0f}{share}", va="center", fontsize=8)
            ax.set_xlim(0, top * 1.15)
            _count_axis(ax.xaxis)
            ax.set_title(name, loc="left", fontsize=9, fontweight="bold")
    return fig
