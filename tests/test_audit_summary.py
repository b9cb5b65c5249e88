"""dolmakit audit summary and the licence checks, on a fixture whose numbers are worked by hand.

`web` (rate 1, every document once): 13 pages; page k (0..11) has k + 1 words "w" (2k + 1
bytes) at https://www.site<k>.co.uk/p, created 2024-01-(k+1); page 12 has 2 words and a URL
that does not parse. Tokens 78 + 2 = 80; 12 domains, 144 bytes; the top 10% is ceil(1.2) = 2
domains: site11.co.uk (23 bytes) and site10.co.uk (21). `books`: 3 documents of 10 words
created 2019-05-01 (de, de, fr), the fr one under its own CC0-1.0. All added 2025-01-01.
Total 110 tokens: web 80/110, books 30/110 (over 3%: named); en 80, de 20, fr 10.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from test_mix_helpers import make_source, write_spec

from dolmakit.audit.summary import build_summary, load_provider, registered_domain, text_range
from dolmakit.cli.main import cli
from dolmakit.errors import ConfigError
from dolmakit.mix import build_mix
from dolmakit.run.options import RunOptions

pytest.importorskip("tldextract")
pytest.importorskip("license_expression")


def web() -> list[dict[str, Any]]:
    docs = [
        {
            "id": f"p{k}",
            "text": " ".join(["w"] * (k + 1)),
            "created": f"2024-01-{k + 1:02d}",
            "added": "2025-01-01",
            "metadata": {"lang": "en", "url": f"https://www.site{k}.co.uk/p"},
        }
        for k in range(12)
    ]
    docs.append(
        {
            "id": "p12",
            "text": "w w",
            "created": "2024-01-13",
            "added": "2025-01-01",
            "metadata": {"lang": "en", "url": "http://[::1"},
        }
    )
    return docs


def books() -> list[dict[str, Any]]:
    return [
        {
            "id": f"b{i}",
            "text": " ".join(["b"] * 10),
            "created": "2019-05-01",
            "added": "2025-01-01",
            "metadata": {"lang": lang, **({"license": "CC0-1.0"} if lang == "fr" else {})},
        }
        for i, lang in enumerate(["de", "de", "fr"])
    ]


def spec(**changes: Any) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": "sum",
        "version": 1,
        "seed": 1,
        "tokenizer": "whitespace",
        "sources": [
            {"name": "web", "documents": ["documents/web/*"], "rate": 1.0, "licence": "CC-BY-4.0"},
            {
                "name": "books",
                "documents": ["documents/books/*"],
                "rate": 1.0,
                "licence": "LicenseRef-public-domain",
            },
        ],
    }
    out.update(changes)
    return out


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("summary")
    make_source(root / "data", "web", web())
    make_source(root / "data", "books", books())
    path = write_spec(root / "sum.yaml", spec())
    return build_mix(
        path, data_root=root / "data", output=root / "mixes", run_options=RunOptions(progress=False)
    ).mix_dir


def test_the_summary_matches_the_hand_computed_values(built: Path) -> None:
    found = build_summary([built], load_provider(None))
    assert found["size"]["text"] == {
        "tokens": 110,
        "documents": 16,
        "range": "Less than 1 billion tokens",
    }
    assert [(r["language"], r["tokens"]) for r in found["languages"]] == [
        ("en", 80),
        ("de", 20),
        ("fr", 10),
    ]
    assert found["languages"][0]["share"] == pytest.approx(80 / 110)
    crawled = found["sources"]["crawled"]
    assert [(s["name"], s["tokens"]) for s in crawled] == [("web", 80)]
    assert crawled[0]["share"] == pytest.approx(80 / 110)
    assert crawled[0]["licences"] == {"CC-BY-4.0": 1.0}
    named = found["sources"]["public_datasets"]["named"]
    assert [s["name"] for s in named] == ["books"]
    assert named[0]["licences"] == pytest.approx(
        {"LicenseRef-public-domain": 2 / 3, "CC0-1.0": 1 / 3}
    )
    domains = found["domains"]
    assert (domains["domains"], domains["bytes"], domains["unparseable_urls"]) == (12, 144, 1)
    assert [(d["domain"], d["bytes"]) for d in domains["top"]] == [
        ("site11.co.uk", 23),
        ("site10.co.uk", 21),
    ]
    assert found["period"] == {
        "added": {"first": "2025-01-01", "last": "2025-01-01"},
        "created": {"first": "2019-05-01", "last": "2024-01-13"},
    }


def test_missing_provider_fields_are_listed_never_invented(built: Path, tmp_path: Path) -> None:
    provider = tmp_path / "provider.yaml"
    provider.write_text("provider: Acme AI\ncontact: ''\nmodels: [acme-1]\n")
    result = CliRunner().invoke(
        cli,
        ["audit", "summary", str(built), "--provider", str(provider), "--out", str(tmp_path / "s")],
    )
    assert result.exit_code == 0, result.output
    assert result.output.endswith(
        "missing provider fields: contact, authorised_representative, market_date, crawler\n"
    )
    data = json.loads((tmp_path / "s" / "summary.json").read_text())
    assert data["provider"]["provider"] == "Acme AI" and data["provider"]["contact"] == ""
    markdown = (tmp_path / "s" / "summary.md").read_text()
    assert "- contact: MISSING" in markdown and "| site11.co.uk | 23 | 16.0% |" in markdown
    assert "<h2>2.2 Data crawled from the web</h2>" in (tmp_path / "s" / "summary.html").read_text()


def summary_files(mix: Path, out: Path) -> tuple[dict[str, Any], str, str]:
    result = CliRunner().invoke(cli, ["audit", "summary", str(mix), "--out", str(out)])
    assert result.exit_code == 0, result.output
    return (
        json.loads((out / "summary.json").read_text()),
        (out / "summary.md").read_text(),
        (out / "summary.html").read_text(),
    )


def test_the_summary_names_the_signing_key_or_says_not_signed(built: Path, tmp_path: Path) -> None:
    pytest.importorskip("cryptography")
    import shutil

    from dolmakit.audit.sign import generate_key, sign_mix

    mix = tmp_path / "mix"
    shutil.copytree(built, mix)
    data, markdown, html = summary_files(mix, tmp_path / "unsigned")
    assert data["mixes"][0]["signature"] == {
        "signed": False,
        "key_fingerprint": None,
        "note": "not signed (dolmakit audit sign)",
    }
    head = "| mix | version | documents | tokens | content sha256 | signing key |"
    assert head in markdown
    assert f"| {data['mixes'][0]['content_sha256']} | not signed |" in markdown
    assert "<th>signing key</th>" in html and "<td>not signed</td>" in html
    fingerprint = generate_key(tmp_path / "keys" / "k.key")
    sign_mix(mix, tmp_path / "keys" / "k.key")
    data, markdown, html = summary_files(mix, tmp_path / "signed")
    assert data["mixes"][0]["signature"] == {
        "signed": True,
        "key_fingerprint": fingerprint,
        "note": "signed",
    }
    assert f"| {data['mixes'][0]['content_sha256']} | {fingerprint} |" in markdown
    assert f"<td>{fingerprint}</td>" in html
    signature = json.loads((mix / "manifest.sig").read_text())
    signature["content_sha256"] = "0" * 64  # a signature of other content does not count
    (mix / "manifest.sig").write_text(json.dumps(signature))
    data, markdown, _ = summary_files(mix, tmp_path / "stale")
    assert data["mixes"][0]["signature"]["signed"] is False
    assert "another content hash" in data["mixes"][0]["signature"]["note"]
    assert "| not signed |" in markdown


def test_a_provider_file_with_an_unknown_key_is_refused(tmp_path: Path) -> None:
    provider = tmp_path / "provider.yaml"
    provider.write_text("provider: Acme\nceo: someone\n")
    with pytest.raises(
        ConfigError, match=r"provider.yaml: unknown key 'ceo' \(known keys: provider,"
    ):
        load_provider(provider)


@pytest.mark.parametrize(
    ("url", "domain"),
    [
        ("https://forums.news.bbc.co.uk/a?b=c", "bbc.co.uk"),
        ("http://user@a.b.github.io:8080/", "github.io"),
        ("https://192.0.2.1/x", "192.0.2.1"),
        ("not a url", None),
        ("http://[::1", None),
    ],
)
def test_registered_domains_use_the_bundled_suffix_list(url: str, domain: str | None) -> None:
    assert registered_domain(url) == domain


def test_text_ranges() -> None:
    assert text_range(10**9 - 1) == "Less than 1 billion tokens"
    assert text_range(10**9) == "1 billion to 10 trillion tokens"
    assert text_range(10**13) == "More than 10 trillion tokens"


def mix_with(tmp_path: Path, **changes: Any) -> Any:
    make_source(tmp_path / "data", "web", web())
    make_source(tmp_path / "data", "books", books())
    path = write_spec(tmp_path / "spec.yaml", spec(**changes))
    return build_mix(
        path,
        data_root=tmp_path / "data",
        output=tmp_path / "mixes",
        run_options=RunOptions(progress=False),
    )


def test_an_invalid_spdx_expression_is_one_line_naming_the_field(tmp_path: Path) -> None:
    sources = spec()["sources"]
    sources[0]["licence"] = "(MIT"
    with pytest.raises(ConfigError) as caught:
        mix_with(tmp_path, sources=sources)
    message = str(caught.value)
    assert message.startswith(f"{tmp_path / 'spec.yaml'}:") and "licence '(MIT'" in message
    assert "not an SPDX expression" in message and "\n" not in message


def test_unknown_share_alike_and_non_commercial_licences_warn(tmp_path: Path) -> None:
    sources = spec()["sources"]
    sources[0]["licence"] = "CC-BY-NC-SA-4.0 OR Acme-1"
    result = mix_with(tmp_path, sources=sources)
    assert [w for w in result.warnings if "web" in w] == [
        "source web: licence 'CC-BY-NC-SA-4.0 OR Acme-1' has non-commercial terms",
        "source web: licence 'CC-BY-NC-SA-4.0 OR Acme-1' has share-alike terms",
        "source web: licence 'CC-BY-NC-SA-4.0 OR Acme-1': unknown SPDX identifier 'Acme-1'",
    ]


def test_allowed_licences_refuse_a_source_and_a_document(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"names CC-BY-4.0, not in allowed_licences \(MIT\)"):
        mix_with(tmp_path / "a", allowed_licences=["MIT"])
    allowed = ["CC-BY-4.0", "LicenseRef-public-domain"]
    with pytest.raises(ConfigError, match=r"1 documents with metadata.license 'CC0-1.0' naming"):
        mix_with(tmp_path / "b", allowed_licences=allowed)
    built = mix_with(tmp_path / "c", allowed_licences=[*allowed, "CC0-1.0"])
    assert built.manifest.spec["allowed_licences"] == [*allowed, "CC0-1.0"]


def test_a_market_date_written_as_a_yaml_date_is_kept_as_text(built: Path, tmp_path: Path) -> None:
    provider = tmp_path / "provider.yaml"
    provider.write_text(
        "provider: Acme\nmarket_date: 2027-01-01\nmodels: [{name: a, since: 2026-05-02}]\n"
    )
    loaded = load_provider(provider)
    assert loaded.values["market_date"] == "2027-01-01"
    assert loaded.values["models"] == [{"name": "a", "since": "2026-05-02"}]
    result = CliRunner().invoke(
        cli,
        ["audit", "summary", str(built), "--provider", str(provider), "--out", str(tmp_path / "s")],
    )
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "s" / "summary.json").read_text())["provider"]["market_date"] == (
        "2027-01-01"
    )


def test_a_summary_over_two_mixes_adds_them_up(built: Path, tmp_path: Path) -> None:
    # a "mid-training" mix of the same books only: 30 more tokens (de 20, fr 10)
    only_books = spec(name="mid", sources=[spec()["sources"][1]])
    data = built.parent.parent.parent / "data"
    path = write_spec(tmp_path / "mid.yaml", only_books)
    mid = build_mix(
        path, data_root=data, output=tmp_path / "mixes", run_options=RunOptions(progress=False)
    ).mix_dir
    found = build_summary([built, mid], load_provider(None))
    assert [m["name"] for m in found["mixes"]] == ["sum", "mid"]
    assert found["size"]["text"]["tokens"] == 140
    assert [(r["language"], r["tokens"]) for r in found["languages"]] == [
        ("en", 80),
        ("de", 40),
        ("fr", 20),
    ]
    named = found["sources"]["public_datasets"]["named"]
    assert [(s["mix"], s["name"], s["tokens"]) for s in named] == [
        ("sum v1", "books", 30),
        ("mid v1", "books", 30),
    ]
    assert named[1]["share"] == pytest.approx(30 / 140)
    assert found["sources"]["crawled"][0]["share"] == pytest.approx(80 / 140)
