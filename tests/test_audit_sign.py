"""A signed mix edited with every hash recomputed fails `audit verify --public-key`."""

from __future__ import annotations

import hashlib
import json
import stat
from pathlib import Path

import pytest
import zstandard
from click.testing import CliRunner
from test_mix_helpers import make_source, words, write_spec

from dolmakit.cli.main import cli
from dolmakit.mix import build_mix
from dolmakit.mix.manifest import content_hash, spec_hash
from dolmakit.run.backends import SerialBackend
from dolmakit.run.options import RunOptions

pytest.importorskip("cryptography")


def make_mix(tmp_path: Path) -> Path:
    docs = [{"id": f"d{i}", "text": words(12 + i, "hello")} for i in range(20)]
    make_source(tmp_path, "web", docs, {})
    spec = {
        "name": "signed",
        "version": 1,
        "seed": 7,
        "tokenizer": "whitespace",
        "sources": [{"name": "web", "documents": "documents/web/*.jsonl.zst", "weight": 1.0}],
    }
    path = write_spec(tmp_path / "mix.yaml", spec)
    result = build_mix(
        path,
        data_root=tmp_path,
        output=tmp_path / "mixes",
        run_options=RunOptions(backend=SerialBackend(), progress=False),
    )
    return result.mix_dir


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.output


@pytest.fixture
def signed(tmp_path: Path) -> tuple[Path, Path]:
    mix = make_mix(tmp_path)
    key = tmp_path / "keys" / "mix.key"
    code, out = invoke("audit", "keygen", str(key))
    assert code == 0, out
    assert "SHA256:" in out
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    code, out = invoke("audit", "sign", str(mix), "--key", str(key))
    assert code == 0, out
    return mix, key


def test_a_signed_mix_verifies_with_its_public_key(signed: tuple[Path, Path]) -> None:
    mix, key = signed
    code, out = invoke("audit", "verify", str(mix), "--public-key", f"{key}.pub")
    assert code == 0, out
    assert "signature of SHA256:" in out


def forge(mix: Path, edit: str) -> None:
    """Edit the mix and recompute every hash the manifest holds, as a careful forger would."""
    manifest_path = mix / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    if edit == "licence":
        manifest["spec"]["sources"][0]["license"] = "CC0-1.0"
        manifest["spec_sha256"] = spec_hash(manifest["spec"])
    elif edit == "share":
        manifest["sources"][0]["realised_share"] = 0.5
    elif edit == "shard":
        record = manifest["shards"][0]
        shard = mix / record["path"]
        with zstandard.ZstdDecompressor().stream_reader(shard.read_bytes()) as reader:
            text = reader.read().replace(b"hello1", b"howdy1", 1)
        data = zstandard.compress(text)
        shard.write_bytes(data)
        record["sha256"] = hashlib.sha256(data).hexdigest()
        record["bytes"] = len(data)
    manifest["content_sha256"] = content_hash(manifest)
    manifest_path.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")


@pytest.mark.parametrize("edit", ["licence", "share", "shard"])
def test_an_edit_with_every_hash_recomputed_passes_verify_but_not_the_signature(
    signed: tuple[Path, Path], edit: str
) -> None:
    mix, key = signed
    forge(mix, edit)
    code, out = invoke("audit", "verify", str(mix))
    assert code == 0, out  # the forgery is consistent with itself ...
    code, out = invoke("audit", "verify", str(mix), "--public-key", f"{key}.pub")
    assert code == 1  # ... but not with the signature
    assert "manifest.sig: the manifest's content changed since it was signed" in out


def test_another_key_is_named(signed: tuple[Path, Path], tmp_path: Path) -> None:
    mix, _ = signed
    other = tmp_path / "other.key"
    invoke("audit", "keygen", str(other))
    code, out = invoke("audit", "verify", str(mix), "--public-key", f"{other}.pub")
    assert code == 1
    assert "signed by key SHA256:" in out and "(the key given)" in out


def test_an_unsigned_mix_fails_when_a_signature_is_required(tmp_path: Path) -> None:
    mix = make_mix(tmp_path)
    invoke("audit", "keygen", str(tmp_path / "k.key"))
    code, out = invoke("audit", "verify", str(mix), "--public-key", str(tmp_path / "k.key.pub"))
    assert code == 1
    assert "the mix is not signed" in out


def test_keys_are_never_written_into_a_mix(tmp_path: Path) -> None:
    mix = make_mix(tmp_path)
    code, out = invoke("audit", "keygen", str(mix / "key"))
    assert code != 0
    assert "keep keys out of the data you publish" in out
    assert not (mix / "key").exists()


def test_a_key_is_not_overwritten(tmp_path: Path) -> None:
    key = tmp_path / "k.key"
    invoke("audit", "keygen", str(key))
    before = key.read_bytes()
    code, out = invoke("audit", "keygen", str(key))
    assert code != 0 and "exists; pass --force" in out
    assert key.read_bytes() == before


def test_a_bad_key_file_is_one_line(tmp_path: Path) -> None:
    mix = make_mix(tmp_path)
    bad = tmp_path / "bad.key"
    bad.write_text("not a key")
    code, out = invoke("audit", "sign", str(mix), "--key", str(bad))
    assert code != 0
    assert out.startswith(f"Error: {bad}: not an unencrypted PEM private key")
    assert "Traceback" not in out


def test_the_card_shows_the_signing_key(signed: tuple[Path, Path]) -> None:
    from dolmakit.audit.card_data import render_card
    from dolmakit.audit.sign import read_signature

    mix, _ = signed
    signature = read_signature(mix)
    assert signature is not None
    markdown, html = render_card(mix)
    assert f"Ed25519 key {signature.key_fingerprint}" in markdown.read_text()
    assert signature.key_fingerprint in html.read_text()
    code, out = invoke("audit", "verify", str(mix))
    assert code == 0, out  # the card files are not extra files


def test_an_unsigned_card_says_so(tmp_path: Path) -> None:
    from dolmakit.audit.card_data import render_card

    markdown, _ = render_card(make_mix(tmp_path))
    assert "not signed (dolmakit audit sign)" in markdown.read_text()
