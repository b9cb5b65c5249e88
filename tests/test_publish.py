"""dolmakit publish: the folder loads with `datasets`, its card and Croissant file validate."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from test_audit_helpers import Mixes, build_mixes
from test_mix_helpers import read_output

from dolmakit.cli.main import cli
from dolmakit.errors import DolmakitError
from dolmakit.publish.card import size_category
from dolmakit.publish.release import publish_mix

datasets = pytest.importorskip("datasets")
huggingface_hub = pytest.importorskip("huggingface_hub")


@pytest.fixture(scope="module")
def mixes(tmp_path_factory: pytest.TempPathFactory) -> Mixes:
    return build_mixes(tmp_path_factory.mktemp("publish"))


@pytest.fixture(scope="module")
def release(mixes: Mixes, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("release") / "toy-v1"
    publish_mix(mixes.v1, out, row_group_bytes=500)
    return out


def load(folder: Path, config: str | None, cache: Path) -> list[dict]:
    loaded = datasets.load_dataset(str(folder), config, split="train", cache_dir=str(cache))
    return list(loaded)


def test_every_config_loads_the_mix_documents_in_order(
    mixes: Mixes, release: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    expected = read_output(mixes.v1)
    rows = load(release, None, tmp_path)
    assert [r["id"] for r in rows] == [d["id"] for d in expected]
    assert [r["text"] for r in rows] == [d["text"] for d in expected]
    first, doc = rows[0], expected[0]
    prov = doc["metadata"].pop("provenance")
    assert json.loads(first["metadata"]) == doc["metadata"]
    assert (first["provenance_source"], first["provenance_path"], first["provenance_line"]) == (
        prov["source"],
        prov["path"],
        prov["line"],
    )
    for source in ("web", "books"):
        ids = [r["id"] for r in load(release, source, tmp_path)]
        want = [
            d["id"]
            for d in read_output(mixes.v1)
            if d["metadata"]["provenance"]["source"] == source
        ]
        assert ids == want and ids


def test_parquet_row_groups_are_bounded_and_publishing_is_deterministic(
    mixes: Mixes, release: Path, tmp_path: Path
) -> None:
    import pyarrow.parquet as pq

    files = sorted((release / "data").glob("*.parquet"))
    meta = pq.ParquetFile(files[0]).metadata
    assert meta.num_row_groups > 1  # 500-byte groups over 33 documents
    again = tmp_path / "again"
    publish_mix(mixes.v1, again, row_group_bytes=500)
    for path in [*files, release / "README.md", release / "croissant.json"]:
        assert (again / path.relative_to(release)).read_bytes() == path.read_bytes()


def test_the_card_header_parses_with_huggingface_hub(release: Path) -> None:
    from huggingface_hub import DatasetCard, DatasetCardData

    card = DatasetCard.load(release / "README.md")
    data = card.data
    assert isinstance(data, DatasetCardData)
    free: Any = data  # fields huggingface_hub does not declare (configs, dolmakit)
    assert data.pretty_name == "toy v1"
    assert data.language == ["en", "de"]  # most tokens first
    assert data.size_categories == ["n<1K"]
    assert data.license == ["other"]  # "CC BY 4.0" and "public domain" are not SPDX ids
    assert data.source_datasets == ["web", "books"]
    names = [c["config_name"] for c in free.configs]
    assert names == ["default", "web", "books"]
    assert free.dolmakit["licences"] == {"web": {"CC BY 4.0": 1.0}, "books": {"public domain": 1.0}}
    for section in (
        "## Dataset description",
        "## Sources and shares",
        "## Curation steps",
        "## Personal and sensitive information",
        "## Known limitations",
    ):
        assert section in card.text
    assert "| passes `lang.en >= 0.3` | 15 |" in card.text  # 24 read, 9 fail the language


def test_croissant_validates_and_reads_the_records(release: Path) -> None:
    mlc = pytest.importorskip("mlcroissant")
    dataset = mlc.Dataset(jsonld=str(release / "croissant.json"))
    assert not dataset.metadata.ctx.issues.errors
    records = list(dataset.records("documents"))
    assert len(records) == 33 and records[0]["documents/provenance_line"] >= 1


def test_no_provenance_has_only_the_default_config(mixes: Mixes, tmp_path: Path) -> None:
    import pyarrow.parquet as pq
    from huggingface_hub import DatasetCard

    out = tmp_path / "bare"
    result = CliRunner().invoke(cli, ["publish", str(mixes.v1), str(out), "--no-provenance"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("published toy v1: 33 documents in 1 Parquet file ->")
    names = pq.read_schema(next((out / "data").glob("*.parquet"))).names
    assert names == ["id", "text", "source", "added", "created", "metadata"]
    card = DatasetCard.load(out / "README.md")
    assert [c["config_name"] for c in card.data.configs] == ["default"]


def test_a_non_empty_output_is_refused_in_one_line(mixes: Mixes, tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "keep.txt").write_text("mine")
    result = CliRunner().invoke(cli, ["publish", str(mixes.v1), str(tmp_path / "out")])
    assert result.exit_code == 1
    assert result.output == (
        f"Error: {tmp_path / 'out'}: the output folder is not empty; choose a new folder\n"
    )


@pytest.mark.parametrize(
    ("documents", "label"),
    [(0, "n<1K"), (999, "n<1K"), (1000, "1K<n<10K"), (2_500_000, "1M<n<10M"), (10**13, "n>1T")],
)
def test_size_categories(documents: int, label: str) -> None:
    assert size_category(documents) == label


@pytest.mark.parametrize("left", ["lock", "unfinished"])
def test_the_pipeline_publishes_over_what_a_killed_publish_left(
    mixes: Mixes, tmp_path: Path, left: str
) -> None:
    from dolmakit.io.lock import exclusive, lock_path
    from dolmakit.pipeline.spec import Publish
    from dolmakit.pipeline.stages import publish_stage
    from dolmakit.publish.release import UNFINISHED_MARK
    from dolmakit.run.options import RunOptions

    out = tmp_path / "release"
    lock_path(out).parent.mkdir(parents=True)
    lock_path(out).write_text('{"host": "h", "pid": 1, "since": "then", "command": "dolmakit"}')
    if left == "unfinished":
        (out / UNFINISHED_MARK).write_text("")
        (out / "data").mkdir()
        (out / "data" / "train-00000-of-00002.parquet").write_bytes(b"half")
    # A publish still writing there is turned away, never deleted.
    with (
        exclusive(out, "publish"),
        pytest.raises(DolmakitError, match="another publish is writing here"),
    ):
        publish_stage(mixes.v1, Publish(out), RunOptions(progress=False))
    assert lock_path(out).is_file()
    outcome = publish_stage(mixes.v1, Publish(out), RunOptions(progress=False))
    assert outcome.documents > 0
    assert sorted(p.name for p in out.iterdir()) == ["README.md", "croissant.json", "data"]
    assert not (tmp_path / "release.partial").exists()
