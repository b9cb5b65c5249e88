"""Every stage lists its rejected lines where docs/format.md says, and nowhere else."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import make_docs, write_lines
from test_mix_helpers import write_spec

from dolmakit.cli.main import cli

ROOT = Path(__file__).resolve().parent.parent
BAD_LINE = 3  # the line of each input that is not JSON


def documented_paths() -> dict[str, str]:
    """Return {stage: rejects file pattern} from the table in docs/format.md."""
    text = (ROOT / "docs" / "format.md").read_text(encoding="utf-8")
    section = text.split("## Rejected lines", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| `([a-z ]+)` \| `[^`]+` \| `([^`]+)` \|$", section, re.MULTILINE)
    return dict(rows)


def test_the_docs_name_every_stage() -> None:
    assert sorted(documented_paths()) == ["convert", "dedup exact", "dedup minhash", "mix", "tag"]


def _dataset(root: Path) -> Path:
    docs = [json.dumps(d) for d in make_docs(4)]
    docs.insert(BAD_LINE - 1, "{not json")
    write_lines(root / "documents" / "web" / "part-0.jsonl", docs)
    return root


def _run(stage: str, tmp_path: Path) -> tuple[dict[str, Path], str]:
    """Run `stage` on a dataset with one bad line; return the placeholders and the output."""
    ds = _dataset(tmp_path / "ds")
    values = {"dataset": ds, "run": Path("r"), "destination": tmp_path / "dest"}
    values |= {"output": tmp_path / "mixes", "name": Path("toy"), "version": Path("1")}
    documents = str(ds / "documents")
    args = {
        "tag": ["tag", documents, "--run", "r", "--taggers", "lengths"],
        "dedup exact": ["dedup", "exact", documents, "--run", "r"],
        "dedup minhash": ["dedup", "minhash", documents, "--run", "r"],
        "convert": ["convert", documents, str(values["destination"]), "--format", "parquet"],
    }.get(stage)
    if args is None:
        spec = {
            "name": "toy",
            "version": 1,
            "seed": 1,
            "tokenizer": "whitespace",
            "sources": [{"name": "web", "documents": "documents/web/*.jsonl", "weight": 1.0}],
        }
        path = write_spec(tmp_path / "toy.yaml", spec)
        args = ["mix", str(path), "--data-root", str(ds), "--output", str(values["output"])]
    result = CliRunner().invoke(cli, ["-q", *args, "--backend", "serial"])
    assert result.exit_code == 0, result.output
    return values, result.output


@pytest.mark.parametrize("stage", ["tag", "dedup exact", "dedup minhash", "convert", "mix"])
def test_rejects_are_where_the_docs_say(stage: str, tmp_path: Path) -> None:
    values, output = _run(stage, tmp_path)
    pattern = documented_paths()[stage]
    expected = Path(re.sub(r"<(\w+)>", lambda m: str(values[m.group(1)]), pattern))
    found = sorted(p for p in tmp_path.rglob("rejects.jsonl"))
    assert found == [expected]
    entries = [json.loads(line) for line in expected.read_text().splitlines()]
    assert [(Path(e["path"]).name, e["line"]) for e in entries] == [("part-0.jsonl", BAD_LINE)]
    if stage == "mix":  # the mix records its rejects in the manifest, relative to itself
        mix_dir = expected.parent.parent
        manifest = json.loads((mix_dir / "manifest.json").read_text())
        assert mix_dir / manifest["rejects"]["path"] == expected
    else:
        assert f"rejected lines listed in {expected}\n" in output


def test_a_clean_rerun_removes_the_old_rejects_file(tmp_path: Path) -> None:
    values, _ = _run("tag", tmp_path)
    listed = values["dataset"] / "attributes" / "r" / ".dolmakit" / "rejects.jsonl"
    assert listed.is_file()
    write_lines(values["dataset"] / "documents" / "web" / "part-0.jsonl", make_docs(4))
    args = ["-q", "tag", str(values["dataset"] / "documents"), "--run", "r"]
    result = CliRunner().invoke(cli, [*args, "--taggers", "lengths", "--backend", "serial"])
    assert result.exit_code == 0, result.output
    assert "rejected lines listed in" not in result.output
    assert not listed.exists()
