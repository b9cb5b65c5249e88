"""Hostile mix specs and recipes are refused quickly with one line naming the file and line."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from dolmakit.cli.main import cli
from dolmakit.io.config import MAX_CONFIG_BYTES, MAX_DEPTH


def alias_bomb() -> str:
    """Nine anchors, each a list of nine aliases of the one before (9**9 leaves if expanded)."""
    lines = ['a0: &a0 ["lol"]']
    for i in range(1, 10):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]")
    return "\n".join(lines) + "\nname: bomb\n"


HOSTILE = [
    ("alias bomb", alias_bomb(), ":1: YAML anchors (&a0) are not allowed"),
    ("alias", "name: x\nother: *missing\n", ":2: YAML aliases (*missing) are not allowed"),
    (
        "python name",
        "name: !!python/name:os.system\n",
        ":1: YAML tags (tag:yaml.org,2002:python/name",
    ),
    (
        "python apply",
        'name: x\nrun: !!python/object/apply:os.system ["echo hi"]\n',
        ":2: YAML tags (tag:yaml.org,2002:python/object/apply:os.system)",
    ),
    ("custom tag", "name: !custom x\n", ":1: YAML tags (!custom) are not allowed"),
    ("merge key", "name: x\nsources:\n  <<: {a: 1}\n", ":3: YAML merge keys (<<:) are not allowed"),
    ("deep list", "name: " + "[" * 10_000 + "]" * 10_000 + "\n", f"deeper than {MAX_DEPTH} levels"),
    ("not utf-8", "name: caf\udce9\n", ":1: the {what} is not UTF-8 (byte 9)"),
]


def write(path: Path, text: str) -> Path:
    path.write_bytes(text.encode("utf-8", "surrogateescape"))
    return path


def run_mix(tmp_path: Path, spec: Path) -> tuple[int, str]:
    args = ["mix", str(spec), "--data-root", str(tmp_path), "--output", str(tmp_path / "out")]
    result = CliRunner().invoke(cli, args)
    return result.exit_code, result.output


def run_tag(tmp_path: Path, recipe: Path) -> tuple[int, str]:
    docs = tmp_path / "documents"
    docs.mkdir(exist_ok=True)
    (docs / "a.jsonl").write_text('{"id": "a", "text": "hello"}\n')
    result = CliRunner().invoke(cli, ["tag", str(docs), "--run", "r", "--recipe", str(recipe)])
    return result.exit_code, result.output


def run_pipeline(tmp_path: Path, pipeline: Path) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["run", str(pipeline)])
    return result.exit_code, result.output


KINDS = [("mix spec", run_mix), ("recipe", run_tag), ("pipeline", run_pipeline)]


@pytest.mark.parametrize(("case", "text", "expected"), HOSTILE, ids=[c[0] for c in HOSTILE])
@pytest.mark.parametrize(("what", "run"), KINDS, ids=[k[0] for k in KINDS])
def test_hostile_yaml_is_refused_in_one_line(
    tmp_path: Path, case: str, text: str, expected: str, what: str, run: object
) -> None:
    config = write(tmp_path / "config.yaml", text)
    code, output = run(tmp_path, config)  # type: ignore[operator]
    assert code != 0
    assert "Traceback" not in output
    assert output.startswith("Error: " + str(config)), output
    assert expected.replace("{what}", what) in output
    assert len(output.strip().splitlines()) == 1


@pytest.mark.parametrize("run", [run_mix, run_tag, run_pipeline])
def test_a_huge_config_is_refused_before_it_is_read(tmp_path: Path, run: object) -> None:
    config = write(
        tmp_path / "big.yaml", "name: x\n" + "# padding\n" * (MAX_CONFIG_BYTES // 10 + 1)
    )
    code, output = run(tmp_path, config)  # type: ignore[operator]
    assert code != 0
    assert f"over the limit of {MAX_CONFIG_BYTES:,}" in output


def test_quoted_merge_and_bang_strings_are_plain_values(tmp_path: Path) -> None:
    from dolmakit.io.config import check_config_events

    check_config_events("a: '<<'\nb: \"!!python/name:os.system\"\nc: x & y * z\n", "c.yaml", "spec")


def make_dataset(root: Path) -> None:
    docs = root / "documents" / "web"
    docs.mkdir(parents=True)
    (docs / "a.jsonl").write_text('{"id": "a", "text": "one two three"}\n')


SPEC = (
    "name: m\nversion: 1\nseed: 1\ntokenizer: whitespace\n"
    "sources:\n  - name: web\n    documents: {glob}\n    weight: 1.0\n"
)


def test_a_mix_inside_the_documents_it_reads_is_refused(tmp_path: Path) -> None:
    make_dataset(tmp_path)
    spec = write(tmp_path / "mix.yaml", SPEC.format(glob="documents/web/*.jsonl"))
    output = tmp_path / "documents" / "mixes"
    result = CliRunner().invoke(
        cli, ["mix", str(spec), "--data-root", str(tmp_path), "--output", str(output)]
    )
    assert result.exit_code != 0
    assert "which this mix reads documents from" in result.output
    assert "Traceback" not in result.output
    assert not output.exists()


def test_an_absolute_glob_outside_the_data_root_is_named_in_a_warning(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    make_dataset(elsewhere)
    root = tmp_path / "root"
    root.mkdir()
    glob = f"{elsewhere}/documents/web/*.jsonl"
    spec = write(tmp_path / "mix.yaml", SPEC.format(glob=glob))
    result = CliRunner().invoke(
        cli, ["mix", str(spec), "--data-root", str(root), "--output", str(tmp_path / "out")]
    )
    assert result.exit_code == 0, result.output
    assert f"{glob!r} is outside the data root {root}" in result.output
