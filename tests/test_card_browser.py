"""Render HTML reports in headless Chromium: every chart is drawn, no console errors.

Chromium is driven over its DevTools protocol on a pipe (`--remote-debugging-pipe`: commands
on fd 3, replies on fd 4, NUL-separated JSON), so only the standard library is needed. The
test setup (`scripts/ensure_chromium.sh`, run by `make test`) installs Debian's `chromium`.
"""

from __future__ import annotations

import base64
import contextlib
import io
import json
import os
import select
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

# Debian's /usr/bin/chromium is a shell launcher; start the binary itself so fds 3 and 4 pass.
CHROMIUM = next(
    (p for p in ("/usr/lib/chromium/chromium",) if os.access(p, os.X_OK)),
    shutil.which("chromium") or shutil.which("chromium-browser"),
)
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="chromium is not installed (scripts/ensure_chromium.sh installs it)"
)
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-extensions",
    "--remote-debugging-pipe",
)


class Browser:
    """A headless Chromium driven over the DevTools pipe."""

    def __init__(self, profile: Path) -> None:
        to_browser_r, self._send_fd = os.pipe()
        self._recv_fd, from_browser_w = os.pipe()

        def place_fds() -> None:
            # Move both ends above 4 first, so that placing one cannot clobber the other.
            a, b = os.dup(to_browser_r), os.dup(from_browser_w)
            os.dup2(a, 3)
            os.dup2(b, 4)

        assert CHROMIUM is not None
        self.proc = subprocess.Popen(
            [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", "about:blank"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=open(profile.parent / "chromium.log", "wb"),  # noqa: SIM115
            preexec_fn=place_fds,
            pass_fds=(3, 4),  # keep the two ends placed by place_fds open
        )
        os.close(to_browser_r)
        os.close(from_browser_w)
        self._buffer = b""
        self._next_id = 0
        self.events: list[dict[str, Any]] = []

    def _read_message(self, deadline: float) -> dict[str, Any]:
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("chromium did not answer in time")
            ready, _, _ = select.select([self._recv_fd], [], [], left)
            if ready:
                chunk = os.read(self._recv_fd, 1 << 20)
                if not chunk:
                    raise RuntimeError("chromium closed the DevTools pipe")
                self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message)

    def call(
        self, method: str, session: str | None = None, timeout: float = 30, **params: Any
    ) -> dict[str, Any]:
        """Send one command and return its result; events met on the way are kept."""
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params}
        if session:
            message["sessionId"] = session
        os.write(self._send_fd, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            reply = self._read_message(deadline)
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply["result"]
            self.events.append(reply)

    def wait_for(self, method: str, timeout: float = 30) -> dict[str, Any]:
        """Return the first event called `method` (already received or to come)."""
        for event in self.events:
            if event.get("method") == method:
                return event
        deadline = time.monotonic() + timeout
        while True:
            event = self._read_message(deadline)
            self.events.append(event)
            if event.get("method") == method:
                return event

    def close(self) -> None:
        with contextlib.suppress(RuntimeError, TimeoutError, OSError):
            self.call("Browser.close", timeout=5)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self._send_fd)
        os.close(self._recv_fd)


def render(page: Path, profile: Path) -> tuple[list[bytes], list[str]]:
    """Load `page`; return a PNG screenshot of each `figure.chart` and the console problems."""
    browser = Browser(profile)
    try:
        target = browser.call("Target.createTarget", url="about:blank")["targetId"]
        session = browser.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        for domain in ("Page", "Runtime", "Log"):
            browser.call(f"{domain}.enable", session)
        browser.call(
            "Emulation.setDeviceMetricsOverride",
            session,
            width=1200,
            height=900,
            deviceScaleFactor=1,
            mobile=False,
        )
        browser.call("Page.navigate", session, url=page.resolve().as_uri())
        browser.wait_for("Page.loadEventFired")
        found = browser.call(
            "Runtime.evaluate",
            session,
            returnByValue=True,
            expression="""JSON.stringify([...document.querySelectorAll('figure.chart')].map(e => {
                const r = e.getBoundingClientRect();
                return [r.left + window.scrollX, r.top + window.scrollY, r.width, r.height];
            }))""",
        )
        shots = []
        for x, y, width, height in json.loads(found["result"]["value"]):
            clip = {"x": x, "y": y, "width": max(width, 1), "height": max(height, 1), "scale": 1}
            shot = browser.call(
                "Page.captureScreenshot",
                session,
                format="png",
                clip=clip,
                captureBeyondViewport=True,
            )
            shots.append(base64.b64decode(shot["data"]))
        browser.call("Runtime.evaluate", session, expression="1")  # drain pending events
        problems = []
        for event in browser.events:
            method, params = event.get("method"), event.get("params", {})
            if method == "Runtime.exceptionThrown":
                problems.append(f"exception: {params['exceptionDetails'].get('text')}")
            elif method == "Runtime.consoleAPICalled" and params.get("type") in (
                "error",
                "warning",
                "assert",
            ):
                args = [a.get("value", a.get("description")) for a in params.get("args", [])]
                problems.append(f"console.{params['type']}: {args}")
            elif method == "Log.entryAdded" and params["entry"]["level"] in ("error", "warning"):
                problems.append(f"log {params['entry']['level']}: {params['entry']['text']}")
        return shots, problems
    finally:
        browser.close()


def ink(png: bytes) -> float:
    """Return the fraction of pixels that are not (near) white."""
    from PIL import Image

    image = Image.open(io.BytesIO(png)).convert("L")
    dark = sum(image.histogram()[:235])
    return dark / max(1, image.width * image.height)


def width(png: bytes) -> int:
    """Return the width of a PNG in pixels."""
    from PIL import Image

    return Image.open(io.BytesIO(png)).width


def assert_every_chart_drawn(page: Path, profile: Path, expected: int) -> None:
    """Render `page`: `expected` charts, each with visible ink, and a clean console.

    At 1200 px the page's content is 1100 px wide, and every chart takes all of it.
    """
    shots, problems = render(page, profile)
    assert problems == []
    assert len(shots) == expected
    for i, shot in enumerate(shots):
        assert ink(shot) > 0.01, f"chart {i} of {page.name} looks blank"
        assert width(shot) == 1100, f"chart {i} of {page.name} is not as wide as the page"


BLANK_PAGE = """<!DOCTYPE html><html><head><meta charset="utf-8"></head><body>
<figure class="chart"><svg width="300" height="200"></svg></figure>
<script>console.error("boom")</script></body></html>"""


def test_the_checker_sees_blank_charts_and_console_errors(tmp_path: Path) -> None:
    page = tmp_path / "blank.html"
    page.write_text(BLANK_PAGE)
    shots, problems = render(page, tmp_path / "profile")
    assert len(shots) == 1
    assert ink(shots[0]) < 0.001
    assert problems == ["console.error: ['boom']"]


def test_stats_report_charts_render(tmp_path: Path) -> None:
    from conftest import write_lines

    from dolmakit.audit.stats import compute_stats, write_html

    docs = [{"id": f"d{i}", "text": "x" * (i + 1), "source": "web"} for i in range(6)]
    root = tmp_path / "ds"
    write_lines(root / "documents" / "web" / "a.jsonl", docs)
    write_lines(
        root / "attributes" / "r" / "web" / "a.jsonl",
        [
            {"id": d["id"], "attributes": {"r__q__score": [[0, len(d["text"]), i / 5]]}}
            for i, d in enumerate(docs)
        ],
    )
    page = write_html(compute_stats(root), tmp_path / "stats.html")
    assert_every_chart_drawn(page, tmp_path / "profile", expected=1)


def test_data_card_charts_render(tmp_path: Path) -> None:
    from test_audit_card import sample_card

    from dolmakit.audit.card import render_html

    page = tmp_path / "card.html"
    page.write_text(render_html(sample_card()))
    # shares, tokens, languages, one score histogram, duplicates removed, funnel
    assert_every_chart_drawn(page, tmp_path / "profile", expected=6)


def test_card_of_a_real_mix_renders(tmp_path: Path) -> None:
    from test_audit_helpers import build_mixes

    from dolmakit.audit.card_data import render_card

    mixes = build_mixes(tmp_path / "mix")
    _, page = render_card(mixes.v2, out=tmp_path)
    # shares, tokens, languages, the language-score histogram, duplicates removed, funnel
    assert_every_chart_drawn(page, tmp_path / "profile", expected=6)
