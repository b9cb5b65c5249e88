"""Mix spec validation: every error names the file, the line and the field."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_mix_helpers import make_source, words

from dolmakit.errors import ConfigError
from dolmakit.mix.inputs import resolve_inputs
from dolmakit.mix.spec import load_spec

GOOD = """\
name: demo
version: 1
seed: 7
tokenizer: whitespace
sources:
  - name: web
    documents: documents/web/*.jsonl.zst
    attributes: [tags]
    filter: lang.en >= 0.5
    weight: 2
  - name: books
    documents: [documents/books/*.jsonl.zst]
    rate: 0.5
"""


def spec_error(tmp_path: Path, text: str) -> str:
    path = tmp_path / "mix.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_spec(path)
    return str(info.value).replace(str(path), "mix.yaml")


def test_good_spec_has_defaults_and_a_stable_hash(tmp_path):
    path = tmp_path / "mix.yaml"
    path.write_text(GOOD)
    spec = load_spec(path)
    assert spec.version == "1"
    assert spec.sources[0].weight == 2.0 and spec.sources[1].rate == 0.5
    assert spec.sources[0].max_repeats == 4
    assert spec.output.format == "jsonl.zst"
    # comments and key order do not change the hash; a value does
    path.write_text("# a comment\n" + GOOD.replace("seed: 7\n", "") + "seed: 7\n")
    assert load_spec(path).sha256() == spec.sha256()
    path.write_text(GOOD.replace("weight: 2", "weight: 3"))
    assert load_spec(path).sha256() != spec.sha256()


def test_unknown_key(tmp_path):
    msg = spec_error(tmp_path, GOOD.replace("    rate: 0.5", "    rat: 0.5"))
    assert msg == (
        "mix.yaml:13: sources[1].rat: unknown key 'rat' (known keys: name, documents, "
        "attributes, filter, tokens, weight, rate, max_repeats, licence, notes)"
    )


def test_wrong_type(tmp_path):
    msg = spec_error(tmp_path, GOOD.replace("weight: 2", "weight: lots"))
    assert msg == "mix.yaml:10: sources[0].weight: expected a number, got a string ('lots')"
    msg = spec_error(tmp_path, GOOD.replace("seed: 7", "seed: 7.5"))
    assert msg == "mix.yaml:3: seed: expected an integer, got a number (7.5)"


def test_non_positive_weight(tmp_path):
    msg = spec_error(tmp_path, GOOD.replace("weight: 2", "weight: 0"))
    assert msg == "mix.yaml:10: sources[0].weight: must be positive, got 0"
    msg = spec_error(tmp_path, GOOD.replace("weight: 2", "weight: -1.5"))
    assert msg == "mix.yaml:10: sources[0].weight: must be positive, got -1.5"


def test_weight_and_rate_together(tmp_path):
    msg = spec_error(tmp_path, GOOD.replace("weight: 2", "weight: 2\n    rate: 0.1"))
    assert msg == (
        "mix.yaml:6: sources[0]: give exactly one of 'weight' (share of output tokens) and 'rate'"
    )


def test_missing_required_key(tmp_path):
    msg = spec_error(tmp_path, GOOD.replace("tokenizer: whitespace\n", ""))
    assert msg == "mix.yaml:1: spec: missing required key 'tokenizer'"


def test_filter_syntax_error_gives_line_and_column(tmp_path):
    msg = spec_error(tmp_path, GOOD.replace("lang.en >= 0.5", "lang.en >= and x"))
    assert msg == (
        "mix.yaml:9: sources[0].filter: syntax error at column 12: expected a value, "
        "got 'and' in 'lang.en >= and x'"
    )


def test_dolma_filter_form_is_translated(tmp_path):
    path = tmp_path / "mix.yaml"
    path.write_text(
        GOOD.replace(
            "filter: lang.en >= 0.5",
            "filter:\n      exclude: ['$.attributes[?(@.tags__lang__en[0][2] < 0.5)]']",
        )
    )
    assert load_spec(path).sources[0].filter == (
        "not (exists(tags__lang__en) and first(tags__lang__en) < 0.5)"
    )


def test_invalid_yaml(tmp_path):
    msg = spec_error(tmp_path, "name: [unclosed\nversion: 1\n")
    assert msg == "mix.yaml:2: invalid YAML: expected ',' or ']', but got ':'"


def _dataset(tmp_path: Path) -> Path:
    docs = [{"id": "a", "text": words(5)}]
    make_source(tmp_path, "web", docs, {"tags": [{}]})
    make_source(tmp_path, "books", docs)
    return tmp_path


def test_source_matching_no_files(tmp_path):
    root = _dataset(tmp_path)
    path = root / "mix.yaml"
    path.write_text(GOOD.replace("documents/books/*", "documents/boks/*"))
    with pytest.raises(ConfigError) as info:
        resolve_inputs(load_spec(path), root)
    assert str(info.value) == (
        f"{path}:12: sources[1].documents[0]: 'documents/boks/*.jsonl.zst' matches no "
        f"document files under the data root {root.resolve()}"
    )


def test_attribute_run_that_does_not_exist(tmp_path):
    root = _dataset(tmp_path)
    path = root / "mix.yaml"
    path.write_text(GOOD.replace("attributes: [tags]", "attributes: [tags, dedup]"))
    with pytest.raises(ConfigError) as info:
        resolve_inputs(load_spec(path), root)
    run_dir = root.resolve() / "attributes" / "dedup"
    assert str(info.value) == (
        f"{path}:8: sources[0].attributes[1]: attribute run 'dedup' does not exist "
        f"(no folder {run_dir})"
    )
