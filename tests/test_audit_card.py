"""The data card renderer: Markdown tables, HTML with one inline SVG per chart, fixed bytes."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path
from typing import cast

import pytest
from click.testing import CliRunner
from test_audit_helpers import Mixes, build_mixes
from test_audit_trace import shard_rows

from dolmakit.audit.card import (
    CardData,
    ScoreHistogram,
    SourceSummary,
    render_html,
    render_markdown,
)
from dolmakit.audit.rebuild import first_difference
from dolmakit.audit.sources import is_dedup_clause
from dolmakit.cli.main import cli


def sample_card() -> CardData:
    """A two-source card with every chart kind."""
    return CardData(
        title="demo v2: data card",
        description="A test mix.",
        facts=(("tokens", "1,000 (cl100k_base)"),),
        sources=(
            SourceSummary(
                "web",
                0.6,
                0.59,
                100,
                590,
                3,
                2,
                (("read", 200), ("passes lang.en >= 0.5", 150), ("sampled", 97), ("emitted", 100)),
                20,
                "CC BY 4.0",
                "Crawled | 2024",
            ),
            SourceSummary(
                "code",
                0.4,
                0.41,
                50,
                410,
                0,
                1,
                (("read", 80), ("passes lang.en >= 0.5", 70), ("sampled", 50), ("emitted", 50)),
                0,
            ),
        ),
        languages={"web": {"en": 500, "de": 90}, "code": {"en": 410}},
        histograms=(ScoreHistogram("t__q__score", (0.0, 0.5, 1.0), (10, 20), (2, 15)),),
    )


def test_markdown_card_tables() -> None:
    text = render_markdown(sample_card())
    assert text.startswith(
        "# demo v2: data card\n\nA test mix.\n\n- **tokens**: 1,000 (cl100k_base)\n"
    )
    assert "| web | 60.00% | 59.00% | 100 | 590 | 3 | 2 | 20 |" in text
    assert "- **web**: licence: CC BY 4.0. Crawled | 2024" in text
    assert "- **code**: licence: not stated in the spec." in text
    assert "| code | 0 | 410 |" in text  # languages: de, en
    assert "| passes lang.en >= 0.5 | 150 |" in text
    assert "- `t__q__score`: 30 documents read, 17 in the mix, range 0 to 1" in text


def test_html_card_is_self_contained_and_stable() -> None:
    page = render_html(sample_card())
    assert page.count('<figure class="chart"><svg') == 6
    assert "<script" not in page and "src=" not in page and "<link" not in page
    assert all(ref.startswith("#") for ref in re.findall(r'href="([^"]*)"', page))
    assert render_html(sample_card()) == page


def test_dedup_clauses_are_recognised() -> None:
    assert is_dedup_clause("not dedup_minhash.minhash.duplicate")
    assert is_dedup_clause("not exact.duplicate")
    assert not is_dedup_clause("tags.lid.en >= 0.5")


def test_first_difference_names_byte_and_line(tmp_path: Path) -> None:
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    a.write_bytes(b'{"x":1}\n{"x":2}\n')
    b.write_bytes(b'{"x":1}\n{"x":3}\n')
    assert first_difference(a, b) == "b.jsonl: first differs at byte 13 (line 2)"
    b.write_bytes(a.read_bytes())
    assert first_difference(a, b) is None
    b.write_bytes(a.read_bytes() + b"more")
    assert first_difference(a, b) == "b.jsonl: one copy ends at byte 16, the other goes on"


# ---------------------------------------------------------------- a card from a real mix


@pytest.fixture(scope="module")
def mixes(tmp_path_factory: pytest.TempPathFactory) -> Mixes:
    return build_mixes(tmp_path_factory.mktemp("audit-card"))


def test_card_of_a_real_mix(mixes: Mixes, tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["audit", "card", str(mixes.v1), "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert result.output == f"wrote {tmp_path / 'card.md'}\nwrote {tmp_path / 'card.html'}\n"
    text = (tmp_path / "card.md").read_text()
    docs = [d for _, _, d in shard_rows(mixes.v1)]
    web = [d for d in docs if d["metadata"]["provenance"]["source"] == "web"]
    books = [d for d in docs if d["metadata"]["provenance"]["source"] == "books"]

    def tokens(ds: list[dict], lang: str | None = None) -> int:
        return sum(len(d["text"].split()) for d in ds if lang in (None, d["metadata"]["lang"]))

    total = tokens(docs)
    # web: fixed rate, 0 repeats, 1 file, 1 duplicate removed (w5)
    assert (
        f"| web | rate 0.6 | {100 * tokens(web) / total:.2f}% | {len(web)} | {tokens(web):,}"
        " | 0 | 1 | 1 |" in text
    )
    repeated = len({d["id"] for d in books if d["metadata"]["provenance"]["repeat"]})
    assert f"| {len(books)} | {tokens(books):,} | {repeated} | 1 | 0 |" in text
    assert "- **web**: licence: CC BY 4.0. Crawled pages." in text
    assert "- **books**: licence: public domain." in text
    assert "| source | de | en |" in text
    assert f"| web | {tokens(web, 'de'):,} | {tokens(web, 'en'):,} |" in text
    assert f"| books | 0 | {tokens(books):,} |" in text
    assert "| passes not minhash.duplicate | 14 |" in text
    # every web document has a language score; those in the mix are the web output
    assert f"- `tags__lang__en`: 24 documents read, {len(web)} in the mix, range 0 to 0.9" in text
    page = (tmp_path / "card.html").read_text()
    # shares, tokens, languages, one score histogram, duplicates removed, funnel
    assert page.count('<figure class="chart"><svg') == 6
    assert "<script" not in page


def test_card_in_the_mix_folder_is_stable_and_verify_still_passes(mixes: Mixes) -> None:
    from dolmakit.audit.card_data import render_card
    from dolmakit.audit.verify import verify_mix

    md, html = render_card(mixes.v1)
    first = (md.read_bytes(), html.read_bytes())
    render_card(mixes.v1)
    assert (md.read_bytes(), html.read_bytes()) == first
    assert md.parent == mixes.v1
    assert verify_mix(mixes.v1).ok


# ---------------------------------------------------------------- the charts a reader sees


def _drawn(fig):
    """Render a figure once so that its tick labels and extents are final."""
    from dolmakit.audit import charts

    charts.svg(fig)
    return fig


def test_funnel_is_one_per_source_in_step_order_with_readable_labels() -> None:
    from dolmakit.audit import charts
    from dolmakit.audit.card import chart_figures

    clause = "passes " + " or ".join(f"default(lid_fasttext.lang_{c}, 0) >= 0.5" for c in "abcd")
    card = sample_card()
    web = card.sources[0]
    steps = (*web.funnel[:2], (clause, 120), *web.funnel[2:])
    card = replace(card, sources=(replace(web, funnel=steps), card.sources[1]))
    caption, fig = chart_figures(card)[-1]
    assert caption.startswith("Filter funnel per source, in the order the steps apply")
    _drawn(fig)
    assert [ax.get_title(loc="left") for ax in fig.axes] == ["web", "code"]
    from matplotlib.patches import Rectangle

    for ax, source in zip(fig.axes, card.sources, strict=True):
        labels = [t.get_text() for t in ax.get_yticklabels()]
        assert labels == [charts.short_label(step) for step, _ in source.funnel]
        assert all(
            len(line) <= charts.LABEL_CHARS for label in labels for line in label.split("\n")
        )
        values = [cast(Rectangle, bar).get_width() for bar in ax.patches]
        assert values == [count for _, count in source.funnel]
    long = charts.short_label(clause)
    assert long.count("\n") == 1 and long.endswith("…")
    # the whole clause is the label's tooltip; the SVG scales with the page
    svg = charts.svg(fig)
    assert f"<title>{clause.replace('>', '&gt;')}</title>" in svg
    assert "<title>web: read: 200</title>" in svg
    assert re.match(r'<svg [^>]*viewBox="0 0 792 [0-9.]+"', svg)
    assert " width=" not in svg[: svg.index(">")]


def test_count_axes_have_thousands_separators_and_legends_cover_no_bar() -> None:
    from dolmakit.audit import charts
    from dolmakit.audit.card import chart_figures

    tokens = _drawn(charts.bar_chart(["a", "b"], {"tokens": [120_000.0, 5_000.0]}, title="t"))
    assert "120,000" in [t.get_text() for t in tokens.axes[0].get_yticklabels()]
    figures = dict(chart_figures(sample_card()))
    for caption, fig in figures.items():
        assert fig.get_figwidth() == charts.WIDTH, caption  # the page's content width
        _drawn(fig)
        for legend in fig.legends:
            box = legend.get_window_extent()
            for ax in fig.axes:
                assert not box.overlaps(ax.get_window_extent()), caption
    languages = figures["Output tokens per language and source"]
    assert languages.legends and not languages.axes[0].get_legend()
