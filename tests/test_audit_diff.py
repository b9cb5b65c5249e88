"""`audit sources` and `audit diff` on two real versions of a small mix."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from test_audit_helpers import SEED, WEB_DOCS, Mixes, build_mixes, lang_en
from test_audit_trace import shard_rows, unit

from dolmakit.audit.diff import diff_mixes
from dolmakit.audit.sources import mix_sources
from dolmakit.cli.main import cli

WEB = "documents/web/part-0.jsonl.zst"


@pytest.fixture(scope="module")
def mixes(tmp_path_factory: pytest.TempPathFactory) -> Mixes:
    return build_mixes(tmp_path_factory.mktemp("audit-diff"))


def kept_web(threshold: float, rate: float) -> set[str]:
    """Web ids in a version: language passes, not w5 (the near-copy), sampled."""
    return {
        f"w{i}"
        for i in range(WEB_DOCS)
        if lang_en(i) >= threshold and i != 5 and unit(SEED, "web", f"w{i}") < rate
    }


def test_sources_json_matches_the_manifest_and_the_shards(mixes: Mixes) -> None:
    result = CliRunner().invoke(cli, ["audit", "sources", str(mixes.v1), "--json"])
    assert result.exit_code == 0
    rows = {r["name"]: r for r in json.loads(result.output)}
    assert list(rows) == ["web", "books"]
    web, books = rows["web"], rows["books"]
    # by construction: 9 web documents fail the language clause, w5 the duplicate clause
    assert web["read"] == 24
    assert [(c["clause"], c["documents"]) for c in web["rejected_by_clause"]] == [
        ("lang.en >= 0.3", 9),
        ("not minhash.duplicate", 1),
    ]
    assert web["passed"] == 14 and web["duplicates_removed"] == 1
    assert web["declared_share"] is None and web["rate"] == 0.6
    assert web["sampled"] == len(kept_web(0.3, 0.6)) == web["documents"]
    assert web["not_sampled"] == 14 - web["sampled"]
    assert [s["documents"] for s in web["funnel"]] == [24, 15, 14, web["sampled"], web["sampled"]]
    assert books["read"] == books["passed"] == books["sampled"] == 8
    # emitted documents and tokens, counted in the shards (whitespace tokenizer)
    out = [d for _, _, d in shard_rows(mixes.v1)]
    for name, row in rows.items():
        mine = [d for d in out if d["metadata"]["provenance"]["source"] == name]
        assert row["documents"] == len(mine)
        assert row["tokens"] == sum(len(d["text"].split()) for d in mine)
        assert row["repeated"] == len(
            {d["id"] for d in mine if d["metadata"]["provenance"]["repeat"] > 0}
        )
    total = sum(len(d["text"].split()) for d in out)
    assert web["realised_share"] == pytest.approx(web["tokens"] / total)
    manifest = json.loads((mixes.v1 / "manifest.json").read_text())
    assert books["declared_share"] == manifest["sources"][1]["declared_share"]
    assert books["input_files"] == 1


def test_sources_table(mixes: Mixes) -> None:
    result = CliRunner().invoke(cli, ["audit", "sources", str(mixes.v1)])
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert lines[0].split() == [
        "source",
        "declared",
        "realised",
        "documents",
        "tokens",
        "repeated",
        "files",
    ]
    assert lines[1].split()[:3] == ["web", "rate", "0.6"]
    assert "  passes not minhash.duplicate" in result.output
    rows = mix_sources(mixes.v1)
    assert lines[3].split()[:1] == ["total"]
    assert lines[3].split()[1:3] == ["100.00%", f"{sum(r.documents for r in rows):,}"]


def test_diff_of_two_versions(mixes: Mixes) -> None:
    diff = diff_mixes(mixes.v1, mixes.v2)
    assert [(c.field, c.before, c.after) for c in diff.spec] == [
        (
            "sources[web].filter",
            "lang.en >= 0.3 and not minhash.duplicate",
            "lang.en >= 0.5 and not minhash.duplicate",
        ),
        ("sources[web].rate", 0.6, 0.85),
        ("version", "1", "2"),
    ]

    def keys(mix: Path) -> dict[tuple[str, str, str], int]:
        out: dict[tuple[str, str, str], int] = {}
        for _, _, d in shard_rows(mix):
            p = d["metadata"]["provenance"]
            key = (p["source"], p["path"], d["id"])
            out[key] = out.get(key, 0) + 1
        return out

    a, b = keys(mixes.v1), keys(mixes.v2)
    added = sorted(set(b) - set(a))
    removed = sorted(set(a) - set(b))
    # the web part, worked out from the construction
    v1, v2 = kept_web(0.3, 0.6), kept_web(0.5, 0.85)
    assert {k[2] for k in added} == v2 - v1 and added
    assert {k[2] for k in removed} == v1 - v2 and removed
    assert (diff.added, diff.removed) == (len(added), len(removed))
    assert diff.added_examples == added[:5]
    assert diff.removed_examples == removed[:5]
    common = set(a) & set(b)
    assert diff.kept == len(common)
    assert diff.recopied == sum(1 for k in common if a[k] != b[k])
    web = next(s for s in diff.sources if s.name == "web")
    assert web.before is not None and web.after is not None
    assert (web.before.documents, web.after.documents) == (len(v1), len(v2))


def test_diff_command_output(mixes: Mixes) -> None:
    result = CliRunner().invoke(cli, ["audit", "diff", str(mixes.v1), str(mixes.v2)])
    assert result.exit_code == 0
    text = result.output
    assert text.startswith("toy v1 -> toy v2\n")
    assert "  sources[web].rate: 0.6 -> 0.85\n" in text
    v1, v2 = kept_web(0.3, 0.6), kept_web(0.5, 0.85)
    assert f"  web: documents {len(v1)} -> {len(v2)} ({len(v2) - len(v1):+d})," in text
    first_added = sorted(v2 - v1)[0]
    assert f"  added: {first_added}  (web, {WEB})\n" in text
    same = CliRunner().invoke(cli, ["audit", "diff", str(mixes.v1), str(mixes.v1)])
    assert "spec:\n  identical\n" in same.output
    assert "0 added, 0 removed" in same.output
