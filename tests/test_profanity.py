"""The profanity model read without scikit-learn scores exactly as scikit-learn does."""

from __future__ import annotations

import re
import subprocess
import sys
from array import array
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_textstats import DEV_CORPUS, dev_texts

pytest.importorskip("profanity_check")

from dolmakit.document import Document
from dolmakit.taggers import profanity, toxicity
from dolmakit.taggers.profanity import count_matrix, load_profanity_model
from dolmakit.taggers.segments import sentence_spans
from dolmakit.taggers.toxicity import ToxicityTagger

MODEL = load_profanity_model()
pytestmark = pytest.mark.skipif(MODEL is None, reason="not the alt-profanity-check files tested")
WORDS = [*sorted(MODEL.vocabulary if MODEL else ())[::50], "fuck", "shit", "idiot", "hello"]


def sklearn_scores(texts: list[str]) -> Any:
    """P(toxic) as alt-profanity-check computes it, with scikit-learn."""
    from profanity_check import profanity_check

    return profanity_check.model.predict_proba(profanity_check.vectorizer.transform(texts))[:, 1]


def our_scores(texts: list[str]) -> list[float]:
    """P(toxic) from the tagger (every text has a non-blank character)."""
    tagger = ToxicityTagger(sentences=False)
    return [out["toxic"][0].score for out in tagger.tag_batch(_docs(texts))]


def _docs(texts: list[str]) -> list[Document]:
    return [Document(id=str(i), text=text) for i, text in enumerate(texts)]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.lists(
            st.one_of(st.sampled_from(WORDS), st.text(max_size=6)), min_size=1, max_size=40
        ).map(" ".join),
        min_size=1,
        max_size=30,
    )
)
def test_the_same_probabilities_bit_for_bit(texts: list[str]) -> None:
    texts = [t for t in texts if t.strip()] or ["hello"]
    assert our_scores(texts) == [float(p) for p in sklearn_scores(texts)]


@pytest.mark.skipif(not DEV_CORPUS.is_dir(), reason="dev corpus not present")
def test_the_same_probabilities_on_real_sentences() -> None:
    texts = []
    for text in dev_texts(40):
        texts.append(text)
        texts += [text[start:end] for start, end in sentence_spans(text)]
    texts = [t for t in texts if t.strip()]
    assert len(texts) > 1000
    ours, theirs = np.array(our_scores(texts)), np.asarray(sklearn_scores(texts))
    assert np.array_equal(ours, theirs), int((ours != theirs).sum())


def test_the_tagger_gives_the_same_spans_through_scikit_learn(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    docs = _docs(
        ["You are an idiot. Have a nice day!\nShit happens.", "", "Plain words here.", "  "]
    )
    direct = ToxicityTagger().tag_batch(docs)
    monkeypatch.setattr(toxicity, "load_profanity_model", lambda: None)
    assert ToxicityTagger().tag_batch(docs) == direct
    assert direct[0]["toxic_sentence"][0].score > 0.9 > direct[0]["toxic_sentence"][1].score
    assert direct[1] == {} and direct[3] == {}


def test_other_model_files_are_left_to_scikit_learn(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(profanity, "KNOWN_FILES", frozenset())
    assert load_profanity_model() is None


def test_a_text_without_known_words_scores_as_scikit_learn_scores_it() -> None:
    texts = ["zzzz qqqq", "hello", "1 2 3 ..."]  # an empty TF-IDF row is not normalised
    assert our_scores(texts) == [float(p) for p in sklearn_scores(texts)]


def test_tagging_does_not_import_scikit_learn() -> None:
    code = (
        "import sys\n"
        "from dolmakit.document import Document\n"
        "from dolmakit.taggers.base import load_tagger\n"
        "load_tagger('toxicity', {}).tag_batch([Document(id='a', text='You idiot. Hi.')])\n"
        "print('sklearn' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def _rows(texts: list[str]) -> tuple[bytes, list[int]]:
    """Return the texts' vocabulary columns (native int64 bytes) and row lengths."""
    assert MODEL is not None
    find = re.compile(MODEL.token_pattern).findall
    rows = [[MODEL.vocabulary[w] for w in find(t.lower()) if w in MODEL.vocabulary] for t in texts]
    return array("q", [c for row in rows for c in row]).tobytes(), [len(row) for row in rows]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.lists(st.sampled_from(WORDS), max_size=60).map(" ".join), min_size=1, max_size=40)
)
def test_rows_score_as_scikit_learn_scores_them_compiled_or_not(texts: list[str]) -> None:
    assert MODEL is not None
    columns, lengths = _rows(texts)
    expected = [float(p) for p in sklearn_scores(texts)]
    assert MODEL.row_probabilities(columns, lengths) == expected
    assert MODEL.probabilities(count_matrix(columns, lengths, len(MODEL.vocabulary))) == expected


def test_bad_rows_are_refused_by_the_compiled_scorer() -> None:
    native = profanity.NATIVE_SCORES
    if native is None or MODEL is None:
        pytest.skip("dolmakit._textstats is not built")
    numbers = (MODEL.idf, MODEL.weights, MODEL.intercepts, MODEL.slopes, MODEL.offsets)
    width, k = len(MODEL.vocabulary), len(MODEL.intercepts)
    with pytest.raises(ValueError, match="out of range"):
        native(array("q", [width]).tobytes(), [1], width, k, *numbers)
    with pytest.raises(ValueError, match="add up"):
        native(array("q", [1, 2]).tobytes(), [1], width, k, *numbers)
    with pytest.raises(ValueError, match="float64"):
        native(array("q", [1]).tobytes(), [1], width, k, MODEL.idf[:-1], *numbers[1:])
    with pytest.raises(ValueError, match="int64"):
        native(b"\0\0\0", [0], width, k, *numbers)
