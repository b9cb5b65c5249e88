"""`dolmakit stats`: per-source counts, quantiles and histograms of attributes."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import write_lines
from hypothesis import given, settings
from hypothesis import strategies as st

from dolmakit.audit.stats import ALL_SOURCES, StatsConfig, compute_stats, format_report, sparkline
from dolmakit.cli.main import cli
from dolmakit.errors import DolmakitError, InputError


def doc(i: str, text: str, source: str | None = "web") -> dict[str, Any]:
    out: dict[str, Any] = {"id": i, "text": text}
    if source is not None:
        out["source"] = source
    return out


def build(root: Path, files: dict[str, list[tuple[dict[str, Any], dict[str, Any]]]], run: str):
    """Write documents and the attribute file of `run` for each (document, attributes) list."""
    for rel, rows in files.items():
        write_lines(root / "documents" / rel, [d for d, _ in rows])
        write_lines(
            root / "attributes" / run / rel,
            [{"id": d["id"], "attributes": a} for d, a in rows],
        )
    return root


def whole(d: dict[str, Any], score: float) -> list[list[float]]:
    return [[0, len(d["text"]), score]]


@pytest.fixture
def fixture_dataset(tmp_path: Path) -> Path:
    """Source web: quality 1, 2, 4, 8; source books: quality 10; a span-level key too."""
    web = [doc(f"w{i}", "abcdefgh"[: i + 2]) for i in range(4)]
    books = [doc("b0", "a longer book text", "books")]
    files = {
        "web/0.jsonl.zst": [
            (web[0], {"t__q__score": whole(web[0], 1), "t__p__para": [[0, 1, 0.2], [1, 2, 0.9]]}),
            (web[1], {"t__q__score": whole(web[1], 2), "t__p__para": []}),
        ],
        "web/1.jsonl": [
            (web[2], {"t__q__score": whole(web[2], 4.0), "t__p__para": [[0, 3, 0.4]]}),
            (web[3], {"t__q__score": whole(web[3], 8)}),
        ],
        "books/0.jsonl.gz": [(books[0], {"t__q__score": whole(books[0], 10)})],
    }
    return build(tmp_path / "ds", files, "t")


def by_source(report: Any, key: str) -> dict[str, Any]:
    return {row.source: row for row in report.of(key)}


def test_document_level_quantiles_are_exact(fixture_dataset: Path) -> None:
    report = compute_stats(fixture_dataset)
    assert report.documents == {"books": 1, "web": 4}
    rows = by_source(report, "t__q__score")
    assert rows["web"].document_level
    # Linear interpolation between order statistics of 1, 2, 4, 8 (positions 0..3):
    # p25 at 0.75 -> 1.75; p50 at 1.5 -> 3; p90 at 2.7 -> 4 + 0.7 * 4 = 6.8.
    web = rows["web"].quantiles()
    assert web[0.0] == 1 and web[1.0] == 8
    assert web[0.25] == pytest.approx(1.75)
    assert web[0.5] == pytest.approx(3.0)
    assert web[0.9] == pytest.approx(6.8)
    assert rows["web"].mean == pytest.approx(3.75)
    assert rows["books"].quantiles()[0.5] == 10
    # All sources: 1, 2, 4, 8, 10 (positions 0..4): p50 = 4, p90 at 3.6 -> 8 + 0.6 * 2 = 9.2.
    total = rows[ALL_SOURCES].quantiles()
    assert total[0.5] == pytest.approx(4.0)
    assert total[0.9] == pytest.approx(9.2)
    assert rows[ALL_SOURCES].documents == 5


def test_span_level_key_summarises_counts_and_max(fixture_dataset: Path) -> None:
    report = compute_stats(fixture_dataset)
    web = by_source(report, "t__p__para")["web"]
    assert not web.document_level  # [0, 3] does not cover a 4-character document
    assert web.documents == 3  # the fourth web document has no such key
    assert web.with_spans == 2
    assert web.spans == 3
    assert sorted(web.values.tolist()) == [0.4, 0.9]
    assert "books" not in by_source(report, "t__p__para")


def test_histogram_edges_are_shared_and_count_every_value(fixture_dataset: Path) -> None:
    report = compute_stats(fixture_dataset, StatsConfig(bins=3))
    edges = report.edges("t__q__score")
    assert edges.tolist() == [1.0, 4.0, 7.0, 10.0]
    rows = by_source(report, "t__q__score")
    assert rows["web"].histogram(edges) == [2, 1, 1]  # 1, 2 | 4 | 8
    assert rows["books"].histogram(edges) == [0, 0, 1]  # the last bin is closed
    assert rows[ALL_SOURCES].histogram(edges) == [2, 1, 2]


def test_attribute_filter_and_run_folder(fixture_dataset: Path) -> None:
    extra = [(doc("w0", "ab"), {"u__x__y": [[0, 2, 1]]}), (doc("w1", "abc"), {})]
    build(fixture_dataset, {"web/0.jsonl.zst": extra}, "u")
    everything = compute_stats(fixture_dataset)
    assert everything.runs == ["t", "u"]
    assert everything.key_names() == ["t__p__para", "t__q__score", "u__x__y"]
    only_u = compute_stats(fixture_dataset / "attributes" / "u")
    assert only_u.runs == ["u"] and only_u.key_names() == ["u__x__y"]
    assert only_u.documents == {"web": 2}
    filtered = compute_stats(fixture_dataset, StatsConfig(attributes=("t__q*",)))
    assert filtered.key_names() == ["t__q__score"]


def test_source_falls_back_to_folder(tmp_path: Path) -> None:
    d = doc("x", "hello", source=None)
    root = build(tmp_path / "ds", {"news/a.jsonl": [(d, {"r__k__v": whole(d, 0.5)})]}, "r")
    assert compute_stats(root).documents == {"news": 1}


def test_misaligned_attributes_name_the_file(fixture_dataset: Path) -> None:
    write_lines(
        fixture_dataset / "attributes" / "t" / "web" / "1.jsonl",
        [{"id": "w2", "attributes": {}}, {"id": "zzz", "attributes": {}}],
    )
    with pytest.raises(InputError, match=r"web/1.jsonl:2: id 'zzz' does not match"):
        compute_stats(fixture_dataset)


def test_bad_targets_are_explained(tmp_path: Path) -> None:
    with pytest.raises(DolmakitError, match="no such folder"):
        compute_stats(tmp_path / "missing")
    (tmp_path / "plain").mkdir()
    with pytest.raises(DolmakitError, match="neither a dataset"):
        compute_stats(tmp_path / "plain")
    write_lines(tmp_path / "ds" / "documents" / "a.jsonl", [doc("a", "b")])
    with pytest.raises(DolmakitError, match="no attribute runs"):
        compute_stats(tmp_path / "ds")


def test_sparkline_scales_to_the_largest_bin() -> None:
    assert sparkline([0, 1, 2, 4, 8]) == " ▁▂▄█"
    assert sparkline([0, 0]) == "  "


def test_terminal_report(fixture_dataset: Path) -> None:
    text = format_report(compute_stats(fixture_dataset, StatsConfig(bins=3)))
    assert "documents: books 1, web 4   (total 5)" in text
    assert "t__q__score  (document-level score)" in text
    assert "t__p__para  (spans; value = highest span score)" in text
    assert "  histogram 1 |█▄█| 10  (3 bins, all sources)" in text


def test_cli_writes_html_and_png(fixture_dataset: Path, tmp_path: Path) -> None:
    html = tmp_path / "out" / "stats.html"
    pngs = tmp_path / "png"
    result = CliRunner().invoke(
        cli, ["stats", str(fixture_dataset), "--html", str(html), "--png", str(pngs)]
    )
    assert result.exit_code == 0, result.output
    assert "t__q__score" in result.output
    page = html.read_text()
    assert page.count("<svg") == 2
    assert "<metadata>" not in page and "src=" not in page
    assert all(ref.startswith("#") for ref in re.findall(r'href="([^"]*)"', page))
    files = sorted(p.name for p in pngs.iterdir())
    assert files == ["t__p__para.png", "t__q__score.png"]
    assert (pngs / "t__q__score.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # Same numbers, same bytes.
    again = tmp_path / "again.html"
    CliRunner().invoke(cli, ["stats", str(fixture_dataset), "--html", str(again)])
    assert again.read_bytes() == html.read_bytes()


@settings(max_examples=25, deadline=None)
@given(
    values=st.lists(
        st.floats(min_value=-1e6, max_value=1e6, allow_nan=False), min_size=1, max_size=30
    ),
    cut=st.integers(min_value=0, max_value=30),
)
def test_splitting_files_never_changes_the_numbers(
    tmp_path_factory: pytest.TempPathFactory, values: list[float], cut: int
) -> None:
    root = tmp_path_factory.mktemp("ds")
    docs = [doc(f"d{i}", "text") for i in range(len(values))]
    rows = [(d, {"r__k__v": whole(d, v)}) for d, v in zip(docs, values, strict=True)]
    cut = min(cut, len(rows))
    build(root, {"web/a.jsonl": rows[:cut], "web/b.jsonl": rows[cut:]}, "r")
    row = by_source(compute_stats(root), "r__k__v")["web"]
    assert row.quantiles()[0.5] == pytest.approx(float(np.quantile(values, 0.5)))
    assert row.documents == len(values)
