"""Read and validate a pipeline file (YAML) into a frozen `Pipeline`; errors name file and line.

A pipeline lists datasets, the tag runs, the dedup runs and the mixes of a corpus, and
optionally the benchmark indexes built before tagging (`contamination`) and, per mix, its span
index and a published release. Paths are relative to the pipeline file's folder. The file is a
config a stranger may have written: `dolmakit.io.config` refuses hostile YAML before anything
here reads it, and every unknown key or wrong value is one ConfigError naming file and line.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dolmakit.dedup.config import CHAINING_MODES, VERIFY_MODES, ExactConfig, KeepRule, MinHashConfig
from dolmakit.errors import ConfigError, DolmakitError
from dolmakit.io.config import compose_config, plain_values, read_config_text
from dolmakit.io.config import value_kind as _kind
from dolmakit.mix.spec import load_spec
from dolmakit.taggers.recipes import Recipe, TaggerSpec, check_spec, load_recipe

WHAT = "pipeline"
_NAME_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")

TOP_KEYS = "name description state datasets contamination tag dedup mixes"
CONTAMINATION_KEYS = "name benchmarks fields id_field output n"
TAG_KEYS = "run datasets recipe taggers batch_size"
TAGGER_KEYS = "name params"
EXACT_KEYS = "run method datasets by normalize partitions"
MINHASH_KEYS = (
    "run method datasets ngram num_perm seed threshold bands rows verify chaining partitions"
    " recall_weight keep"
)
KEEP_KEYS = "source_priority attribute prefer_longer"
MIX_KEYS = "spec data_root output index publish"
PUBLISH_KEYS = "output provenance"
# Tagger parameters that name a file: relative ones are read against the pipeline's folder.
PATH_PARAMS = ("index", "model")


@dataclass(frozen=True)
class BenchmarkIndex:
    """A benchmark n-gram index to build (`dolmakit contamination index`)."""

    name: str
    benchmarks: tuple[tuple[str, Path], ...]
    fields: tuple[str, ...]
    output: Path
    id_field: str | None = None
    n: int | None = None


@dataclass(frozen=True)
class TagRun:
    """One tag run over some datasets: the run name and its validated recipe."""

    run: str
    datasets: tuple[str, ...]
    recipe: Recipe
    batch_size: int = 512


@dataclass(frozen=True)
class DedupRun:
    """One dedup run (exact or MinHash) over the documents of some datasets."""

    run: str
    datasets: tuple[str, ...]
    config: ExactConfig | MinHashConfig

    @property
    def method(self) -> str:
        """Return 'exact' or 'minhash'."""
        return "exact" if isinstance(self.config, ExactConfig) else "minhash"


@dataclass(frozen=True)
class Publish:
    """Where a mix is published as a Hugging Face dataset folder."""

    output: Path
    provenance: bool = True


@dataclass(frozen=True)
class MixRun:
    """One mix: its spec file, data root and output, and what follows it (index, publish)."""

    spec: Path
    data_root: Path
    output: Path | None = None
    index: bool = False
    publish: Publish | None = None


@dataclass(frozen=True)
class Pipeline:
    """A validated pipeline: every stage in the order it runs; `path` is the file."""

    name: str
    path: Path
    datasets: Mapping[str, Path]
    state: Path
    description: str = ""
    contamination: tuple[BenchmarkIndex, ...] = ()
    tag: tuple[TagRun, ...] = ()
    dedup: tuple[DedupRun, ...] = ()
    mixes: tuple[MixRun, ...] = ()
    lines: Mapping[str, int] = field(default_factory=dict, compare=False, hash=False)


def load_pipeline(path: str | Path) -> Pipeline:
    """Read a pipeline file and validate it; ConfigError names file, line and field."""
    path = Path(path)
    return parse_pipeline(read_config_text(path, WHAT), path)


def parse_pipeline(text: str, path: Path) -> Pipeline:
    """Validate the text of a pipeline file (`path` names it and anchors relative paths)."""
    root = compose_config(text, path, WHAT)
    if root is None:
        raise ConfigError(f"{path}: the {WHAT} is empty")
    data, lines = plain_values(root, path, WHAT)
    return _Reader(path, lines).pipeline(data)


class _Reader:
    """Check plain values field by field; every error names the line of its field."""

    def __init__(self, path: Path, lines: dict[str, int]) -> None:
        self.path = path
        self.lines = lines
        self.base = path.parent

    def error(self, where: str, problem: str) -> ConfigError:
        probe = where
        while probe and probe not in self.lines:
            probe = probe.rpartition(".")[0] if "." in probe else ""
        line = self.lines.get(probe, 0)
        at = f"{self.path}:{line}" if line else str(self.path)
        return ConfigError(f"{at}: {where or WHAT}: {problem}")

    def mapping(self, value: Any, where: str, known: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.error(where, f"expected a mapping, got {_kind(value)}")
        allowed = known.split()
        for key in value:
            if key not in allowed:
                child = f"{where}.{key}" if where else key
                raise self.error(child, f"unknown key {key!r} (known keys: {', '.join(allowed)})")
        return value

    def items(self, value: Any, where: str) -> list[Any]:
        if value is None:
            return []
        if not isinstance(value, list):
            raise self.error(where, f"expected a list, got {_kind(value)}")
        return value

    def string(self, value: Any, where: str) -> str:
        if not isinstance(value, str) or not value:
            raise self.error(where, f"expected a non-empty string, got {_kind(value)}")
        return value

    def name(self, value: Any, where: str) -> str:
        text = self.string(value, where)
        if not _NAME_RE.match(text):
            raise self.error(where, f"{text!r} is not a valid name (letters, digits, _ . -)")
        return text

    def integer(self, value: Any, where: str, low: int = 1) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.error(where, f"expected an integer, got {_kind(value)}")
        if value < low:
            raise self.error(where, f"must be at least {low}, got {value}")
        return value

    def number(self, value: Any, where: str) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.error(where, f"expected a number, got {_kind(value)}")
        return float(value)

    def boolean(self, value: Any, where: str) -> bool:
        if not isinstance(value, bool):
            raise self.error(where, f"expected true or false, got {_kind(value)}")
        return value

    def strings(self, value: Any, where: str) -> tuple[str, ...]:
        if isinstance(value, str):
            return (value,)
        return tuple(
            self.string(v, f"{where}[{i}]") for i, v in enumerate(self.items(value, where))
        )

    def path_of(self, value: Any, where: str) -> Path:
        given = Path(self.string(value, where)).expanduser()
        return (given if given.is_absolute() else self.base / given).resolve()

    def existing(self, value: Any, where: str, what: str) -> Path:
        found = self.path_of(value, where)
        if not found.exists():
            raise self.error(where, f"{what} {found} does not exist")
        return found

    # ------------------------------------------------------------------ sections

    def pipeline(self, data: Any) -> Pipeline:
        top = self.mapping(data, "", TOP_KEYS)
        if "name" not in top:
            raise self.error("", "missing required key 'name'")
        name = self.name(top["name"], "name")
        description = top.get("description") or ""
        if not isinstance(description, str):
            raise self.error("description", f"expected a string, got {_kind(description)}")
        if "datasets" not in top:
            raise self.error("", "missing required key 'datasets'")
        datasets = self.datasets(top["datasets"])
        first = next(iter(datasets.values()))
        state = (
            self.path_of(top["state"], "state")
            if top.get("state") is not None
            else first / ".dolmakit" / "pipelines" / name
        )
        contamination = tuple(
            self.benchmark_index(v, f"contamination[{i}]")
            for i, v in enumerate(self.items(top.get("contamination"), "contamination"))
        )
        tag = tuple(
            self.tag_run(v, f"tag[{i}]", datasets)
            for i, v in enumerate(self.items(top.get("tag"), "tag"))
        )
        dedup = tuple(
            self.dedup_run(v, f"dedup[{i}]", datasets)
            for i, v in enumerate(self.items(top.get("dedup"), "dedup"))
        )
        mixes = tuple(
            self.mix_run(v, f"mixes[{i}]", datasets)
            for i, v in enumerate(self.items(top.get("mixes"), "mixes"))
        )
        self.unique([t.run for t in tag] + [d.run for d in dedup], "run", "tag and dedup runs")
        self.unique([str(m.spec) for m in mixes], "spec", "mixes")
        if not (contamination or tag or dedup or mixes):
            raise self.error("", "no stages: give at least one of contamination, tag, dedup, mixes")
        return Pipeline(
            name=name,
            path=self.path,
            datasets=datasets,
            state=state,
            description=description,
            contamination=contamination,
            tag=tag,
            dedup=dedup,
            mixes=mixes,
            lines=dict(self.lines),
        )

    def unique(self, values: list[str], key: str, what: str) -> None:
        seen = set()
        for value in values:
            if value in seen:
                raise ConfigError(f"{self.path}: {key} {value!r} appears twice among the {what}")
            seen.add(value)

    def datasets(self, value: Any) -> dict[str, Path]:
        if not isinstance(value, dict) or not value:
            raise self.error("datasets", "expected a mapping of dataset names to folders")
        out = {}
        for key, folder in value.items():
            where = f"datasets.{key}"
            self.name(key, where)
            path = self.existing(folder, where, "the dataset folder")
            if not (path / "documents").is_dir():
                raise self.error(where, f"{path} has no documents/ folder (<dataset>/documents)")
            out[key] = path
        return out

    def which(self, value: Any, where: str, datasets: Mapping[str, Path]) -> tuple[str, ...]:
        if value is None:
            return tuple(datasets)
        names = self.strings(value, where)
        for i, name in enumerate(names):
            if name not in datasets:
                raise self.error(
                    f"{where}[{i}]", f"unknown dataset {name!r} (datasets: {', '.join(datasets)})"
                )
        if not names:
            raise self.error(where, "name at least one dataset")
        return names

    def benchmark_index(self, value: Any, where: str) -> BenchmarkIndex:
        entry = self.mapping(value, where, CONTAMINATION_KEYS)
        for key in ("name", "benchmarks", "fields", "output"):
            if entry.get(key) is None:
                raise self.error(where, f"missing required key {key!r}")
        benches = []
        for i, item in enumerate(self.strings(entry["benchmarks"], f"{where}.benchmarks")):
            here = f"{where}.benchmarks[{i}]"
            bench, eq, file = item.partition("=")
            if not eq:
                bench, file = Path(item).name.split(".")[0], item
            benches.append((self.name(bench, here), self.existing(file, here, "the benchmark")))
        n = entry.get("n")
        return BenchmarkIndex(
            name=self.name(entry["name"], f"{where}.name"),
            benchmarks=tuple(benches),
            fields=self.strings(entry["fields"], f"{where}.fields"),
            output=self.path_of(entry["output"], f"{where}.output"),
            id_field=(
                self.string(entry["id_field"], f"{where}.id_field")
                if entry.get("id_field") is not None
                else None
            ),
            n=self.integer(n, f"{where}.n") if n is not None else None,
        )

    def tag_run(self, value: Any, where: str, datasets: Mapping[str, Path]) -> TagRun:
        entry = self.mapping(value, where, TAG_KEYS)
        if entry.get("run") is None:
            raise self.error(where, "missing required key 'run'")
        if (entry.get("recipe") is None) == (entry.get("taggers") is None):
            raise self.error(where, "give exactly one of 'recipe' (a file) and 'taggers' (a list)")
        if entry.get("recipe") is not None:
            file = self.existing(entry["recipe"], f"{where}.recipe", "the recipe")
            recipe = load_recipe(file)
        else:
            recipe = self.taggers(entry["taggers"], f"{where}.taggers")
        batch = entry.get("batch_size")
        return TagRun(
            run=self.name(entry["run"], f"{where}.run"),
            datasets=self.which(entry.get("datasets"), f"{where}.datasets", datasets),
            recipe=recipe,
            batch_size=self.integer(batch, f"{where}.batch_size") if batch is not None else 512,
        )

    def taggers(self, value: Any, where: str) -> Recipe:
        specs: list[TaggerSpec] = []
        for i, item in enumerate(self.items(value, where)):
            here = f"{where}[{i}]"
            if isinstance(item, str):
                spec = TaggerSpec(item)
            else:
                entry = self.mapping(item, here, TAGGER_KEYS)
                params = entry.get("params") or {}
                if not isinstance(params, dict):
                    raise self.error(f"{here}.params", f"expected a mapping, got {_kind(params)}")
                params = {k: self.tagger_path(k, v) for k, v in params.items()}
                spec = TaggerSpec(self.string(entry.get("name"), f"{here}.name"), params)
            try:
                problem = check_spec(spec)
            except DolmakitError as exc:
                problem = str(exc)
            if problem:
                raise self.error(here, f"{spec.name!r}: {problem}")
            if any(s.name == spec.name for s in specs):
                raise self.error(here, f"tagger {spec.name!r} is listed twice")
            specs.append(spec)
        if not specs:
            raise self.error(where, "list at least one tagger")
        return Recipe(tuple(specs), source=f"{self.path}:{self.lines.get(where, 0)}")

    def tagger_path(self, key: Any, value: Any) -> Any:
        """Return a relative file parameter that exists next to the pipeline as an absolute path."""
        if key not in PATH_PARAMS or not isinstance(value, str) or Path(value).is_absolute():
            return value
        beside = (self.base / value).resolve()
        # A name without a folder (a model looked up by name) stays as it is, unless it is there.
        return str(beside) if "/" in value or beside.exists() else value

    def dedup_run(self, value: Any, where: str, datasets: Mapping[str, Path]) -> DedupRun:
        if not isinstance(value, dict):
            raise self.error(where, f"expected a mapping, got {_kind(value)}")
        method = value.get("method")
        if method not in ("exact", "minhash"):
            raise self.error(f"{where}.method", "give method: exact or method: minhash")
        entry = self.mapping(value, where, EXACT_KEYS if method == "exact" else MINHASH_KEYS)
        if entry.get("run") is None:
            raise self.error(where, "missing required key 'run'")
        config: ExactConfig | MinHashConfig
        try:
            config = self.exact(entry, where) if method == "exact" else self.minhash(entry, where)
        except ConfigError as exc:
            if str(exc).startswith(str(self.path)):
                raise
            raise self.error(where, str(exc)) from None
        return DedupRun(
            run=self.name(entry["run"], f"{where}.run"),
            datasets=self.which(entry.get("datasets"), f"{where}.datasets", datasets),
            config=config,
        )

    def exact(self, entry: dict[str, Any], where: str) -> ExactConfig:
        options: dict[str, Any] = {}
        if entry.get("by") is not None:
            options["by"] = self.string(entry["by"], f"{where}.by")
        if entry.get("normalize") is not None:
            options["normalize"] = self.boolean(entry["normalize"], f"{where}.normalize")
        if entry.get("partitions") is not None:
            options["partitions"] = self.integer(entry["partitions"], f"{where}.partitions")
        return ExactConfig(**options).checked()

    def minhash(self, entry: dict[str, Any], where: str) -> MinHashConfig:
        options: dict[str, Any] = {}
        for key in ("ngram", "num_perm", "bands", "rows", "partitions"):
            if entry.get(key) is not None:
                options[key] = self.integer(entry[key], f"{where}.{key}")
        if entry.get("seed") is not None:
            options["seed"] = self.integer(entry["seed"], f"{where}.seed", low=0)
        for key in ("threshold", "recall_weight"):
            if entry.get(key) is not None:
                options[key] = self.number(entry[key], f"{where}.{key}")
        for key, modes in (("verify", VERIFY_MODES), ("chaining", CHAINING_MODES)):
            if entry.get(key) is not None:
                if entry[key] not in modes:
                    raise self.error(f"{where}.{key}", f"one of {', '.join(modes)}")
                options[key] = entry[key]
        if entry.get("keep") is not None:
            here = f"{where}.keep"
            keep = self.mapping(entry["keep"], here, KEEP_KEYS)
            attribute = keep.get("attribute")
            prefer = keep.get("prefer_longer")
            options["keep"] = KeepRule(
                source_priority=self.strings(
                    keep.get("source_priority"), f"{here}.source_priority"
                ),
                attribute=self.string(attribute, f"{here}.attribute") if attribute else None,
                prefer_longer=self.boolean(prefer, f"{here}.prefer_longer")
                if prefer is not None
                else True,
            )
        config = MinHashConfig(**options)
        config.resolved()  # refuse impossible values now, not after tagging
        return config

    def mix_run(self, value: Any, where: str, datasets: Mapping[str, Path]) -> MixRun:
        entry = self.mapping(value, where, MIX_KEYS)
        if entry.get("spec") is None:
            raise self.error(where, "missing required key 'spec'")
        spec = self.existing(entry["spec"], f"{where}.spec", "the mix spec")
        load_spec(spec)  # a bad spec is refused before any stage runs
        if entry.get("data_root") is not None:
            data_root = self.existing(entry["data_root"], f"{where}.data_root", "the data root")
        elif len(datasets) == 1:
            data_root = next(iter(datasets.values()))
        else:
            raise self.error(where, "with several datasets, give the mix its data_root")
        publish = None
        if entry.get("publish") is not None:
            here = f"{where}.publish"
            given = entry["publish"]
            if isinstance(given, str):
                publish = Publish(self.path_of(given, here))
            else:
                options = self.mapping(given, here, PUBLISH_KEYS)
                if options.get("output") is None:
                    raise self.error(here, "missing required key 'output'")
                provenance = options.get("provenance")
                publish = Publish(
                    self.path_of(options["output"], f"{here}.output"),
                    self.boolean(provenance, f"{here}.provenance")
                    if provenance is not None
                    else True,
                )
        index = entry.get("index")
        return MixRun(
            spec=spec,
            data_root=data_root,
            output=(
                self.path_of(entry["output"], f"{where}.output")
                if entry.get("output") is not None
                else None
            ),
            index=self.boolean(index, f"{where}.index") if index is not None else False,
            publish=publish,
        )
