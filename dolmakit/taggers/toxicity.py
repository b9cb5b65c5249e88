"""The `toxicity` tagger: a trained profanity/toxicity classifier, per document and per sentence.

The model is alt-profanity-check's (a TF-IDF vectorizer and a calibrated linear SVM trained on
labelled English comments, shipped in its wheel; MIT), so it runs offline. It pins
scikit-learn and joblib exactly, which is why it lives in its own extra
(`dolmakit[toxicity]`). It is English-only: text in other languages scores low. The word-list
tagger `ldnoobw` (multilingual, C4-style) and `classifier` (any fastText model, e.g. one
trained on Jigsaw data with `dolmakit train-classifier`) are the other toxicity signals.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from dolmakit.document import Document, Span
from dolmakit.errors import DolmakitError
from dolmakit.taggers.base import register
from dolmakit.taggers.segments import sentence_spans

# A sentence ends at ., ! or ? (with closing quotes/brackets) before whitespace, or at a newline.


def load_profanity_model() -> tuple[Any, Any]:
    """Return alt-profanity-check's (vectorizer, model), loaded once per process on import."""
    try:
        from profanity_check import profanity_check
    except ImportError:
        raise DolmakitError(
            "the toxicity tagger needs alt-profanity-check: pip install 'dolmakit[toxicity]'"
        ) from None
    return profanity_check.vectorizer, profanity_check.model


@register
class ToxicityTagger:
    """Score documents and their sentences with a trained English profanity classifier."""

    name: ClassVar[str] = "toxicity"
    version: ClassVar[str] = "1"
    attributes: ClassVar[tuple[str, ...]] = ("toxic", "toxic_sentence")
    requires: ClassVar[str] = "alt-profanity-check (dolmakit[toxicity]; pins scikit-learn)"
    description: ClassVar[str] = (
        "Trained profanity/toxicity classifier (alt-profanity-check, English): toxic = "
        "document probability, toxic_sentence = per-sentence spans with their probability."
    )

    def __init__(self, sentences: bool = True, min_sentence_score: float = 0.0) -> None:
        if not 0.0 <= min_sentence_score <= 1.0:
            raise DolmakitError(
                f"min_sentence_score must be within [0, 1], got {min_sentence_score}"
            )
        self.sentences = sentences
        self.min_sentence_score = min_sentence_score
        self._vectorizer, self._model = load_profanity_model()

    def predict(self, texts: list[str]) -> list[float]:
        """Return the probability that each text is toxic, in one batch."""
        if not texts:
            return []
        probs = self._model.predict_proba(self._vectorizer.transform(texts))[:, 1]
        return [float(p) for p in probs]

    def tag_batch(self, docs: Sequence[Document]) -> list[dict[str, list[Span]]]:
        """Return `toxic` per non-blank document and `toxic_sentence` spans per sentence."""
        texts: list[str] = []
        owners: list[tuple[int, int, int]] = []  # (document index, start, end); start < 0: doc
        for i, doc in enumerate(docs):
            if not doc.text.strip():
                continue
            texts.append(doc.text)
            owners.append((i, -1, len(doc.text)))
            if self.sentences:
                for start, end in sentence_spans(doc.text):
                    texts.append(doc.text[start:end])
                    owners.append((i, start, end))
        results: list[dict[str, list[Span]]] = [{} for _ in docs]
        for (i, start, end), prob in zip(owners, self.predict(texts), strict=True):
            if start < 0:
                results[i]["toxic"] = [Span(0, end, prob)]
            elif prob >= self.min_sentence_score:
                results[i].setdefault("toxic_sentence", []).append(Span(start, end, prob))
        return results
