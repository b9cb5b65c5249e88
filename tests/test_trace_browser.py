"""The trace page in headless Chromium: paste an output, see its spans, list their documents.

`dolmakit trace MIX --serve` runs as a subprocess on a free loopback port; Chromium is driven
over its DevTools pipe (the card test's `Browser`) with real key and mouse input.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from test_card_browser import CHROMIUM, Browser

from dolmakit.io.reader import read_documents
from dolmakit.run.options import RunOptions

pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="chromium is not installed (scripts/ensure_chromium.sh installs it)"
)
pytest.importorskip("pydivsufsort")
pytest.importorskip("starlette")
pytest.importorskip("uvicorn")


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def passage_of(text: str, words: int = 9) -> str:
    """Return the first `words` words of the document's longest line."""
    line = max(text.split("\n"), key=lambda s: len(s.split()))
    chosen = line.split()[:words]
    while chosen and not chosen[-1][-1].isalnum():
        chosen.pop()
    while chosen and not chosen[0][0].isalnum():
        chosen.pop(0)
    return " ".join(chosen)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from test_trace_index import make_mix

    from dolmakit.trace import build_index

    mix_dir = make_mix(tmp_path_factory.mktemp("page"))
    build_index(mix_dir, run_options=RunOptions(progress=False))
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "dolmakit", "trace", str(mix_dir), "--serve", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(url + "api/info", timeout=2) as reply:
                json.loads(reply.read())
            break
        except OSError:
            if time.monotonic() > deadline or proc.poll() is not None:
                proc.kill()
                raise RuntimeError(f"the server did not start: {proc.communicate()[0]!r}") from None
            time.sleep(0.2)
    try:
        yield mix_dir, url
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def evaluate(browser: Browser, session: str, expression: str) -> Any:
    reply = browser.call("Runtime.evaluate", session, expression=expression, returnByValue=True)
    return reply["result"].get("value")


def wait_until(browser: Browser, session: str, expression: str, timeout: float = 30) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = evaluate(browser, session, expression)
        if value:
            return value
        time.sleep(0.1)
    raise TimeoutError(f"never true: {expression}")


def click(browser: Browser, session: str, selector: str) -> None:
    """Click the centre of the first element matching `selector` with the mouse."""
    box = evaluate(
        browser,
        session,
        f"""(() => {{ const e = document.querySelector({json.dumps(selector)});
            e.scrollIntoView({{block: "center"}}); const r = e.getClientRects()[0];
            return [r.left + r.width / 2, r.top + r.height / 2]; }})()""",
    )
    for kind in ("mousePressed", "mouseReleased"):
        browser.call(
            "Input.dispatchMouseEvent",
            session,
            type=kind,
            x=box[0],
            y=box[1],
            button="left",
            clickCount=1,
        )


def test_the_page_highlights_spans_and_lists_their_documents(served: Any, tmp_path: Path) -> None:
    mix_dir, url = served
    docs = [doc for shard in sorted(mix_dir.glob("shard-*")) for _, doc in read_documents(shard)]
    first = next(d for d in docs if len(passage_of(d.text).split()) >= 8)
    second = next(d for d in reversed(docs) if len(passage_of(d.text).split()) >= 8)
    one, two = passage_of(first.text), passage_of(second.text)
    output = f"Qxv7aa brp3ii {one} zzk9oo.\nThen vrm4ee: {two} tlk2uu"

    browser = Browser(tmp_path / "profile")
    try:
        target = browser.call("Target.createTarget", url="about:blank")["targetId"]
        session = browser.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        for domain in ("Page", "Runtime", "Log"):
            browser.call(f"{domain}.enable", session)
        browser.call(
            "Emulation.setDeviceMetricsOverride",
            session,
            width=1300,
            height=900,
            deviceScaleFactor=1,
            mobile=False,
        )
        browser.call("Page.navigate", session, url=url)
        browser.wait_for("Page.loadEventFired")
        wait_until(browser, session, "document.getElementById('mix').textContent.includes('t v1')")
        click(browser, session, "#output")
        browser.call("Input.insertText", session, text=output)
        click(browser, session, "#trace")
        wait_until(browser, session, "document.querySelectorAll('#marked mark').length >= 2")
        marks = evaluate(
            browser,
            session,
            "[...document.querySelectorAll('#marked mark')].map(m => m.textContent)",
        )
        assert marks == [one, two]
        assert evaluate(browser, session, "document.getElementById('marked').textContent") == output

        click(browser, session, "#marked mark:nth-of-type(2)")
        wait_until(browser, session, "document.querySelectorAll('#spans li').length > 0")
        listed = evaluate(
            browser, session, "[...document.querySelectorAll('#spans li')].map(li => li.dataset.id)"
        )
        assert second.id in listed
        holders = {d.id for d in docs if two in d.text}
        assert set(listed) == holders
        assert "Span 2" in evaluate(
            browser, session, "document.querySelector('#spans h2').textContent"
        )

        click(browser, session, "#spans li")
        wait_until(browser, session, "document.getElementById('doc').className === 'open'")
        shown = evaluate(browser, session, "document.getElementById('doctext').textContent")
        assert evaluate(browser, session, "document.querySelector('#doctext b').textContent") == two
        provenance = evaluate(browser, session, "document.getElementById('prov').textContent")
        opened = next(d for d in docs if d.id == listed[0])
        assert shown == opened.text
        assert opened.metadata is not None
        origin = opened.metadata["provenance"]
        assert f"{origin['path']}:{origin['line']}" in provenance
        assert f"dolmakit audit where {mix_dir} {origin['path']}:{origin['line']}" in provenance

        evaluate(browser, session, "1")  # drain pending events
        problems = [
            e for e in browser.events if e.get("method") in ("Runtime.exceptionThrown",)
        ] + [
            e
            for e in browser.events
            if e.get("method") == "Log.entryAdded"
            and e["params"]["entry"]["level"] in ("error", "warning")
        ]
        assert problems == []
    finally:
        browser.close()
