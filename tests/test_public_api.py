"""The public surface: exactly these names, each importable, each documented (docs/api.md)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import dolmakit

PUBLIC = [
    "AttributeWriter",
    "Backend",
    "ConfigError",
    "Document",
    "DocumentWriter",
    "DolmakitError",
    "ExactConfig",
    "IndexOptions",
    "InputError",
    "KeepRule",
    "MinHashConfig",
    "MixSpec",
    "Rejects",
    "RunOptions",
    "RunSummary",
    "Span",
    "StatsConfig",
    "TrainConfig",
    "__version__",
    "attribute_key",
    "attribute_path",
    "audit_contamination",
    "available_taggers",
    "build_mix",
    "compute_stats",
    "convert",
    "dedup_exact",
    "dedup_minhash",
    "diff_mixes",
    "expand_inputs",
    "index_benchmarks",
    "inspect_documents",
    "load_classes",
    "load_labelled_jsonl",
    "load_pipeline",
    "load_spec",
    "make_backend",
    "mix_sources",
    "read_attribute_lines",
    "read_documents",
    "read_manifest",
    "read_with_attributes",
    "rebuild_mix",
    "render_card",
    "run_demo",
    "run_pipeline",
    "tag",
    "tagger_info",
    "trace_document",
    "train_classifier",
    "verify_mix",
    "where_input",
]


def test_all_is_exactly_the_public_surface() -> None:
    assert sorted(dolmakit.__all__) == PUBLIC
    lazy = set(dolmakit._EXPORTS)
    assert lazy | {"__version__", "convert"} == set(PUBLIC)


def test_every_public_name_resolves_to_a_library_object() -> None:
    for name in PUBLIC:
        value = getattr(dolmakit, name)
        assert value is not None
        if name != "__version__":
            assert not isinstance(value, type(dolmakit)), f"{name} is a module, not the call"


def test_unknown_names_raise_attribute_error() -> None:
    try:
        dolmakit.no_such_thing  # noqa: B018
    except AttributeError as exc:
        assert "no_such_thing" in str(exc)
    else:
        raise AssertionError("expected AttributeError")


def test_importing_the_package_does_not_load_the_stages() -> None:
    code = (
        "import sys, dolmakit; print(sorted(m for m in sys.modules if m.startswith('dolmakit.')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = ast.literal_eval(out.stdout)
    for stage in ("dolmakit.mix", "dolmakit.audit", "dolmakit.dedup", "dolmakit.taggers"):
        assert stage not in loaded


def test_every_public_name_is_documented() -> None:
    page = (Path(__file__).resolve().parent.parent / "docs" / "api.md").read_text()
    missing = [name for name in PUBLIC if name != "__version__" and f"`{name}" not in page]
    assert missing == []


def test_the_api_page_example_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = Path(__file__).resolve().parent.parent
    page = (repo / "docs" / "api.md").read_text()
    code = page.split("```python\n", 1)[1].split("```", 1)[0]
    (tmp_path / "mixes").symlink_to(repo / "mixes")
    monkeypatch.chdir(tmp_path)
    printed: list[object] = []
    exec(compile(code, "docs/api.md", "exec"), {"print": printed.append})
    assert printed == [True]
    assert (tmp_path / "demo-out" / "mixes" / "demo" / "v2" / "manifest.json").is_file()
    assert (tmp_path / "demo-out" / "data" / "attributes" / "lengths").is_dir()
