"""The command line: help, version, errors without tracebacks, convert and inspect."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import ROOT, make_docs, write_lines

import dolmakit
from dolmakit.cli.main import cli


def all_commands() -> list[list[str]]:
    """Return the path of every command and subcommand, e.g. ['dedup', 'minhash']."""
    import click

    found: list[list[str]] = []

    def walk(group: click.Group, prefix: list[str]) -> None:
        for name, command in sorted(group.commands.items()):
            found.append([*prefix, name])
            if isinstance(command, click.Group):
                walk(command, [*prefix, name])

    walk(cli, [])
    return found


def test_version() -> None:
    result = CliRunner().invoke(cli, ["--version"])
    assert result.output == f"dolmakit, version {dolmakit.__version__}\n"


@pytest.mark.parametrize("command", all_commands(), ids=" ".join)
def test_every_command_has_help_with_an_example(command: list[str]) -> None:
    result = CliRunner().invoke(cli, [*command, "--help"])
    assert result.exit_code == 0
    assert "Example" in result.output, f"dolmakit {' '.join(command)} --help has no example"


@pytest.mark.parametrize("command", all_commands(), ids=" ".join)
def test_every_command_is_documented_in_the_readme(command: list[str]) -> None:
    readme = (ROOT / "README.md").read_text()
    assert f"dolmakit {' '.join(command)}" in readme


def test_public_surface_is_sorted_and_importable() -> None:
    assert dolmakit.__all__ == sorted(dolmakit.__all__)
    for name in dolmakit.__all__:
        assert hasattr(dolmakit, name), name


def test_user_errors_have_no_traceback(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["convert", str(tmp_path / "missing"), str(tmp_path / "out")])
    assert result.exit_code == 1
    assert result.output == f"Error: {tmp_path / 'missing'}: no such file or folder\n"
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_fail_policy_names_file_and_line(tmp_path: Path) -> None:
    src = write_lines(tmp_path / "in" / "a.jsonl", [make_docs(1)[0], '{"id": 3, "text": "x"}'])
    result = CliRunner().invoke(
        cli,
        ["-q", "convert", str(src), str(tmp_path / "out"), "--on-error", "fail", "--workers", "1"],
    )
    assert result.exit_code == 1
    assert (
        result.output == f"Error: {src}:2: invalid document: field 'id' must be a string, got int\n"
    )


def test_bad_size_option_is_explained(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli, ["--max-line-bytes", "lots", "convert", str(tmp_path), str(tmp_path / "o")]
    )
    assert result.exit_code == 1
    assert "cannot read size 'lots'" in result.output


def test_convert_reshards_by_size(tmp_path: Path) -> None:
    src = write_lines(
        tmp_path / "in" / "a.jsonl.zst", [{"id": str(i), "text": "x" * 1000} for i in range(25)]
    )
    result = CliRunner().invoke(
        cli,
        [
            "-q",
            "convert",
            str(src),
            str(tmp_path / "out"),
            "--shard-size",
            "10KB",
            "--format",
            "jsonl",
        ],
    )
    assert result.exit_code == 0, result.output
    parts = sorted(p.name for p in (tmp_path / "out").glob("part-*"))
    assert parts == ["part-00000.jsonl", "part-00001.jsonl", "part-00002.jsonl"]
    counts = [len(p.read_text().splitlines()) for p in sorted((tmp_path / "out").glob("part-*"))]
    assert counts == [10, 10, 5]


def test_inspect_shows_attributes_and_filters_by_id(dataset: Callable[..., Path]) -> None:
    ds = dataset({"web/a.jsonl": make_docs(3)})
    attr = ds / "attributes" / "len" / "web" / "a.jsonl"
    write_lines(
        attr,
        [{"id": f"d{i}", "attributes": {"len__c__chars": [[0, 10, 10 + i]]}} for i in range(3)],
    )
    result = CliRunner().invoke(cli, ["inspect", str(ds / "documents"), "--id", "d1", "--json"])
    assert result.exit_code == 0, result.output
    [line] = result.output.splitlines()
    obj = json.loads(line)
    assert obj["id"] == "d1"
    assert obj["attributes"] == {"len__c__chars": [[0, 10, 11]]}
    pretty = CliRunner().invoke(cli, ["inspect", str(ds / "documents"), "--limit", "1"])
    assert "len__c__chars  [0:10] 10" in pretty.output
    assert "a.jsonl:1" in pretty.output


@pytest.mark.parametrize("command", ["trace", "where"])
def test_readme_names_audit_references_as_the_help_does(command: str) -> None:
    import re

    readme = (ROOT / "README.md").read_text()
    line = next(x for x in readme.splitlines() if x.startswith(f"- `dolmakit audit {command} "))
    forms = re.findall(r"[A-Z_]+:[A-Z]+", line)  # SHARD:ROW, INPUT_PATH:LINE
    help_text = CliRunner().invoke(cli, ["audit", command, "--help"]).output
    assert forms and all(form in help_text for form in forms), (forms, help_text)
