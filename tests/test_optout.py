"""The optout tagger: robots.txt and TDMRep reservations from a snapshot, with their evidence.

Each site of the snapshot is one case; expected decisions and rule lines are read off the
files written here.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from test_mix_helpers import make_source, words, write_spec

from dolmakit.document import Document
from dolmakit.errors import ConfigError
from dolmakit.run.options import RunOptions
from dolmakit.taggers.optout import OptOutTagger
from dolmakit.taggers.rights import load_snapshot, snapshot_record

pytest.importorskip("protego")

ROBOTS = {
    # line 1          line 2            line 3   line 4
    "allow.example": "User-agent: *\nDisallow: /private/\nAllow: /public/\n",
    "gpt.example": "User-agent: GPTBot\nDisallow: /\n\nUser-agent: *\nAllow: /\n",
    "wild.example": "User-agent: *\nDisallow: /*.pdf$\n",
    "delay.example": "User-agent: *\nCrawl-delay: 10\n",
    "bad.example": "<html><body>Not found</body></html>\n",
    "garbled.example": "User-agent: *\nDisallow /everything\n",
}
TDMREP = [
    {"location": "/news/*", "tdm-reservation": 1, "tdm-policy": "https://tdm.example/p.json"},
    {"location": "/", "tdm-reservation": 0},
]


def write_snapshot(root: Path) -> Path:
    for host, text in ROBOTS.items():
        (root / host).mkdir(parents=True)
        (root / host / "robots.txt").write_text(text)
        (root / host / "fetched.txt").write_text("2026-11-30\n")
    (root / "tdm.example").mkdir()
    (root / "tdm.example" / "tdmrep.json").write_text(json.dumps(TDMREP))
    (root / "tdm.example" / "fetched.txt").write_text("2026-11-29")
    (root / "header.example").mkdir()
    (root / "header.example" / "headers.json").write_text('{"TDM-Reservation": "1"}')
    (root / "header.example" / "fetched.txt").write_text("2026-11-28")
    (root / "badtdm.example").mkdir()
    (root / "badtdm.example" / "tdmrep.json").write_text("[{oops")
    (root / "badtdm.example" / "fetched.txt").write_text("2026-11-28")
    return root


@pytest.fixture(scope="module")
def snapshot(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_snapshot(tmp_path_factory.mktemp("snapshot"))


def tag(tagger: OptOutTagger, url: str | None) -> dict[str, float]:
    meta = {"url": url} if url is not None else {}
    (result,) = tagger.tag_batch([Document(id="d", text="some text", metadata=meta)])
    return {key: spans[0].score for key, spans in result.items()}


def sha13(text: str) -> float:
    return float(int(hashlib.sha256(text.encode()).hexdigest()[:13], 16))


@pytest.fixture(scope="module")
def tagger(snapshot: Path) -> OptOutTagger:
    return OptOutTagger(str(snapshot), agents="CCBot,GPTBot")


def test_allowed_names_the_allowing_rule_and_the_file(tagger: OptOutTagger) -> None:
    values = tag(tagger, "https://allow.example/public/page.html")
    assert values == {
        "allowed": 1.0,
        "disallowed_ccbot": 0.0,
        "disallowed_gptbot": 0.0,
        "robots_line_ccbot": 3.0,
        "robots_line_gptbot": 3.0,
        "robots_sha256": sha13(ROBOTS["allow.example"]),
        "robots_fetched": 20261130.0,
    }
    values = tag(tagger, "https://allow.example/private/x")
    assert values["reserved"] == 1.0 and values["robots_line_ccbot"] == 2.0


def test_a_disallow_for_one_agent_reserves_for_that_agent_only(
    tagger: OptOutTagger, snapshot: Path
) -> None:
    values = tag(tagger, "https://GPT.example/any/page")
    assert values["reserved"] == 1.0 and "allowed" not in values
    assert (values["disallowed_gptbot"], values["robots_line_gptbot"]) == (1.0, 2.0)
    assert (values["disallowed_ccbot"], values["robots_line_ccbot"]) == (0.0, 5.0)
    only_cc = OptOutTagger(str(snapshot), agents=["CCBot"])
    assert tag(only_cc, "https://gpt.example/any/page")["allowed"] == 1.0


def test_wildcards_and_end_anchors(tagger: OptOutTagger) -> None:
    assert tag(tagger, "https://wild.example/docs/a.pdf")["reserved"] == 1.0
    assert tag(tagger, "https://wild.example/docs/a.pdf")["robots_line_ccbot"] == 2.0
    assert tag(tagger, "https://wild.example/docs/a.pdf?x=1")["allowed"] == 1.0
    assert tag(tagger, "https://wild.example/docs/a.html")["allowed"] == 1.0


def test_crawl_delay_alone_is_not_a_reservation(tagger: OptOutTagger) -> None:
    values = tag(tagger, "https://delay.example/page")
    assert values["allowed"] == 1.0
    assert values["crawl_delay_ccbot"] == 10.0 and values["crawl_delay_gptbot"] == 10.0
    assert "robots_line_ccbot" not in values


@pytest.mark.parametrize("host", ["bad.example", "garbled.example", "badtdm.example"])
def test_malformed_files_give_unknown_never_an_error(tagger: OptOutTagger, host: str) -> None:
    assert tag(tagger, f"https://{host}/page") == {"unknown": 1.0, "malformed": 1.0}


def test_tdmrep_rules_and_headers(tagger: OptOutTagger) -> None:
    values = tag(tagger, "https://tdm.example/news/today")
    assert values["reserved"] == 1.0
    assert (values["tdm_reserved"], values["tdm_rule"]) == (1.0, 1.0)
    assert values["tdm_sha256"] == sha13(json.dumps(TDMREP))
    assert values["tdm_fetched"] == 20261129.0
    assert "robots_sha256" not in values  # no robots.txt in the snapshot: none on the site
    values = tag(tagger, "https://tdm.example/about")
    assert (values["allowed"], values["tdm_reserved"], values["tdm_rule"]) == (1.0, 0.0, 2.0)
    values = tag(tagger, "https://header.example/anything")
    assert (values["reserved"], values["tdm_rule"]) == (1.0, 0.0)


@pytest.mark.parametrize("url", ["http://[::1", "not a url", "https://"])
def test_unparseable_urls_are_unknown(tagger: OptOutTagger, url: str) -> None:
    assert tag(tagger, url) == {"unknown": 1.0, "bad_url": 1.0}


def test_sites_missing_from_the_snapshot_and_documents_without_url(tagger: OptOutTagger) -> None:
    assert tag(tagger, "https://elsewhere.example/x") == {"unknown": 1.0, "no_snapshot": 1.0}
    assert tag(tagger, None) == {}


def test_the_run_record_counts_malformed_files(snapshot: Path) -> None:
    record = OptOutTagger.run_record({"snapshot": str(snapshot), "agents": "CCBot,GPTBot"})
    assert record["sites"] == 9
    assert (record["robots"], record["robots_malformed"]) == (6, 2)
    assert (record["tdmrep"], record["tdmrep_malformed"], record["headers"]) == (2, 1, 1)
    assert record["fetched"] == {"first": "2026-11-28", "last": "2026-11-30"}
    assert record["agents"] == ["CCBot", "GPTBot"]


def test_a_parquet_snapshot_gives_the_same_decisions(snapshot: Path, tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows: list[dict[str, Any]] = []
    for folder in sorted(p for p in snapshot.iterdir()):
        fetched = (folder / "fetched.txt").read_text().strip()
        for f in sorted(folder.iterdir()):
            if f.name != "fetched.txt":
                rows.append(
                    {
                        "host": folder.name,
                        "file": f.name,
                        "content": f.read_bytes(),
                        "fetched": fetched,
                    }
                )
    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "snap.parquet")
    assert snapshot_record(load_snapshot(tmp_path / "snap.parquet")) == snapshot_record(
        load_snapshot(snapshot)
    )
    from_parquet = OptOutTagger(str(tmp_path / "snap.parquet"))
    from_folder = OptOutTagger(str(snapshot))
    for url in ("https://gpt.example/a", "https://tdm.example/news/x", "https://bad.example/"):
        assert tag(from_parquet, url) == tag(from_folder, url)


def test_bad_snapshots_are_one_line(tmp_path: Path) -> None:
    (tmp_path / "s" / "a.example").mkdir(parents=True)
    with pytest.raises(ConfigError, match=r"a.example: no fetched.txt"):
        load_snapshot(tmp_path / "s")
    (tmp_path / "s" / "a.example" / "fetched.txt").write_text("yesterday")
    with pytest.raises(ConfigError, match=r"fetch date 'yesterday': expected an ISO 8601 date"):
        load_snapshot(tmp_path / "s")
    with pytest.raises(ConfigError, match="no such snapshot"):
        load_snapshot(tmp_path / "missing")


def test_the_mix_filters_on_the_decision_and_the_summary_reports_it(
    snapshot: Path, tmp_path: Path
) -> None:
    from dolmakit.audit.summary import build_summary, load_provider
    from dolmakit.mix import build_mix
    from dolmakit.taggers.recipes import TaggerSpec
    from dolmakit.taggers.stage import tag as run_tag

    urls = [
        "https://allow.example/public/1",
        "https://gpt.example/2",
        "https://wild.example/3.pdf",
        "https://delay.example/4",
        "https://bad.example/5",
        "https://tdm.example/news/6",
        "https://tdm.example/7",
        "not a url",
    ]
    docs = [
        {"id": f"p{i}", "text": words(10 + i), "metadata": {"url": url}}
        for i, url in enumerate(urls)
    ]
    data = tmp_path / "data"
    make_source(data, "web", docs)
    spec = TaggerSpec("optout", {"snapshot": str(snapshot), "agents": "CCBot,GPTBot"})
    run_tag([data / "documents"], "rights", [spec], run_options=RunOptions(progress=False))
    mix_spec = {
        "name": "o",
        "version": 1,
        "seed": 1,
        "tokenizer": "whitespace",
        "sources": [
            {
                "name": "web",
                "documents": ["documents/web/*.jsonl.zst"],
                "attributes": ["rights"],
                "filter": "not optout.reserved and not optout.unknown",
                "rate": 1.0,
            }
        ],
    }
    path = write_spec(tmp_path / "o.yaml", mix_spec)
    result = build_mix(
        path, data_root=data, output=tmp_path / "mixes", run_options=RunOptions(progress=False)
    )
    from test_mix_helpers import read_output

    kept = [d["id"] for d in read_output(result.mix_dir)]
    assert sorted(kept) == ["p0", "p3", "p6"]
    (entry,) = result.manifest.optout or ()
    assert (entry["run"], entry["sites"], entry["robots_malformed"]) == ("rights", 9, 2)
    summary = build_summary([result.mix_dir], load_provider(None))
    lines = summary["processing"]["opt_out"]
    assert any("removed 3 of 8 documents" in line and "optout.reserved" in line for line in lines)
    assert any(
        "user agents CCBot, GPTBot" in line and "3 malformed files" in line for line in lines
    )
