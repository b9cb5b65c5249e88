"""Model-based taggers: tokens, toxicity, classifier, train-classifier, and a golden run."""

from __future__ import annotations

import json
import shutil
import warnings
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from dolmakit.cli.main import cli
from dolmakit.document import Document
from dolmakit.errors import DolmakitError, InputError
from dolmakit.io.reader import read_documents
from dolmakit.run.backends import SerialBackend
from dolmakit.run.options import RunOptions
from dolmakit.taggers.base import available_taggers, load_tagger
from dolmakit.taggers.train import (
    Example,
    TrainConfig,
    evaluate,
    load_labelled_jsonl,
    prepare_text,
    split,
)

GOLDEN = Path(__file__).parent / "golden" / "taggers_models"
DEMO = Path(__file__).parent.parent / "dolmakit" / "demo_corpus" / "documents"
CLASSES = (("docs", "python-doc/en-0000.jsonl.zst"), ("fun", "fortunes/en-0000.jsonl.zst"))
MODEL_TAGGERS = ("tokens", "lid_fasttext", "lid_cld2", "pii", "toxicity", "classifier")


def test_model_taggers_are_registered_with_their_contract() -> None:
    found = available_taggers()
    for name in MODEL_TAGGERS:
        cls, origin = found[name]
        assert origin == "built-in"
        assert cls.version and cls.attributes and cls.requires and cls.description


def test_tokens_tagger_counts() -> None:
    tagger = load_tagger("tokens")
    docs = [Document("a", "hello world"), Document("b", ""), Document("c", "2 + 2 = 4")]
    assert tagger.tag_batch(docs) == [
        {"count": [(0, 11, 2.0)]},  # cl100k_base: "hello", " world"
        {"count": [(0, 0, 0.0)]},
        {"count": [(0, 9, 7.0)]},  # "2", " +", " ", "2", " =", " ", "4"
    ]
    words = load_tagger("tokens", {"tokenizer": "whitespace"})
    assert words.tag_batch([Document("a", " one  two\nthree ")]) == [{"count": [(0, 16, 3.0)]}]
    with pytest.raises(DolmakitError, match="unknown tokenizer"):
        load_tagger("tokens", {"tokenizer": "nope"})


# --- toxicity -----------------------------------------------------------------------------


def test_toxicity_model_imports_without_version_warnings() -> None:
    pytest.importorskip("profanity_check")
    from dolmakit.taggers.profanity import load_profanity_model
    from dolmakit.taggers.toxicity import _sklearn_model

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a drifted scikit-learn warns when unpickling
        _sklearn_model()
        load_profanity_model()


def test_sentence_spans_hand_worked() -> None:
    from dolmakit.taggers.segments import sentence_spans

    text = 'Hello there. "You fool!" he said.\nNew line?  Yes'
    # "Hello there." 0-12 | '"You fool!"' 13-24 | "he said." 25-33 | "New line?" 34-43 | "Yes" 45-48
    assert sentence_spans(text) == [(0, 12), (13, 24), (25, 33), (34, 43), (45, 48)]
    assert sentence_spans("  ") == []


def test_toxicity_document_and_sentences() -> None:
    pytest.importorskip("profanity_check")
    tagger = load_tagger("toxicity")
    text = "Have a nice day. You are a fucking idiot. Thanks for the help."
    [attrs, empty] = tagger.tag_batch([Document("a", text), Document("b", " ")])
    assert empty == {}
    [(start, end, doc_score)] = attrs["toxic"]
    assert (start, end) == (0, len(text)) and doc_score > 0.9
    sentences = attrs["toxic_sentence"]
    assert [text[s:e] for s, e, _ in sentences] == [
        "Have a nice day.",
        "You are a fucking idiot.",
        "Thanks for the help.",
    ]
    assert [score > 0.5 for _, _, score in sentences] == [False, True, False]
    only_toxic = load_tagger("toxicity", {"min_sentence_score": 0.5})
    [attrs] = only_toxic.tag_batch([Document("a", text)])
    assert [text[s:e] for s, e, _ in attrs["toxic_sentence"]] == ["You are a fucking idiot."]


TRICKY_TEXTS = [
    "Have a nice day. You are a fucking idiot.\n\nThanks for the help.",
    "ΟΔΟΣ ΚΑΙ ΣΟΦΙΑΣ. Σ. İstanbul'da İYİ günler! DAMN it… «Shit» (really?)  ok",
    "the and of it is was. Stop words only? THE END",
    "A\u00a0non-breaking\u2028line\u3000space. Ünïcödé, 日本語のテキスト。 crap!!",
    "one sentence with no end and caps FUCK",
    "\n\n  Leading and trailing blanks.  \n\n",
]


def test_toxicity_scores_equal_the_vectorizer_on_each_whole_text() -> None:
    # Each text is tokenised once (document counts are the sum of its sentences'), yet every
    # score is bit-identical to vectorising the document and each sentence on its own.
    pytest.importorskip("profanity_check")
    from dolmakit.taggers.segments import sentence_spans

    tagger: Any = load_tagger("toxicity")  # predict() is the toxicity tagger's own
    docs = [Document(str(i), text) for i, text in enumerate(TRICKY_TEXTS)]
    for doc, attrs in zip(docs, tagger.tag_batch(docs), strict=True):
        spans = sentence_spans(doc.text)
        expected = tagger.predict([doc.text] + [doc.text[s:e] for s, e in spans])
        assert attrs["toxic"] == [(0, len(doc.text), expected[0])]
        assert attrs["toxic_sentence"] == [
            (s, e, p) for (s, e), p in zip(spans, expected[1:], strict=True)
        ]
    without = load_tagger("toxicity", {"sentences": False}).tag_batch(docs)
    assert [a["toxic"] for a in without] == [a["toxic"] for a in tagger.tag_batch(docs)]
    assert all(list(a) == ["toxic"] for a in without)


# --- train-classifier and the classifier tagger -------------------------------------------


def test_prepare_text_and_split_are_order_free() -> None:
    assert prepare_text("  Hello\n\nWorld\t! ") == "hello world !"
    assert prepare_text("A\nB", lowercase=False) == "A B"
    examples = [Example("a" if i % 2 else "b", f"text {i}") for i in range(200)]
    config = TrainConfig(holdout=0.25, seed=3)
    train, held = split(examples, config)
    _train_r, held_r = split(list(reversed(examples)), config)
    assert sorted(e.text for e in held) == sorted(e.text for e in held_r)
    assert len(train) + len(held) == 200 and 25 <= len(held) <= 75
    capped, _ = split(examples, TrainConfig(holdout=0.1, max_per_label=10))
    assert len(capped) <= 20


def test_evaluate_hand_worked() -> None:
    # gold a a b b, predicted a b b b: a: precision 1/1, recall 1/2; b: precision 2/3, recall 2/2
    accuracy, metrics = evaluate(["a", "b"], ["a", "a", "b", "b"], ["a", "b", "b", "b"])
    assert accuracy == 0.75
    a, b = metrics
    assert (a.precision, a.recall, a.support) == (1.0, 0.5, 2)
    assert (b.precision, b.recall, b.support) == (pytest.approx(2 / 3), 1.0, 2)
    assert a.f1 == pytest.approx(2 / 3)


def test_labelled_jsonl_errors_name_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "train.jsonl"
    path.write_text('{"text": "ok", "label": "a"}\n{"text": "x", "label": "bad label"}\n')
    with pytest.raises(DolmakitError, match=r"train\.jsonl:2: label 'bad label'"):
        load_labelled_jsonl([path])
    path.write_text('{"text": "ok", "label": "a"}\nnot json\n')
    with pytest.raises(InputError, match=r"train\.jsonl:2: invalid JSON"):
        load_labelled_jsonl([path])


def _labelled_file(path: Path) -> Path:
    # Two well separated classes from real text: Python documentation vs fortune cookies.
    lines = []
    for label, file in CLASSES:
        for i, (_, doc) in enumerate(read_documents(DEMO / file)):
            if i < 250:  # the rest is left for the tagger to score below
                lines.append(json.dumps({"text": doc.text, "label": label}))
    path.write_text("\n".join(lines) + "\n")
    return path


def test_train_classifier_cli_end_to_end(tmp_path: Path) -> None:
    pytest.importorskip("fasttext")
    data = _labelled_file(tmp_path / "train.jsonl")
    outs = []
    for run in ("one", "two"):
        out = tmp_path / run
        result = CliRunner().invoke(
            cli,
            [
                "train-classifier",
                "demo_clf",
                "--labelled",
                str(data),
                "--output",
                str(out),
                "--holdout",
                "0.2",
            ],
        )
        assert result.exit_code == 0, result.output
        assert "precision" in result.output
        outs.append(out)
    # Deterministic: same data, configuration and seed give the same model bytes.
    assert (outs[0] / "model.bin").read_bytes() == (outs[1] / "model.bin").read_bytes()
    card = json.loads((outs[0] / "model_card.json").read_text())
    assert card["labels"] == ["docs", "fun"]
    assert (
        card["training_data"]["files"][0]["sha256"]
        == __import__("hashlib").sha256(data.read_bytes()).hexdigest()
    )
    held = card["training_data"]["heldout_examples"]
    assert held == sum(m["support"] for m in card["heldout"]["per_label"]) and held > 60
    assert all(m["precision"] >= 0.85 and m["recall"] >= 0.85 for m in card["heldout"]["per_label"])
    assert "| docs |" in (outs[0] / "README.md").read_text()

    tagger = load_tagger("classifier", {"model": str(outs[0] / "model.bin")})
    unseen = {label: [d for _, d in read_documents(DEMO / file)][250:] for label, file in CLASSES}
    docs = [*unseen["docs"], *unseen["fun"][:50], Document("e", "\n")]
    results = tagger.tag_batch(docs)
    assert results[-1] == {}
    top = [max(r, key=lambda k: r[k][0][2]) for r in results[:-1]]
    truth = ["docs"] * len(unseen["docs"]) + ["fun"] * 50
    assert sum(t == p for t, p in zip(truth, top, strict=True)) >= 0.8 * len(truth)
    for r, doc in zip(results[:-1], docs, strict=False):
        assert set(r) == {"docs", "fun"}
        assert r["docs"][0][:2] == (0, len(doc.text))
        assert r["docs"][0][2] + r["fun"][0][2] == pytest.approx(1.0, abs=0.01)


def test_train_classifier_from_sources(tmp_path: Path) -> None:
    pytest.importorskip("fasttext")
    demo = Path(__file__).parent.parent / "dolmakit" / "demo_corpus" / "documents"
    result = CliRunner().invoke(
        cli,
        [
            "train-classifier",
            "src",
            "--class",
            f"ref={demo / 'debian-reference'}",
            "--class",
            f"gnu={demo / 'gnu-standards'}",
            "--output",
            str(tmp_path / "m"),
            "--holdout",
            "0.2",
            "--bucket",
            "10000",
            "--dim",
            "16",
        ],
    )
    assert result.exit_code == 0, result.output
    card = json.loads((tmp_path / "m" / "model_card.json").read_text())
    assert card["training_data"]["sources_per_label"]["gnu"][0].endswith("en-0000.jsonl.zst")
    assert card["training_data"]["examples_per_label"] == {"gnu": 80, "ref": 120}


def test_train_classifier_usage_errors(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["train-classifier", "x"])
    assert result.exit_code != 0 and "--labelled or --class" in result.output
    result = CliRunner().invoke(cli, ["train-classifier", "x", "--class", "only=nowhere"])
    assert result.exit_code != 0
    with pytest.raises(DolmakitError, match="does not exist"):
        load_tagger("classifier", {"model": str(tmp_path / "missing.bin")})


# --- golden attribute file ----------------------------------------------------------------


def test_golden_attribute_file(tmp_path: Path) -> None:
    """tokens, pii and toxicity through `dolmakit tag` give exactly the stored bytes."""
    pytest.importorskip("profanity_check")
    from dolmakit.taggers.stage import tag

    docs = tmp_path / "ds" / "documents" / "sample.jsonl"
    docs.parent.mkdir(parents=True)
    shutil.copy(GOLDEN / "sample.jsonl", docs)
    tag(
        [docs],
        "models",
        ["tokens", "pii", "toxicity"],
        run_options=RunOptions(backend=SerialBackend(), progress=False),
    )
    got = (tmp_path / "ds" / "attributes" / "models" / "sample.jsonl").read_text()
    assert got == (GOLDEN / "models.attributes.jsonl").read_text()
