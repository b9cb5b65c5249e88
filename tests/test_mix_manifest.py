"""The typed manifest: today's files read back byte for byte, and every bad file is one line.

`golden/mix/toy-v1/manifest.json` was written by the mixer before the manifest was typed (the
audit fixture's mix v1, test_audit_helpers): reading it and writing it again must give its
bytes, and building the same mix now must give the same manifest but for when and where.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import msgspec
import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st
from test_audit_helpers import make_dataset, spec
from test_mix_helpers import write_spec

from dolmakit.audit.verify import verify_mix
from dolmakit.cli.main import cli
from dolmakit.mix import build_mix
from dolmakit.mix.manifest import (
    FORMAT,
    MANIFEST_NAME,
    Manifest,
    ManifestError,
    Record,
    content_hash,
    encode_manifest,
    read_manifest,
    spec_hash,
    write_manifest,
)
from dolmakit.run.options import RunOptions

GOLDEN = Path(__file__).parent / "golden" / "mix" / "toy-v1"


def golden() -> Manifest:
    return read_manifest(GOLDEN)


def test_todays_manifest_reads_back_to_its_bytes_and_hashes() -> None:
    m = golden()
    assert encode_manifest(m) == (GOLDEN / MANIFEST_NAME).read_bytes()
    assert content_hash(m) == m.content_sha256
    assert spec_hash(m.spec) == m.spec_sha256
    raw = json.loads((GOLDEN / MANIFEST_NAME).read_text())
    assert content_hash(raw) == m.content_sha256  # the JSON object and the record agree
    web, books = m.sources
    assert (web.name, web.weight, web.rate, web.declared_share) == ("web", None, 0.6, None)
    assert web.funnel.rejected_by_clause == (9, 1) and web.funnel.target_tokens is None
    assert books.rate > 1 and m.rejects.path is None and m.index.path == "index.parquet"


def test_building_the_same_mix_writes_the_same_manifest(tmp_path: Path) -> None:
    data = tmp_path / "data"
    make_dataset(data)
    path = write_spec(tmp_path / "specs" / "toy-v1.yaml", spec(1))
    built = build_mix(
        path, data_root=data, output=tmp_path / "mixes", run_options=RunOptions(progress=False)
    )
    assert (built.mix_dir / MANIFEST_NAME).read_bytes() == encode_manifest(built.manifest)
    old = golden()
    # timing and location are not content; the version of dolmakit is, but may move on.
    # The golden predates licence checks: its free-text licences now add warnings and shares.
    licence_warnings = [w for w in built.manifest.warnings if "SPDX" in w]
    assert licence_warnings == [
        "source books: licence 'public domain': unknown SPDX identifier 'public domain'",
        "source web: licence 'CC BY 4.0': unknown SPDX identifier 'CC BY 4.0'",
    ]
    assert built.manifest.licences is not None
    assert [
        (s.source, [(x.licence, x.share) for x in s.licences]) for s in built.manifest.licences
    ] == [
        ("web", [("CC BY 4.0", 1.0)]),
        ("books", [("public domain", 1.0)]),
    ]
    same = msgspec.structs.replace(
        built.manifest,
        timing=old.timing,
        location=old.location,
        dolmakit_version=old.dolmakit_version,
        licences=None,
        warnings=tuple(w for w in built.manifest.warnings if "SPDX" not in w),
    )
    same = msgspec.structs.replace(same, content_sha256=content_hash(same))
    assert encode_manifest(same) == (GOLDEN / MANIFEST_NAME).read_bytes()


@given(
    share=st.floats(0.0, 1.0),
    rate=st.floats(allow_nan=False, allow_infinity=False),
    seconds=st.floats(0.0, 1e9),
)
def test_numbers_survive_a_write_and_a_read(
    tmp_path_factory: pytest.TempPathFactory, share: float, rate: float, seconds: float
) -> None:
    m = golden()
    source = msgspec.structs.replace(m.sources[0], realised_share=share, rate=rate)
    timing = msgspec.structs.replace(m.timing, seconds=seconds)
    edited = msgspec.structs.replace(m, sources=(source, *m.sources[1:]), timing=timing)
    folder = tmp_path_factory.mktemp("numbers")
    written = write_manifest(folder, edited)
    again = read_manifest(folder)
    assert again == written and again.sources[0].rate == rate
    assert encode_manifest(again) == (folder / MANIFEST_NAME).read_bytes()
    assert content_hash(again) == again.content_sha256


class Signature(Record, frozen=True):
    key: str
    value: str


class SignedManifest(Manifest, frozen=True):
    signature: Signature | None = None


def test_a_new_optional_section_leaves_old_manifests_alone() -> None:
    old = golden()
    fields = {f: getattr(old, f) for f in old.__struct_fields__}
    unsigned = SignedManifest(**fields)
    assert encode_manifest(unsigned) == encode_manifest(old)
    assert content_hash(unsigned) == old.content_sha256
    signed = msgspec.structs.replace(unsigned, signature=Signature(key="k", value="v"))
    assert content_hash(signed) != old.content_sha256
    assert b'"signature": {' in encode_manifest(signed)


# --- one line naming the file and the field -------------------------------------------------


def edited(tmp_path: Path, change: Any) -> Path:
    """Copy the golden manifest into `tmp_path` with `change(obj)` applied to its JSON."""
    obj = json.loads((GOLDEN / MANIFEST_NAME).read_text())
    change(obj)
    (tmp_path / MANIFEST_NAME).write_text(json.dumps(obj, indent=2))
    return tmp_path


def message(folder: Path) -> str:
    with pytest.raises(ManifestError) as caught:
        read_manifest(folder)
    return str(caught.value)


def test_missing_manifest(tmp_path: Path) -> None:
    assert message(tmp_path) == (
        f"{tmp_path}/manifest.json: no manifest: is this a mix folder (built by dolmakit mix)?"
    )


def test_manifest_that_is_not_json(tmp_path: Path) -> None:
    (tmp_path / MANIFEST_NAME).write_bytes(b'{"format": "dolmakit.mix.manifest/1",')
    assert message(tmp_path).startswith(f"{tmp_path}/manifest.json: invalid JSON: ")


def test_json_that_is_not_an_object(tmp_path: Path) -> None:
    (tmp_path / MANIFEST_NAME).write_text("[1, 2]")
    assert message(tmp_path) == (
        f"{tmp_path}/manifest.json: not a dolmakit mix manifest (not a JSON object)"
    )


def test_manifest_of_a_newer_format(tmp_path: Path) -> None:
    folder = edited(tmp_path, lambda m: m.update(format="dolmakit.mix.manifest/2"))
    assert message(folder) == (
        f"{tmp_path}/manifest.json: field format: 'dolmakit.mix.manifest/2' is a manifest"
        f" format this dolmakit does not read (it reads {FORMAT!r}): upgrade dolmakit"
    )


@pytest.mark.parametrize(
    ("change", "field", "problem"),
    [
        (lambda m: m["sources"][0]["funnel"].update(read="40"), "sources[0].funnel.read",
         "expected int, got str"),
        (lambda m: m["totals"].pop("tokens"), "totals.tokens", "missing"),
        (lambda m: m.pop("shards"), "shards", "missing"),
        (lambda m: m.update(inputs=[]), "inputs", "expected object, got array"),
        (lambda m: m["decisions"][1].update(rows=8.0), "decisions[1].rows",
         "expected int, got float"),
        (lambda m: m["shards"][0].update(owner="me"), "shards[0].owner",
         f"not a field of {FORMAT} (written by a newer dolmakit, or by hand)"),
        (lambda m: m["sources"][1]["funnel"]["rejected_by_clause"].append(0), "sources[1]",
         "funnel.rejected_by_clause and clauses differ in length (1 and 0)"),
    ],
)  # fmt: skip
def test_hand_edited_manifest_of_the_wrong_shape(
    tmp_path: Path, change: Any, field: str, problem: str
) -> None:
    folder = edited(tmp_path, change)
    assert message(folder) == f"{tmp_path}/manifest.json: field {field}: {problem}"
    with pytest.raises(ManifestError) as caught:
        read_manifest(folder)
    assert caught.value.field == field and caught.value.path == str(folder / MANIFEST_NAME)


@pytest.mark.parametrize("command", ["verify", "sources", "trace", "where", "card", "rebuild"])
def test_every_audit_command_gives_the_same_line(tmp_path: Path, command: str) -> None:
    folder = edited(tmp_path, lambda m: m["totals"].update(shards="four"))
    args = [str(folder), "x"] if command in ("trace", "where") else [str(folder)]
    result = CliRunner().invoke(cli, ["audit", command, *args])
    assert result.exit_code == 1
    assert result.output == (
        f"Error: {folder}/manifest.json: field totals.shards: expected int, got str\n"
    )


def test_diff_names_the_bad_one_of_two(tmp_path: Path) -> None:
    shutil.copytree(GOLDEN, tmp_path / "good")
    (tmp_path / "bad").mkdir()
    bad = edited(tmp_path / "bad", lambda m: m.pop("seed"))
    result = CliRunner().invoke(cli, ["audit", "diff", str(tmp_path / "good"), str(bad)])
    assert result.exit_code == 1
    assert result.output == f"Error: {bad}/manifest.json: field seed: missing\n"


def test_a_hand_edit_of_the_right_shape_is_left_to_verify(tmp_path: Path) -> None:
    folder = edited(tmp_path, lambda m: m["sources"][0].update(licence="CC0"))
    assert read_manifest(folder).sources[0].licence == "CC0"
    report = verify_mix(folder)
    assert [p.kind for p in report.problems if p.path == MANIFEST_NAME] == ["manifest"]
