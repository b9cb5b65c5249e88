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
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

import numpy as np

from dolmakit.document import Document, Span
from dolmakit.errors import DolmakitError
from dolmakit.taggers.base import register
from dolmakit.taggers.memo import TextMemo
from dolmakit.taggers.profanity import load_profanity_model
from dolmakit.taggers.segments import sentence_spans

# A lowered sentence's known words (vocabulary index + 1) and its probability of being toxic.
_Kept = tuple[list[int], float]

# A sentence ends at ., ! or ? (with closing quotes/brackets) before whitespace, or at a newline.


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
        self._scores: Callable[[Any], list[float]]
        arrays = load_profanity_model()
        if arrays is not None:  # the known model files: no scikit-learn import (profanity.py)
            self._vocabulary = arrays.vocabulary
            self._words = re.compile(arrays.token_pattern)
            self._scores = arrays.probabilities
        else:
            self._vocabulary, self._words, self._scores = _sklearn_model()
        # The vocabulary shifted by one, so that a word outside it (None) filters out in C.
        self._columns = {word: index + 1 for word, index in self._vocabulary.items()}
        self.memo: TextMemo[_Kept] = TextMemo()

    def predict(self, texts: list[str]) -> list[float]:
        """Return the probability that each text is toxic, in one batch."""
        if not texts:
            return []
        find, lookup = self._words.findall, self._columns.get
        rows = [list(filter(None, map(lookup, find(text.lower())))) for text in texts]
        return self._scores(
            self._count_matrix([c for row in rows for c in row], list(map(len, rows)))
        )

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
        # (document, start, end, lowered sentence, its probability if the memo had it)
        owners: list[tuple[int, int, int, str, float | None]] = []
        doc_columns: list[int] = []  # vocabulary index + 1 of every known word, per document
        doc_lengths: list[int] = []  # known words per kept document
        docs_kept: list[int] = []
        # A sentence's columns and score depend on its lowered text alone: the memo keeps
        # both, and a sentence not in it is vectorised and scored once per batch.
        memo = self.memo
        new: dict[str, list[int]] = {}  # lowered sentence -> its columns, in first-seen order
        find, lookup = self._words.findall, self._columns.get
        for i, doc in enumerate(docs):
            text = doc.text
            if not text.strip():
                continue
            lower = text.lower()
            same_length = len(lower) == len(text)
            before = len(doc_columns)
            for start, end in sentence_spans(text):
                piece = lower[start:end] if same_length else text[start:end].lower()
                kept = memo.get(piece)
                if kept is not None:
                    doc_columns += kept[0]
                    owners.append((i, start, end, piece, kept[1]))
                else:
                    columns = new.get(piece)
                    if columns is None:
                        columns = new[piece] = list(filter(None, map(lookup, find(piece))))
                    doc_columns += columns
                    owners.append((i, start, end, piece, None))
            docs_kept.append(i)
            doc_lengths.append(len(doc_columns) - before)
        results: list[dict[str, list[Span]]] = [{} for _ in docs]
        if not owners:
            return results
        new_columns = [column for columns in new.values() for column in columns]
        counts = self._count_matrix(
            doc_columns + new_columns, doc_lengths + [len(c) for c in new.values()]
        )
        probs = self._scores(counts)
        for row, i in enumerate(docs_kept):
            results[i]["toxic"] = [Span(0, len(docs[i].text), probs[row])]
        scores = dict(zip(new, probs[len(docs_kept) :], strict=True))
        for piece, columns in new.items():
            memo.put(piece, (columns, scores[piece]))
        minimum = self.min_sentence_score
        for i, start, end, piece, prob in owners:
            if prob is None:
                prob = scores[piece]
            if prob >= minimum:
                results[i].setdefault("toxic_sentence", []).append(Span(start, end, prob))
        return results

    def _count_matrix(self, columns: list[int], lengths: list[int]) -> Any:
        """Return the CSR word counts (float64, indices sorted) of rows of given lengths.

        `columns` holds vocabulary index + 1 of each known word, row after row.
        """
        sparse = _sparse()
        cols = np.asarray(columns, dtype=np.int64) - 1
        rows = np.repeat(np.arange(len(lengths)), lengths)
        data = np.ones(len(cols), dtype=np.float64)
        matrix = sparse.csr_matrix(
            (data, (rows, cols)), shape=(len(lengths), len(self._vocabulary))
        )
        matrix.sum_duplicates()
        return matrix


def _sparse() -> Any:
    """Return scipy.sparse (installed with scikit-learn, which the model needs)."""
    from scipy import sparse  # type: ignore[import-untyped]

    return sparse
