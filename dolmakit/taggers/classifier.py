"""The `classifier` tagger: any fastText supervised model; its labels become attribute types.

Each document gets one document-level span per label, scored with the model's probability
(`__label__hq` becomes type `hq`). A model trained by `dolmakit train-classifier` has a
`model_card.json` next to it whose preprocessing (lower-casing, character cap) is applied
here too; for any other model the text only has its whitespace runs collapsed (fastText
cannot take newlines).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

from dolmakit.document import Document, Span
from dolmakit.errors import DolmakitError
from dolmakit.taggers.base import register
from dolmakit.taggers.models import load_fasttext_model
from dolmakit.taggers.train import CARD_FILE, prepare_text

_LABEL = "__label__"
_UNSAFE = re.compile(r"[^A-Za-z0-9_]")


@register
class ClassifierTagger:
    """Score documents with a fastText classifier: `<label>` = probability, per label."""

    name: ClassVar[str] = "classifier"
    version: ClassVar[str] = "1"
    attributes: ClassVar[tuple[str, ...]] = ("*",)
    requires: ClassVar[str] = "fasttext-numpy2 (dolmakit[lid]); parameter model: a model file"
    description: ClassVar[str] = (
        "Any fastText classifier (parameter model: path, e.g. from `dolmakit train-classifier`): "
        "one document-level <label> = probability per label."
    )

    def __init__(self, model: str, top_k: int = -1) -> None:
        path = Path(model).expanduser()
        if not path.is_file():
            raise DolmakitError(f"classifier model {str(path)!r} does not exist")
        self.model_path = path
        self.top_k = top_k
        self.lowercase = False
        self.max_chars: int | None = None
        card = path.parent / CARD_FILE
        if card.is_file():
            try:
                pre = json.loads(card.read_text(encoding="utf-8"))["preprocessing"]
                self.lowercase = bool(pre["lowercase"])
                self.max_chars = int(pre["max_chars"])
            except (ValueError, KeyError, TypeError) as exc:
                raise DolmakitError(f"{card}: unreadable model card: {exc}") from None
        self._model: Any = load_fasttext_model(str(path))
        self.labels = [label.removeprefix(_LABEL) for label in self._model.get_labels()]

    def tag_batch(self, docs: Sequence[Document]) -> list[dict[str, list[Span]]]:
        """Return `{label: [[0, len(text), probability]]}` for each non-blank document."""
        lines = [prepare_text(doc.text[: self.max_chars], self.lowercase) for doc in docs]
        todo = [i for i, line in enumerate(lines) if line]
        results: list[dict[str, list[Span]]] = [{} for _ in docs]
        if not todo:
            return results
        batch = [lines[i] for i in todo]
        try:
            labels, probs = self._model.predict(batch, k=self.top_k)
        except (TypeError, UnicodeError):  # lone surrogates cannot cross into C++
            batch = [line.encode("utf-8", "replace").decode("utf-8") for line in batch]
            labels, probs = self._model.predict(batch, k=self.top_k)
        for i, row, row_probs in zip(todo, labels, probs, strict=True):
            end = len(docs[i].text)
            results[i] = {
                _UNSAFE.sub("_", label.removeprefix(_LABEL)): [Span(0, end, min(1.0, float(p)))]
                for label, p in zip(row, row_probs, strict=True)
            }
        return results
