"""Attribute files: Dolma layout, key names, and line-by-line id checks when joined."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import make_docs, write_lines

from dolmakit import AttributeWriter, Document, InputError, attribute_key, attribute_path
from dolmakit.errors import DolmakitError
from dolmakit.io.attributes import read_with_attributes
from dolmakit.io.paths import attribute_runs, expand_inputs, split_dataset_path


def test_attribute_path_mirrors_the_document_path(tmp_path: Path) -> None:
    doc = tmp_path / "ds" / "documents" / "web" / "part-0.jsonl.gz"
    assert (
        attribute_path(doc, "lang")
        == tmp_path / "ds" / "attributes" / "lang" / "web" / "part-0.jsonl.gz"
    )


def test_documents_folder_is_required_for_attributes(tmp_path: Path) -> None:
    with pytest.raises(DolmakitError, match="not inside a 'documents' folder"):
        split_dataset_path(tmp_path / "loose.jsonl")


def test_key_names_are_sanitised_like_dolma() -> None:
    assert attribute_key("my-run", "char_length_v1", "length") == "my_run__char_length_v1__length"
    assert attribute_key("r", "ft.lang", "en/us") == "r__ft_lang__en_us"


def _write_run(ds: Path, rel: str, run: str, rows: list[tuple[str, dict]]) -> Path:
    path = attribute_path(ds / "documents" / rel, run)
    with AttributeWriter(path) as writer:
        for doc_id, attrs in rows:
            writer.write_attributes(Document(doc_id, "", source="web"), attrs)
    return path


def test_join_merges_runs_and_treats_integer_scores_alike(dataset: Callable[..., Path]) -> None:
    ds = dataset({"web/a.jsonl.zst": make_docs(3)})
    _write_run(
        ds, "web/a.jsonl.zst", "len", [(f"d{i}", {"len__c__n": [[0, 5, i]]}) for i in range(3)]
    )
    _write_run(ds, "web/a.jsonl.zst", "dup", [("d0", {}), ("d1", {"dup": [[0, 5, 1]]}), ("d2", {})])
    rows = list(read_with_attributes(ds / "documents/web/a.jsonl.zst", ["len", "dup"]))
    assert [r[1].id for r in rows] == ["d0", "d1", "d2"]
    assert rows[1][2] == {"len__c__n": [[0, 5, 1]], "dup": [[0, 5, 1]]}
    assert rows[1][2]["dup"][0][2] == 1.0
    assert attribute_runs(ds / "documents/web/a.jsonl.zst") == ["dup", "len"]


def test_attribute_lines_follow_dolma_shape(dataset: Callable[..., Path]) -> None:
    ds = dataset({"web/a.jsonl": make_docs(1)})
    path = _write_run(ds, "web/a.jsonl", "r", [("d0", {})])
    assert json.loads(path.read_text()) == {"id": "d0", "attributes": {}, "source": "web"}


def test_id_mismatch_names_both_files_and_lines(dataset: Callable[..., Path]) -> None:
    ds = dataset({"web/a.jsonl": make_docs(3)})
    attr = _write_run(ds, "web/a.jsonl", "r", [("d0", {}), ("zz", {}), ("d2", {})])
    with pytest.raises(InputError) as info:
        list(read_with_attributes(ds / "documents/web/a.jsonl", ["r"]))
    message = str(info.value)
    assert message.startswith(f"{attr}:2: id 'zz' does not match id 'd1' at ")
    assert message.endswith("documents/web/a.jsonl:2")


def test_short_attribute_file_is_an_error(dataset: Callable[..., Path]) -> None:
    ds = dataset({"web/a.jsonl": make_docs(3)})
    attr = _write_run(ds, "web/a.jsonl", "r", [("d0", {}), ("d1", {})])
    with pytest.raises(
        InputError, match=f"{attr}: attribute file ends before document .*a.jsonl:3"
    ):
        list(read_with_attributes(ds / "documents/web/a.jsonl", ["r"]))


def test_long_attribute_file_is_an_error(dataset: Callable[..., Path]) -> None:
    ds = dataset({"web/a.jsonl": make_docs(1)})
    attr = _write_run(ds, "web/a.jsonl", "r", [("d0", {}), ("d1", {})])
    with pytest.raises(InputError, match=f"{attr}:2: attribute file has more lines"):
        list(read_with_attributes(ds / "documents/web/a.jsonl", ["r"]))


def test_missing_run_is_an_error(dataset: Callable[..., Path]) -> None:
    ds = dataset({"web/a.jsonl": make_docs(1)})
    with pytest.raises(InputError, match="attribute run 'nope' has no file for"):
        list(read_with_attributes(ds / "documents/web/a.jsonl", ["nope"]))


def test_rejected_document_lines_have_no_attribute_line(
    dataset: Callable[..., Path], tmp_path: Path
) -> None:
    ds = tmp_path / "ds"
    write_lines(ds / "documents/a.jsonl", [make_docs(1)[0], "garbage", make_docs(2)[1]])
    _write_run(ds, "a.jsonl", "r", [("d0", {}), ("d1", {})])
    assert [r[1].id for r in read_with_attributes(ds / "documents/a.jsonl", ["r"])] == ["d0", "d1"]


def test_expand_inputs_handles_files_folders_globs_and_hidden(tmp_path: Path) -> None:
    for name in (
        "a/x.jsonl",
        "a/b/y.jsonl.zst",
        "a/.hidden/z.jsonl",
        "a/.tmp.jsonl",
        "a/readme.txt",
    ):
        write_lines(tmp_path / name, [])
    folder = [p.relative_to(tmp_path).as_posix() for p in expand_inputs([tmp_path / "a"])]
    assert folder == ["a/b/y.jsonl.zst", "a/x.jsonl"]
    globbed = expand_inputs([f"{tmp_path}/a/**/*.jsonl*"])
    assert [p.name for p in globbed] == ["y.jsonl.zst", "x.jsonl"]
    with pytest.raises(DolmakitError, match="no such file or folder"):
        expand_inputs([tmp_path / "missing"])
    with pytest.raises(DolmakitError, match="matched no document files"):
        expand_inputs([f"{tmp_path}/*.parquet"])
