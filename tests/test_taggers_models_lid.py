"""Language ID: fastText lid.176 and CLD2 taggers, offline, and their accuracy on real text."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from dolmakit.document import Document
from dolmakit.errors import DolmakitError
from dolmakit.io.reader import read_documents
from dolmakit.taggers.base import load_tagger
from dolmakit.taggers.models import LID_MODEL_ENV, lid_model_path
from dolmakit.taggers.segments import paragraph_spans

TESTSET = Path(__file__).parent / "data" / "lid" / "handbook.jsonl.gz"
# Measured on tests/data/lid (360 documents); docs/taggers-models.md records them.
MIN_ACCURACY = 0.98


def _have_fasttext_model() -> bool:
    try:
        import fasttext  # noqa: F401

        lid_model_path()
    except (ImportError, DolmakitError):
        return False
    return True


needs_fasttext = pytest.mark.skipif(
    not _have_fasttext_model(), reason="fasttext-numpy2 or lid.176.ftz not installed"
)


def top_language(attrs: Mapping[str, Sequence[Sequence[float]]]) -> str | None:
    doc_level = {k: v[0][2] for k, v in attrs.items() if k.startswith("lang_")}
    return max(doc_level, key=doc_level.__getitem__)[len("lang_") :] if doc_level else None


def test_paragraph_spans_hand_worked() -> None:
    # "  a " | "\n\n\n" | " b\n c  " | "\n \n": stripped paragraphs "a" at 2 and "b\n c" at 8.
    assert paragraph_spans("  a \n\n\n b\n c  \n \n") == [(2, 3), (8, 12)]
    assert paragraph_spans("one") == [(0, 3)]
    assert paragraph_spans(" \n\n ") == []
    assert paragraph_spans("") == []


SENTENCES = {
    "en": "The quick brown fox jumps over the lazy dog while the farmer watches from the barn.",
    "de": "Der schnelle braune Fuchs springt über den faulen Hund, während der Bauer zusieht.",
    "fr": "Le renard brun rapide saute par-dessus le chien paresseux sous le regard du fermier.",
    "es": "El rápido zorro marrón salta sobre el perro perezoso mientras el granjero lo observa.",
    "ja": "素早い茶色の狐が怠け者の犬を飛び越え、農夫が納屋からそれを見ている。",
    "ru": "Быстрая коричневая лиса прыгает через ленивую собаку, пока фермер смотрит из сарая.",
}


@needs_fasttext
@pytest.mark.parametrize("engine", ["lid_fasttext", "lid_cld2"])
def test_clear_sentences(engine: str) -> None:
    if engine == "lid_cld2":
        pytest.importorskip("pycld2")
    tagger = load_tagger(engine)
    docs = [Document(lang, text) for lang, text in SENTENCES.items()]
    for doc, attrs in zip(docs, tagger.tag_batch(docs), strict=True):
        assert top_language(attrs) == doc.id
        assert attrs[f"paragraph_lang_{doc.id}"] == [
            (0, len(doc.text), pytest.approx(attrs[f"lang_{doc.id}"][0][2]))
        ]


@needs_fasttext
def test_fasttext_spans_paragraphs_and_edge_cases() -> None:
    tagger = load_tagger("lid_fasttext", {"top_k": 2})
    mixed = SENTENCES["de"] + "\n\n" + SENTENCES["en"]
    docs = [
        Document("mixed", mixed),
        Document("empty", ""),
        Document("blank", " \n\n \t"),
        Document("bad", SENTENCES["fr"] + "\ud800\x00"),  # lone surrogate and NUL from JSON
    ]
    mixed_attrs, empty, blank, bad = tagger.tag_batch(docs)
    start_en = len(SENTENCES["de"]) + 2
    assert [s[:2] for s in mixed_attrs["paragraph_lang_de"]] == [(0, len(SENTENCES["de"]))]
    assert [s[:2] for s in mixed_attrs["paragraph_lang_en"]] == [(start_en, len(mixed))]
    doc_level = [k for k in mixed_attrs if k.startswith("lang_")]
    assert sorted(doc_level) == ["lang_de", "lang_en"]  # top_k=2
    for spans in mixed_attrs.values():
        for start, end, score in spans:
            assert 0 <= start < end <= len(mixed)
            assert 0.0 < score <= 1.0
    assert empty == {} and blank == {}
    assert top_language(bad) == "fr"


@needs_fasttext
def test_min_score_and_paragraphs_off() -> None:
    tagger = load_tagger("lid_fasttext", {"paragraphs": False, "min_score": 0.5, "top_k": 3})
    [attrs] = tagger.tag_batch([Document("d", SENTENCES["es"])])
    assert list(attrs) == ["lang_es"]  # the runners-up score far below 0.5


def test_missing_model_names_the_fix(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(LID_MODEL_ENV, str(tmp_path / "nope.ftz"))
    with pytest.raises(DolmakitError, match=LID_MODEL_ENV):
        lid_model_path()
    with pytest.raises(DolmakitError, match="does not exist"):
        lid_model_path(tmp_path / "other.ftz")


def test_bad_parameters() -> None:
    pytest.importorskip("pycld2")
    with pytest.raises(DolmakitError, match="top_k"):
        load_tagger("lid_cld2", {"top_k": 0})
    with pytest.raises(DolmakitError, match="min_score"):
        load_tagger("lid_cld2", {"min_score": 2})


def _accuracy(engine: str) -> float:
    docs = [doc for _, doc in read_documents(TESTSET)]
    assert len(docs) == 360
    tagger = load_tagger(engine, {"paragraphs": False})
    results = tagger.tag_batch(docs)
    assert docs[0].metadata is not None
    right = sum(
        top_language(attrs) == (doc.metadata or {})["lang"]
        for doc, attrs in zip(docs, results, strict=True)
    )
    return right / len(docs)


@needs_fasttext
def test_fasttext_accuracy_on_handbook_translations() -> None:
    assert _accuracy("lid_fasttext") >= MIN_ACCURACY


def test_cld2_accuracy_on_handbook_translations() -> None:
    pytest.importorskip("pycld2")
    assert _accuracy("lid_cld2") >= MIN_ACCURACY


@needs_fasttext
def test_fasttext_document_scores_come_from_its_paragraphs() -> None:
    # Version 2: one prediction per paragraph; a document's score is the length-weighted mean
    # of its paragraphs' top-k scores, and a one-paragraph document gets the whole-text one.
    tagger: Any = load_tagger("lid_fasttext")  # predict() is the fastText tagger's own
    single = "  " + SENTENCES["fr"] + "\n"
    mixed = SENTENCES["de"] + "\n\n" + SENTENCES["en"] + " " + SENTENCES["en"]
    [one, two] = tagger.tag_batch([Document("one", single), Document("two", mixed)])
    [whole] = tagger.predict([single], 3)
    assert {k: v for k, v in one.items() if k.startswith("lang_")} == {
        f"lang_{lang}": [(0, len(single), score)] for lang, score in whole if score >= 0.01
    }
    spans = paragraph_spans(mixed)
    preds = tagger.predict([mixed[s:e] for s, e in spans], 3)
    weights = [e - s for s, e in spans]
    expected: dict[str, float] = {}
    for weight, pred in zip(weights, preds, strict=True):
        for lang, score in pred:
            expected[lang] = expected.get(lang, 0.0) + score * weight / sum(weights)
    top = sorted(expected.items(), key=lambda item: -item[1])[:3]
    doc_level = {k: v for k, v in two.items() if k.startswith("lang_")}
    assert list(doc_level) == [f"lang_{lang}" for lang, score in top if score >= 0.01]
    for lang, score in top:
        if score >= 0.01:
            assert doc_level[f"lang_{lang}"] == [(0, len(mixed), pytest.approx(score))]
    assert doc_level["lang_en"][0][2] > doc_level["lang_de"][0][2]  # the longer paragraph
    assert load_tagger("lid_fasttext").version == "2"


@needs_fasttext
def test_the_direct_call_predicts_what_fasttext_s_predict_does() -> None:
    tagger: Any = load_tagger("lid_fasttext")
    texts = [*SENTENCES.values(), "a\nb\n\nc", "", " ", "x" * 3000, "12 34", "日本語のテキスト"]
    for k in (1, 3, 5):
        assert tagger.predict(texts, k) == tagger._predict_checked(texts, k)
