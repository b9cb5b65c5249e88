"""The tagging stage: Dolma attribute files, one pass, resume, determinism, errors, CLI."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import ClassVar

import pytest
import zstandard
from click.testing import CliRunner
from conftest import make_docs, write_lines

from dolmakit.cli.main import cli
from dolmakit.document import Document, Span
from dolmakit.errors import ConfigError, InputError
from dolmakit.io.attributes import read_attribute_lines, read_with_attributes
from dolmakit.run.backends import ProcessBackend, SerialBackend
from dolmakit.run.options import RunOptions
from dolmakit.taggers import base
from dolmakit.taggers.recipes import load_recipe
from dolmakit.taggers.stage import TaggerError, tag

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = ROOT / "tests" / "golden" / "taggers"
RULES = "lengths,gopher_quality,gopher_repetition,c4,fineweb,ldnoobw"


def _decompressed(path: Path) -> bytes:
    data = path.read_bytes()
    return (
        zstandard.ZstdDecompressor().decompressobj().decompress(data)
        if path.suffix == ".zst"
        else data
    )


def _two_shards(dataset: Callable[..., Path]) -> Path:
    return dataset(
        {
            "a/part-0.jsonl.zst": make_docs(5, "a"),
            "b/part-0.jsonl": make_docs(3, "b", prefix="e"),
        }
    )


def test_tag_writes_line_aligned_dolma_attributes(dataset: Callable[..., Path]) -> None:
    root = _two_shards(dataset)
    bad = root / "documents" / "b" / "part-0.jsonl"
    with open(bad, "ab") as fh:
        fh.write(b"{not json\n")
    summary = tag(
        [root / "documents"],
        "q",
        RULES,
        run_options=RunOptions(backend=SerialBackend(), progress=False),
    )
    assert (summary.read, summary.written, summary.rejected_total) == (9, 8, 1)
    for doc_file in sorted((root / "documents").rglob("*.jsonl*")):
        attr_file = root / "attributes" / "q" / doc_file.relative_to(root / "documents")
        assert attr_file.is_file()
        for _, doc, attrs in read_with_attributes(doc_file, ["q"]):
            assert attrs  # every document got its lengths at least
            for key, spans in attrs.items():
                run, tagger, _kind = key.split("__")
                assert run == "q" and tagger in RULES.split(",")
                for start, end, score in spans:
                    assert 0 <= start <= end <= len(doc.text)
                    assert isinstance(score, int | float)
            n = len(doc.text)
            assert attrs["q__lengths__characters"] == [[0, n, n]]
    record = json.loads((root / "attributes" / "q" / ".dolmakit" / "run.json").read_text())
    assert [t["name"] for t in record["taggers"]] == RULES.split(",")
    assert record["taggers"][0]["version"] == "1"


def test_scores_are_rounded_to_five_decimals(dataset: Callable[..., Path]) -> None:
    # 'ab. cd' has words of 3 and 2 characters: mean 2.5; 'abc d e' -> 5/3 = 1.66667.
    root = dataset({"x.jsonl": [{"id": "1", "text": "abc d e"}]})
    tag(
        [root / "documents"],
        "r",
        ["gopher_quality"],
        run_options=RunOptions(backend=SerialBackend(), progress=False),
    )
    ((_, _, attrs),) = list(read_attribute_lines(root / "attributes" / "r" / "x.jsonl"))
    assert attrs["r__gopher_quality__mean_word_length"] == [[0, 7, 1.66667]]
    raw = (root / "attributes" / "r" / "x.jsonl").read_text()
    assert '"r__gopher_quality__words":[[0,7,3]]' in raw


def test_golden_attribute_file() -> None:
    """The rule taggers on demo documents give exactly the stored bytes."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        docs = Path(tmp) / "demo" / "documents" / "sample.jsonl"
        docs.parent.mkdir(parents=True)
        shutil.copy(GOLDEN / "documents" / "demo" / "sample.jsonl", docs)
        tag(
            [docs],
            "rules",
            GOLDEN / "rules.yaml",
            run_options=RunOptions(backend=SerialBackend(), progress=False),
        )
        got = (Path(tmp) / "demo" / "attributes" / "rules" / "sample.jsonl").read_bytes()
    expected = (GOLDEN / "rules.attributes.jsonl").read_bytes()
    assert got == expected


def test_same_bytes_for_any_backend_and_batch_size(dataset: Callable[..., Path]) -> None:
    root = _two_shards(dataset)
    outputs = []
    runs = [
        ("s", SerialBackend(), 512),
        ("p", ProcessBackend(2), 2),
    ]
    for run, backend, batch in runs:
        tag(
            [root / "documents"],
            run,
            RULES,
            run_options=RunOptions(backend=backend, progress=False),
            batch_size=batch,
        )
        files = sorted((root / "attributes" / run).glob("*/part-0.jsonl*"))
        outputs.append([_decompressed(f).replace(f'"{run}__'.encode(), b'"R__') for f in files])
    assert outputs[0] == outputs[1]
    assert len(outputs[0]) == 2


def test_rerun_skips_complete_shards_and_redoes_missing_ones(dataset: Callable[..., Path]) -> None:
    root = _two_shards(dataset)
    first = tag(
        [root / "documents"],
        "q",
        RULES,
        run_options=RunOptions(backend=SerialBackend(), progress=False),
    )
    assert first.shards_skipped == 0
    out = root / "attributes" / "q" / "a" / "part-0.jsonl.zst"
    before = out.read_bytes()
    again = tag(
        [root / "documents"],
        "q",
        RULES,
        run_options=RunOptions(backend=SerialBackend(), progress=False),
    )
    assert again.shards_skipped == 2 and again.written == 8
    out.unlink()
    third = tag(
        [root / "documents"],
        "q",
        RULES,
        run_options=RunOptions(backend=SerialBackend(), progress=False),
    )
    assert third.shards_skipped == 1
    assert out.read_bytes() == before
    # A different tagger set is a different configuration: everything is redone.
    fourth = tag(
        [root / "documents"],
        "q",
        "lengths",
        run_options=RunOptions(backend=SerialBackend(), progress=False),
    )
    assert fourth.shards_skipped == 0


class _BrokenTagger:
    name: ClassVar[str] = "test_broken"
    version: ClassVar[str] = "1"
    attributes: ClassVar[tuple[str, ...]] = ("x", "lang_*")
    requires: ClassVar[str] = ""
    description: ClassVar[str] = "test double"

    def __init__(self, mode: str = "outside") -> None:
        self.mode = mode

    def tag_batch(self, docs: Sequence[Document]) -> list[dict[str, list[Span]]]:
        if self.mode == "raise":
            raise RuntimeError("boom")
        if self.mode == "short":
            return []
        if self.mode == "undeclared":
            return [{"y": [Span(0, 0, 1.0)]} for _ in docs]
        if self.mode == "nan":
            return [{"x": [Span(0, 0, float("nan"))]} for _ in docs]
        if self.mode == "prefix":
            return [{"lang_en": [Span(0, len(d.text), 0.5)]} for d in docs]
        return [{"x": [Span(0, len(d.text) + 1, 1.0)]} for d in docs]


@pytest.fixture
def broken() -> object:
    base.register(_BrokenTagger)
    base._load.cache_clear()
    yield _BrokenTagger
    base._REGISTRY.pop("test_broken", None)
    base._load.cache_clear()


@pytest.mark.parametrize(
    ("mode", "message"),
    [
        # make_docs texts are 57 characters long; the broken tagger reaches one past the end.
        ("outside", r"span \[0, 58\] is not within the text \(0\.\.57\) of .*x.jsonl:1"),
        ("raise", r"tagger 'test_broken' failed on .*x.jsonl \(lines 1-2\): RuntimeError: boom"),
        ("short", "returned 0 results for 2 documents"),
        ("undeclared", "attribute type 'y', which it does not declare"),
        ("nan", "score nan is not finite"),
    ],
)
def test_a_tagger_that_breaks_the_contract_stops_the_run(
    dataset: Callable[..., Path], broken: object, mode: str, message: str
) -> None:
    root = dataset({"x.jsonl": make_docs(2)})
    recipe = root / "r.yaml"
    recipe.write_text(f"taggers:\n  - name: test_broken\n    params: {{mode: {mode}}}\n")
    with pytest.raises(TaggerError, match=message):
        tag(
            [root / "documents"],
            "q",
            recipe,
            run_options=RunOptions(backend=SerialBackend(), progress=False),
        )
    assert not (root / "attributes" / "q" / "x.jsonl").exists()


def test_declared_prefix_types_are_accepted(dataset: Callable[..., Path], broken: object) -> None:
    root = dataset({"x.jsonl": make_docs(1)})
    recipe = root / "r.yaml"
    recipe.write_text("taggers:\n  - name: test_broken\n    params: {mode: prefix}\n")
    tag(
        [root / "documents"],
        "q",
        recipe,
        run_options=RunOptions(backend=SerialBackend(), progress=False),
    )
    ((_, _, attrs),) = list(read_attribute_lines(root / "attributes" / "q" / "x.jsonl"))
    assert attrs == {"q__test_broken__lang_en": [[0, 57, 0.5]]}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("taggers:\n  - lengths\n  - nope\n", r"r\.yaml:3: taggers\[1\]: 'nope': unknown tagger"),
        (
            "taggers:\n  - name: ldnoobw\n    params: {lang: en}\n",
            r"r\.yaml:3: taggers\[0\]\.params: 'ldnoobw': bad parameters: .*'lang'"
            r".*\(parameters: language, default_language\)",
        ),
        ("taggers:\n  - lengths\n  - lengths\n", r"r\.yaml:3: taggers\[1\]: .*listed twice"),
        ("name: x\ntagers: [lengths]\n", r"r\.yaml:2: tagers: unknown field"),
        ("taggers: []\n", r"r\.yaml:1: taggers: 'taggers' must be a non-empty list"),
        ("taggers:\n  - {nme: lengths}\n", r"r\.yaml:2: taggers\[0\]\.nme: unknown field"),
        ("taggers:\n  - [lengths\n", r"r\.yaml:\d+: invalid YAML"),
        ("taggers:\n  - name: c4\n    params: [1]\n", r"taggers\[0\]\.params: 'params' must be"),
    ],
)
def test_recipe_errors_name_file_line_and_field(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "r.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_recipe(path)


def test_shipped_recipes_are_valid() -> None:
    from dolmakit.taggers import available_taggers

    registered = available_taggers()
    wanted = {
        "web": {"lid_fasttext", "gopher_quality", "gopher_repetition", "c4", "fineweb"}
        | {"toxicity", "pii", "tokens"},
        "multilingual": {"lid_fasttext", "tokens", "lengths"},
    }
    for name, must in wanted.items():
        recipe = load_recipe(ROOT / "taggers" / f"{name}.yaml")
        assert recipe.name == name
        names = {s.name for s in recipe.taggers}
        assert names <= set(registered)
        assert must <= names, must - names


def test_bad_run_names_and_inputs(dataset: Callable[..., Path], tmp_path: Path) -> None:
    root = _two_shards(dataset)
    with pytest.raises(ConfigError, match="run name"):
        tag([root / "documents"], "../x", "lengths", run_options=RunOptions(progress=False))
    with pytest.raises(ConfigError, match="unknown tagger"):
        tag([root / "documents"], "q", "lengths,nope", run_options=RunOptions(progress=False))
    loose = write_lines(tmp_path / "loose.jsonl", make_docs(1))
    with pytest.raises(Exception, match="not inside a 'documents' folder"):
        tag([loose], "q", "lengths", run_options=RunOptions(progress=False))


def test_on_error_fail_names_the_bad_line(dataset: Callable[..., Path]) -> None:
    root = dataset({"x.jsonl": [*make_docs(1), "nope"]})
    with pytest.raises(InputError, match=r"x\.jsonl:2: invalid JSON"):
        tag(
            [root / "documents"],
            "q",
            "lengths",
            run_options=RunOptions(backend=SerialBackend(), on_error="fail", progress=False),
        )


def test_cli_tag_and_taggers(dataset: Callable[..., Path]) -> None:
    root = _two_shards(dataset)
    runner = CliRunner()
    result = runner.invoke(
        cli,
        [
            "-q",
            "tag",
            str(root / "documents"),
            "--run",
            "q",
            "--taggers",
            "lengths,c4",
            "--backend",
            "serial",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "tagged 8 documents as run 'q'" in result.output
    assert (root / "attributes" / "q" / "b" / "part-0.jsonl").is_file()
    result = runner.invoke(
        cli,
        [
            "tag",
            str(root / "documents"),
            "--run",
            "q",
            "--taggers",
            "x",
            "--recipe",
            str(ROOT / "taggers" / "web.yaml"),
        ],
    )
    assert result.exit_code == 2 and "exactly one of --taggers and --recipe" in result.output
    result = runner.invoke(cli, ["tag", str(root / "documents"), "--run", "q", "--taggers", "no"])
    assert result.exit_code == 1 and "Error: --taggers: 'no': unknown tagger" in result.output
    assert "Traceback" not in result.output

    listing = runner.invoke(cli, ["taggers"])
    assert listing.exit_code == 0
    lines = listing.output.splitlines()
    assert lines[0].split() == ["name", "version", "requires"]
    assert any(line.startswith("gopher_quality ") for line in lines)
    as_json = runner.invoke(cli, ["taggers", "--json"])
    rows = [json.loads(line) for line in as_json.output.splitlines()]
    by_name = {row["name"]: row for row in rows}
    assert by_name["lengths"] == {
        "name": "lengths",
        "version": "1",
        "attributes": ["characters", "bytes", "words", "lines", "paragraphs"],
        "requires": "",
        "description": by_name["lengths"]["description"],
        "origin": "built-in",
    }
    assert set(RULES.split(",")) <= set(by_name)


def test_no_tagger_requires_a_development_only_package() -> None:
    """What `dolmakit taggers` says a tagger needs must come with dolmakit or one of its extras."""
    import re
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]

    def names(requirements: Sequence[str]) -> set[str]:
        return {re.split(r"[\[<>=!~; ]", r, maxsplit=1)[0].lower() for r in requirements}

    extras = project["optional-dependencies"]
    shipped = names(project["dependencies"]).union(
        *(names(reqs) for extra, reqs in extras.items() if extra != "dev")
    )
    dev_only = names(extras["dev"]) - shipped
    assert "tiktoken" in dev_only
    for info in map(base.tagger_info, base.available_taggers()):
        words = set(re.findall(r"[a-z0-9][a-z0-9_.-]*", info.requires.lower()))
        assert not words & dev_only, f"{info.name} requires {info.requires!r}"


def test_every_registered_tagger_has_a_docs_section() -> None:
    docs = (ROOT / "docs" / "taggers.md").read_text(encoding="utf-8")
    headings = {line[3:].strip().strip("`") for line in docs.splitlines() if line.startswith("## ")}
    missing = [name for name in base.available_taggers() if name not in headings]
    assert not missing, f"docs/taggers.md has no '## <name>' section for: {missing}"
