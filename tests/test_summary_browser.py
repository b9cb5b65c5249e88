"""The public summary's HTML loads in headless Chromium with a clean console."""

from __future__ import annotations

from pathlib import Path

from test_card_browser import pytestmark, render  # noqa: F401 - skips without Chromium


def test_the_summary_page_renders_cleanly(tmp_path: Path) -> None:
    from test_audit_helpers import build_mixes

    from dolmakit.audit.summary import build_summary, load_provider
    from dolmakit.audit.summary_render import write_summary

    mixes = build_mixes(tmp_path / "mix")
    summary = build_summary([mixes.v1, mixes.v2], load_provider(None))
    page = next(p for p in write_summary(summary, tmp_path / "out") if p.suffix == ".html")
    shots, problems = render(page, tmp_path / "profile")
    assert problems == [] and shots == []  # text and tables only, no chart to draw
    assert "toy" in page.read_text() and "MISSING" in page.read_text()
