"""Train a fastText document classifier and write it with a model card.

Training data is either labelled JSONL (`{"text": ..., "label": ...}` per line) or document
files per class ("these sources are label hq, those are lq"). A fixed fraction of examples is
held out by a hash of (seed, label, text), so the split does not depend on file order; the
card reports per-label precision and recall on it. fastText trains with one thread and the
given seed, which makes the model bytes a function of the data and the configuration.
With one thread fastText initialises only the first tenth of its input matrix and leaves the
rest as the allocator returns it (`DenseMatrix::uniformThread` splits it into 10 blocks, one
per thread; fasttext-numpy2's aligned storage is not zeroed). Recycled heap memory then gives
random "Encountered NaN" aborts and different models. `_zeroed_allocations` makes glibc
return zero-filled memory while fastText trains (mallopt M_PERTURB), so the untouched rows
are zeros, as on fresh pages; training is also retried on NaN.

Output folder (default `taggers/models/<name>/`): `model.bin` (or `model.ftz` when quantized),
`model_card.json` (machine-readable) and `README.md` (the same, for people). The `classifier`
tagger applies the card's text preprocessing.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import hashlib
import json
import re
import sys
import tempfile
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import msgspec

from dolmakit import __version__
from dolmakit.errors import DolmakitError, InputError
from dolmakit.io.digest import file_sha256
from dolmakit.io.paths import expand_inputs
from dolmakit.io.reader import (
    READ_ERRORS,
    file_problem,
    iter_lines,
    line_problem,
    read_documents,
)
from dolmakit.taggers.models import import_fasttext

LABEL_RE = re.compile(r"^[A-Za-z0-9_.-]+$")
CARD_FILE = "model_card.json"
NAN_RETRIES = 8
M_PERTURB = -6  # mallopt parameter number in glibc's malloc.h
_WS = re.compile(r"\s+")


def prepare_text(text: str, lowercase: bool = True) -> str:
    """Return the text as the classifier sees it: whitespace runs become one space."""
    text = _WS.sub(" ", text).strip()
    return text.lower() if lowercase else text


@dataclass(frozen=True)
class TrainConfig:
    """fastText hyper-parameters and the split; all of it goes into the model card."""

    epoch: int = 10
    lr: float = 0.3
    dim: int = 32
    word_ngrams: int = 2
    min_count: int = 2
    bucket: int = 50_000
    seed: int = 0
    holdout: float = 0.1
    lowercase: bool = True
    max_chars: int = 20_000
    max_per_label: int | None = None
    quantize: bool = False

    def check(self) -> None:
        """Raise DolmakitError for values fastText or the split cannot use."""
        if not 0.0 < self.holdout < 1.0:
            raise DolmakitError(f"holdout must be between 0 and 1, got {self.holdout}")
        for name in ("epoch", "dim", "word_ngrams", "min_count", "bucket", "max_chars"):
            if getattr(self, name) < 1:
                raise DolmakitError(f"{name} must be positive, got {getattr(self, name)}")
        if self.lr <= 0:
            raise DolmakitError(f"lr must be positive, got {self.lr}")


@dataclass(frozen=True)
class Example:
    """One labelled training text."""

    label: str
    text: str


@dataclass
class TrainingData:
    """Labelled examples plus the files they came from (path -> sha256)."""

    examples: list[Example] = field(default_factory=list)
    files: dict[str, str] = field(default_factory=dict)
    sources: dict[str, list[str]] = field(default_factory=dict)


@dataclass(frozen=True)
class LabelMetrics:
    """Held-out precision, recall and F1 of one label."""

    label: str
    precision: float
    recall: float
    f1: float
    support: int


@dataclass(frozen=True)
class TrainResult:
    """Where the model went and how it scored on held-out examples."""

    output: Path
    model_path: Path
    labels: tuple[str, ...]
    train_examples: int
    heldout_examples: int
    accuracy: float
    metrics: tuple[LabelMetrics, ...]


def check_label(label: Any, where: str) -> str:
    """Return a valid label or raise: labels become attribute types."""
    if not isinstance(label, str) or not LABEL_RE.match(label):
        raise DolmakitError(f"{where}: label {label!r} must be letters, digits, '_', '-' or '.'")
    return label


def load_labelled_jsonl(paths: Sequence[str | Path]) -> TrainingData:
    """Read `{"text", "label"}` lines; a bad line is an error naming its file and line."""
    data = TrainingData()
    decoder = msgspec.json.Decoder()
    for path in expand_inputs(paths):
        data.files[str(path)] = file_sha256(path)
        lineno = 0
        try:
            for lineno, raw in iter_lines(path):
                if raw is None:
                    raise InputError(str(path), lineno, "line longer than the size limit")
                if not raw.strip():
                    continue
                try:
                    obj = decoder.decode(raw)
                except (msgspec.DecodeError, UnicodeDecodeError, RecursionError) as exc:
                    raise InputError(str(path), lineno, line_problem(raw, lineno, exc)) from None
                if not isinstance(obj, dict) or not isinstance(obj.get("text"), str):
                    raise InputError(str(path), lineno, "expected an object with a string 'text'")
                label = check_label(obj.get("label"), f"{path}:{lineno}")
                data.examples.append(Example(label, obj["text"]))
        except READ_ERRORS as exc:
            raise InputError(str(path), lineno + 1, file_problem(exc)) from None
    return data


def load_classes(classes: Mapping[str, Sequence[str]]) -> TrainingData:
    """Read document files per label ({label: [files, folders or globs]}); text is the example."""
    if len(classes) < 2:
        raise DolmakitError("give documents for at least two labels (e.g. hq=... lq=...)")
    data = TrainingData()
    for label in sorted(classes):
        check_label(label, "class")
        files = expand_inputs(classes[label])
        data.sources[label] = [str(f) for f in files]
        for path in files:
            if str(path) in data.files:
                raise DolmakitError(f"{path} is listed under two labels")
            data.files[str(path)] = file_sha256(path)
            for _, doc in read_documents(path):
                data.examples.append(Example(label, doc.text))
    return data


def _key(seed: int, example: Example) -> int:
    digest = hashlib.blake2b(
        f"{seed}\0{example.label}\0{example.text}".encode("utf-8", "surrogatepass"), digest_size=8
    ).digest()
    return int.from_bytes(digest, "big")


def split(examples: Sequence[Example], config: TrainConfig) -> tuple[list[Example], list[Example]]:
    """Return (train, held-out): a hash decides, so the split ignores input order.

    With `max_per_label`, each label keeps its examples with the smallest hashes.
    """
    keyed = sorted(((_key(config.seed, e), e) for e in examples), key=lambda kv: kv[0])
    if config.max_per_label is not None:
        taken: Counter[str] = Counter()
        kept = []
        for key, e in keyed:
            if taken[e.label] < config.max_per_label:
                taken[e.label] += 1
                kept.append((key, e))
        keyed = kept
    cut = int(config.holdout * 2**64)
    train = [e for key, e in keyed if key >= cut]
    heldout = [e for key, e in keyed if key < cut]
    return train, heldout


def evaluate(
    labels: Sequence[str], gold: Sequence[str], predicted: Sequence[str]
) -> tuple[float, tuple[LabelMetrics, ...]]:
    """Return accuracy and per-label precision/recall/F1 (0.0 where undefined)."""
    metrics = []
    for label in labels:
        tp = sum(g == p == label for g, p in zip(gold, predicted, strict=True))
        n_pred = sum(p == label for p in predicted)
        n_gold = sum(g == label for g in gold)
        precision = tp / n_pred if n_pred else 0.0
        recall = tp / n_gold if n_gold else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        metrics.append(LabelMetrics(label, precision, recall, f1, n_gold))
    right = sum(g == p for g, p in zip(gold, predicted, strict=True))
    return (right / len(gold) if gold else 0.0), tuple(metrics)


def train_classifier(
    data: TrainingData,
    name: str,
    output: str | Path | None = None,
    config: TrainConfig | None = None,
) -> TrainResult:
    """Train a fastText classifier on `data` and write model, card and README to `output`."""
    config = config or TrainConfig()
    config.check()
    check_label(name, "model name")
    out = Path(output) if output is not None else Path("taggers") / "models" / name
    train, heldout = split(data.examples, config)
    labels = sorted({e.label for e in data.examples})
    if len(labels) < 2:
        raise DolmakitError(f"need examples of at least two labels, found {labels}")
    missing = sorted(set(labels) - {e.label for e in train})
    if missing:
        raise DolmakitError(f"no training examples left for labels {missing}")
    fasttext = import_fasttext()
    out.mkdir(parents=True, exist_ok=True)
    model_path = out / ("model.ftz" if config.quantize else "model.bin")
    with tempfile.TemporaryDirectory(prefix=".train-", dir=out) as tmp:
        train_file = Path(tmp) / "train.txt"
        with open(train_file, "w", encoding="utf-8", errors="replace") as f:
            for e in train:
                f.write(f"__label__{e.label} {_line(e.text, config)}\n")
        with _zeroed_allocations():
            model = _fit(fasttext, train_file, config)
            if config.quantize:
                model.quantize(
                    input=str(train_file), retrain=True, qnorm=True, cutoff=10_000, thread=1
                )
        model.save_model(str(Path(tmp) / model_path.name))
        Path(tmp, model_path.name).replace(model_path)
    predicted = _predict_labels(model, [_line(e.text, config) for e in heldout])
    accuracy, metrics = evaluate(labels, [e.label for e in heldout], predicted)
    result = TrainResult(
        out, model_path, tuple(labels), len(train), len(heldout), accuracy, metrics
    )
    write_card(result, data, name, config)
    return result


def _line(text: str, config: TrainConfig) -> str:
    return prepare_text(text[: config.max_chars], config.lowercase)


@contextlib.contextmanager
def _zeroed_allocations() -> Iterator[None]:
    """While active, glibc's malloc returns zero-filled memory (M_PERTURB = 0xff)."""
    libc = None
    if sys.platform == "linux":
        try:
            libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
            libc.mallopt(M_PERTURB, 0xFF)  # fills new chunks with 0xff ^ 0xff = 0
        except (OSError, AttributeError):  # not glibc: nothing to set
            libc = None
    try:
        yield
    finally:
        if libc is not None:
            libc.mallopt(M_PERTURB, 0)


def _fit(fasttext: Any, train_file: Path, config: TrainConfig) -> Any:
    for attempt in range(NAN_RETRIES):
        try:
            return fasttext.train_supervised(
                input=str(train_file),
                epoch=config.epoch,
                lr=config.lr,
                dim=config.dim,
                wordNgrams=config.word_ngrams,
                minCount=config.min_count,
                bucket=config.bucket,
                seed=config.seed,
                thread=1,
                verbose=0,
            )
        except RuntimeError as exc:
            if "NaN" not in str(exc) or attempt == NAN_RETRIES - 1:
                raise DolmakitError(f"fastText training failed: {exc}") from None
    raise AssertionError("unreachable")


def _predict_labels(model: Any, lines: list[str]) -> list[str]:
    if not lines:
        return []
    labels, _ = model.predict(lines, k=1)
    return [row[0].removeprefix("__label__") if row else "" for row in labels]


def write_card(result: TrainResult, data: TrainingData, name: str, config: TrainConfig) -> None:
    """Write model_card.json and README.md next to the model (no timestamps: reproducible)."""
    counts = Counter(e.label for e in data.examples)
    card = {
        "name": name,
        "kind": "fasttext-supervised",
        "trained_with": f"dolmakit {__version__} train-classifier",
        "model_file": result.model_path.name,
        "model_sha256": file_sha256(result.model_path),
        "labels": list(result.labels),
        "preprocessing": {
            "whitespace": "runs collapsed to one space",
            "lowercase": config.lowercase,
            "max_chars": config.max_chars,
        },
        "parameters": asdict(config),
        "training_data": {
            "files": [{"path": p, "sha256": h} for p, h in sorted(data.files.items())],
            "sources_per_label": data.sources,
            "examples_per_label": dict(sorted(counts.items())),
            "train_examples": result.train_examples,
            "heldout_examples": result.heldout_examples,
        },
        "heldout": {
            "accuracy": round(result.accuracy, 4),
            "per_label": [
                {
                    "label": m.label,
                    "precision": round(m.precision, 4),
                    "recall": round(m.recall, 4),
                    "f1": round(m.f1, 4),
                    "support": m.support,
                }
                for m in result.metrics
            ],
        },
    }
    (result.output / CARD_FILE).write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")
    (result.output / "README.md").write_text(render_card(card), encoding="utf-8")


def render_card(card: Mapping[str, Any]) -> str:
    """Return the model card as Markdown."""
    data = card["training_data"]
    lines = [
        f"# Model card: {card['name']}",
        "",
        f"fastText supervised classifier, trained with `{card['trained_with']}`.",
        f"Model file `{card['model_file']}` (sha256 `{card['model_sha256']}`).",
        f"Labels (attribute types of the `classifier` tagger): {', '.join(card['labels'])}.",
        "",
        "## Held-out evaluation",
        "",
        f"{data['heldout_examples']} held-out examples; accuracy {card['heldout']['accuracy']}.",
        "",
        "| label | precision | recall | F1 | support |",
        "|---|---|---|---|---|",
    ]
    for m in card["heldout"]["per_label"]:
        lines.append(
            f"| {m['label']} | {m['precision']} | {m['recall']} | {m['f1']} | {m['support']} |"
        )
    lines += [
        "",
        "## Training data",
        "",
        f"{data['train_examples']} training examples; examples per label: "
        + ", ".join(f"{k} {v}" for k, v in data["examples_per_label"].items())
        + ".",
        "",
        "| file | sha256 |",
        "|---|---|",
        *(f"| {f['path']} | `{f['sha256']}` |" for f in data["files"]),
        "",
        "## Parameters",
        "",
        *(f"- {k}: {v}" for k, v in card["parameters"].items()),
        "",
        "Preprocessing: whitespace runs become one space"
        + (", lower-cased" if card["preprocessing"]["lowercase"] else "")
        + f", first {card['preprocessing']['max_chars']} characters.",
        "",
    ]
    return "\n".join(lines)
