"""The `toxicity` tagger: a trained profanity/toxicity classifier, per document and per sentence.

The model is alt-profanity-check's (a TF-IDF vectorizer and a calibrated linear SVM trained on
labelled English comments, shipped in its wheel; MIT), so it runs offline. It pins
scikit-learn and joblib exactly, which is why it lives in its own extra
(`dolmakit[toxicity]`); the model files of the wheel tested are read and evaluated without
importing scikit-learn, with the same results (`dolmakit.taggers.profanity`). It is
English-only: text in other languages scores low. The word-list tagger `ldnoobw`
(multilingual, C4-style) and `classifier` (any fastText model, e.g. one trained on Jigsaw
data with `dolmakit train-classifier`) are the other toxicity signals.
"""

from __future__ import annotations

import re
from array import array
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

from dolmakit.document import Document, Span
from dolmakit.errors import DolmakitError
from dolmakit.taggers.base import register
from dolmakit.taggers.memo import TextMemo
from dolmakit.taggers.profanity import count_matrix, load_profanity_model
from dolmakit.taggers.toxicity_scan import Kept, scan_for, spans

_INT64 = 8  # bytes per column in the scan's arrays


def _sklearn_model() -> tuple[dict[str, int], re.Pattern[str], Callable[[Any], list[float]]]:
    """Return (vocabulary, word pattern, scorer of count rows) from scikit-learn's objects.

    The vectorizer's own steps are run by the tagger, once per text: lower case, its word
    pattern, its vocabulary without its stop words, then its TF-IDF weighting and the model.
    """
    try:
        from profanity_check import profanity_check
    except ImportError:
        raise DolmakitError(
            "the toxicity tagger needs alt-profanity-check: pip install 'dolmakit[toxicity]'"
        ) from None
    vectorizer, model = profanity_check.vectorizer, profanity_check.model
    expected = {
        "analyzer": "word", "ngram_range": (1, 1), "lowercase": True, "input": "content",
        "strip_accents": None, "preprocessor": None, "tokenizer": None, "binary": False,
    }  # fmt: skip
    found = {key: getattr(vectorizer, key) for key in expected}
    if found != expected:
        raise DolmakitError(f"toxicity: unexpected vectorizer settings {found}")
    stop = vectorizer.get_stop_words() or frozenset()
    vocabulary = {word: index for word, index in vectorizer.vocabulary_.items() if word not in stop}
    tfidf = vectorizer._tfidf

    def scores(counts: Any) -> list[float]:
        return [float(p) for p in model.predict_proba(tfidf.transform(counts))[:, 1]]

    return vocabulary, re.compile(vectorizer.token_pattern), scores


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
        # (vocabulary columns as native int64 bytes, row lengths) -> P(toxic) per row
        self._scores: Callable[[bytes, list[int]], list[float]]
        arrays = load_profanity_model()
        if arrays is not None:  # the known model files: no scikit-learn import (profanity.py)
            self._vocabulary = arrays.vocabulary
            self._words = re.compile(arrays.token_pattern)
            self._scores = arrays.row_probabilities
        else:
            self._vocabulary, self._words, score_counts = _sklearn_model()
            width = len(self._vocabulary)
            self._scores = lambda columns, lengths: score_counts(
                count_matrix(columns, lengths, width)
            )
        self._scan = scan_for(self._words.pattern)
        # A lowered sentence's known words (vocabulary indices) and its probability.
        self.memo: TextMemo[Kept] = TextMemo()

    def predict(self, texts: list[str]) -> list[float]:
        """Return the probability that each text is toxic, in one batch."""
        if not texts:
            return []
        find, lookup = self._words.findall, self._vocabulary.get
        columns, lengths = array("q"), []
        for text in texts:
            row = [i for i in map(lookup, find(text.lower())) if i is not None]
            columns.extend(row)
            lengths.append(len(row))
        return self._scores(columns.tobytes(), lengths)

    def tag_batch(self, docs: Sequence[Document]) -> list[dict[str, list[Span]]]:
        """Return `toxic` per non-blank document and `toxic_sentence` spans per sentence.

        Each text is tokenised once: a document's word counts are the sum of its sentences'
        (sentences are cut at whitespace and cover every word, and the vectorizer counts
        single words), so its TF-IDF row, and so its score, equals that of the whole text.
        """
        if not self.sentences:
            kept = [i for i, doc in enumerate(docs) if doc.text.strip()]
            scores = self.predict([docs[i].text for i in kept])
            results: list[dict[str, list[Span]]] = [{} for _ in docs]
            for i, prob in zip(kept, scores, strict=True):
                results[i]["toxic"] = [Span(0, len(docs[i].text), prob)]
            return results
        return self._tag_with_sentences(docs)

    def _tag_with_sentences(self, docs: Sequence[Document]) -> list[dict[str, list[Span]]]:
        # A sentence's columns and score depend on its lowered text alone: the memo keeps
        # both, and a sentence not in it is vectorised and scored once per batch (`new`).
        kept = [i for i, doc in enumerate(docs) if doc.text.strip()]
        texts = [docs[i].text for i in kept]
        lowers: list[str | None] = []
        for text in texts:
            lower = text.lower()
            lowers.append(lower if len(lower) == len(text) else None)
        new: dict[str, bytes] = {}
        columns, known, bounds, counts, refs = self._scan(
            texts, lowers, self.memo.entries, self._vocabulary, new
        )
        results: list[dict[str, list[Span]]] = [{} for _ in docs]
        if not kept:
            return results
        new_columns = list(new.values())
        probs = self._scores(
            columns + b"".join(new_columns), known + [len(c) // _INT64 for c in new_columns]
        )
        for row, i in enumerate(kept):
            results[i]["toxic"] = [Span(0, len(docs[i].text), probs[row])]
        new_probs = probs[len(kept) :]
        scores = dict(zip(new, new_probs, strict=True))
        self.memo.put_many(zip(new, zip(new_columns, new_probs, strict=True), strict=True))
        sentence_spans = spans(bounds, counts, refs, scores, self.min_sentence_score)
        for i, found in zip(kept, sentence_spans, strict=True):
            if found:
                results[i]["toxic_sentence"] = found
        return results
