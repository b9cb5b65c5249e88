"""Token counting: real OpenAI BPE offline, whitespace words, a user's tokenizer.json."""

from __future__ import annotations

import functools
import inspect
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dolmakit.errors import DolmakitError
from dolmakit.io.reader import read_documents
from dolmakit.native import PURE_PYTHON_ENV, load_native
from dolmakit.tokenizers import (
    BPE_ENCODINGS,
    TOKENIZER_NAMES,
    BpeTokenizer,
    Tokenizer,
    _replace_surrogates,
    get_tokenizer,
    load_ranks,
    tiktoken_encoding,
)

HANDBOOK = Path(__file__).parent / "data" / "lid" / "handbook.jsonl.gz"
EDGE_CASES = [
    "",
    "   leading spaces\n\n\ttabs\r\nCRLF   trailing   ",
    "def f(x):\n    return x**2  # comment\n",
    "don't I'LL we've THEY'RE",
    "A" * 5000,
    "a" + " " * 300 + "b",
    "\u0000\u200b\u00a0nbsp and zero-width 🤖🧪",
    "lone \ud800 surrogate",
]


def test_cl100k_counts_known_strings() -> None:
    # Token ids published for cl100k_base (OpenAI cookbook "How to count tokens with tiktoken").
    tok = get_tokenizer("cl100k_base")
    assert tok.name == "cl100k_base"
    assert tok.count("hello world") == 2
    assert tok.count("tiktoken is great!") == 6
    assert tok.count("2 + 2 = 4") == 7
    assert tok.count("") == 0
    assert isinstance(tok, BpeTokenizer)


def test_special_token_text_counts_as_plain_text() -> None:
    # '<|endoftext|>' in a document is data: '<', '|', 'endo', 'ft', 'ext', '|', '>' (7 tokens).
    assert get_tokenizer("cl100k_base").count("<|endoftext|>") == 7


def test_o200k_differs_from_cl100k() -> None:
    tok = get_tokenizer("o200k_base")
    assert tok.count("hello world") == 2
    assert tok.count("tiktoken is great!") == 6
    assert tok.count("<|endoftext|>") == 7


def test_reference_tiktoken_ids_and_agreement() -> None:
    # The tiktoken encoding built offline from the wheel's rank files gives the published ids,
    # and the fast counter agrees with it on real multilingual text and edge cases.
    pytest.importorskip("tiktoken")
    reference = tiktoken_encoding("cl100k_base")
    assert reference.encode_ordinary("hello world") == [15339, 1917]
    assert reference.encode_ordinary("tiktoken is great!") == [83, 1609, 5963, 374, 2294, 0]
    texts = [doc.text for _, doc in read_documents(HANDBOOK)][::6] + EDGE_CASES
    for name in BPE_ENCODINGS:
        ref = tiktoken_encoding(name)
        tok = get_tokenizer(name)
        assert tok.count_batch(texts) == [len(ref.encode_ordinary(t)) for t in texts]


def test_tokenizers_are_cached_per_process() -> None:
    assert get_tokenizer("cl100k_base") is get_tokenizer("cl100k_base")


def test_patterns_match_tiktoken_definitions() -> None:
    # Our offline definitions must equal what tiktoken would build after downloading.
    openai_public = pytest.importorskip("tiktoken_ext.openai_public")
    for name, spec in BPE_ENCODINGS.items():
        source = inspect.getsource(getattr(openai_public, name))
        assert spec.sha256 in source
        for token, rank in spec.special_tokens:
            assert str(rank) in source, (name, token)
    cl100k_source = inspect.getsource(openai_public.cl100k_base)
    assert BPE_ENCODINGS["cl100k_base"].pat_str in cl100k_source


def test_whitespace_tokenizer() -> None:
    tok = get_tokenizer("whitespace")
    assert tok.count("  one two\tthree\nfour  ") == 4
    assert tok.count_batch(["a b", "", " "]) == [2, 0, 0]


def test_unknown_tokenizer_lists_choices() -> None:
    with pytest.raises(DolmakitError) as err:
        get_tokenizer("gpt9")
    for name in TOKENIZER_NAMES:
        assert name in str(err.value)


def test_hugging_face_tokenizer_json(tmp_path: Path) -> None:
    tokenizers = pytest.importorskip("tokenizers")
    from tokenizers import models, pre_tokenizers, processors

    hf = tokenizers.Tokenizer(models.WordLevel({"[UNK]": 0, "[CLS]": 1, "a": 2}, unk_token="[UNK]"))
    hf.pre_tokenizer = pre_tokenizers.Whitespace()
    hf.post_processor = processors.TemplateProcessing(
        single="[CLS] $A", special_tokens=[("[CLS]", 1)]
    )
    path = tmp_path / "tokenizer.json"
    hf.save(str(path))
    tok = get_tokenizer(str(path))
    # "a b, c" -> pre-tokens a | b | , | c : 4 tokens; the [CLS] a model adds is not counted.
    assert tok.count("a b, c") == 4
    assert tok.count_batch(["a", "a a", ""]) == [1, 2, 0]
    assert isinstance(tok, Tokenizer)


def test_malformed_tokenizer_json(tmp_path: Path) -> None:
    pytest.importorskip("tokenizers")
    path = tmp_path / "tokenizer.json"
    path.write_text("{}")
    with pytest.raises(DolmakitError, match=r"not a valid Hugging Face tokenizer\.json"):
        get_tokenizer(str(path))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(max_size=80), max_size=8))
def test_count_batch_equals_count(texts: list[str]) -> None:
    for name in ("cl100k_base", "whitespace"):
        tok = get_tokenizer(name)
        assert tok.count_batch(texts) == [tok.count(t) for t in texts]


FRAGMENTS = (
    "\n\n", "\n", "\r\n", " ", "  ", "\t", "\n \n", "word", "Para", "_x", "42", "3.14", "'s", "'LL",
    "!", "...", "—", "é", "日本", "😀", "\u00a0", "\u2028", "#", "a.\n\n", "x\n\n\n", " \n\nB",
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=4)), max_size=30).map(
            "".join
        ),
        min_size=1,
        max_size=6,
    )
)
def test_counting_by_paragraphs_equals_counting_whole_texts(paragraphs: list[str]) -> None:
    texts = ["\n\n".join(paragraphs), *paragraphs, "\n\n".join(reversed(paragraphs))]
    for name in BPE_ENCODINGS:
        tok = get_tokenizer(name)
        assert tok.count_batch(texts) == [tok.count(t) for t in texts]


def test_counting_by_paragraphs_on_real_text() -> None:
    texts = [doc.text for _, doc in read_documents(HANDBOOK)]
    assert sum("\n\n" in t for t in texts) > 10
    for name in BPE_ENCODINGS:
        tok = get_tokenizer(name)
        again = texts + [t.replace("\n\n", "\n\n\n") for t in texts]  # repeats and new cuts
        assert tok.count_batch(again) == [tok.count(t) for t in again]


def test_the_paragraph_memory_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    from dolmakit import tokenizers

    monkeypatch.setattr(tokenizers, "PARAGRAPH_MEMO_ENTRIES", 4)
    tok = BpeTokenizer(BPE_ENCODINGS["o200k_base"])  # cl100k_base counts natively when built
    texts = ["\n\n".join(f"Paragraph {i} of {j}." for i in range(5)) for j in range(5)]
    assert tok.count_batch(texts) == [tok.count(t) for t in texts]
    assert 1 <= len(tok._paragraphs) <= 4


needs_native_bpe = pytest.mark.skipif(
    load_native("_bpe") is None, reason="dolmakit._bpe is not built"
)
ASCII_FRAGMENTS = (
    " ", "  ", "\t", "\n", "\r\n", "\n\n", " \n ", "\x0b", "\x0c", "\x1c", "\x1f", "\x00",
    "\x7f", "'", "'s", "'S", "'ll", "'LL", "'Ve", "'re", "'d", "'m", "'t", "'x", "word", "Word",
    "WORD", "a", "Z", "1", "42", "12345", "3.14", ".", "...", "!?", "--", "-" * 300, "_", "__x__",
    "x" * 300, "#!/bin/sh", "a.b", "(a)", "e.g.", "http://x.org/a?b=c", "é", "—", "日本", "😀",
    "\u00a0", "\u2019s", "\u0085",
)  # fmt: skip


@functools.cache
def _native_counter(memo_entries: int = 1 << 18) -> tuple[Any, Any]:
    from dolmakit import _bpe

    spec = BPE_ENCODINGS["cl100k_base"]
    reference = BpeTokenizer(spec)
    return _bpe.Counter(load_ranks(spec), reference.count, memo_entries), reference


@needs_native_bpe
@settings(max_examples=400, deadline=None)
@given(
    st.lists(
        st.lists(
            st.one_of(
                st.sampled_from(ASCII_FRAGMENTS),
                st.text(st.characters(max_codepoint=127), max_size=6),
                st.text(max_size=3),
            ),
            max_size=40,
        ).map("".join),
        max_size=6,
    ),
    st.sampled_from([1, 3, 1 << 18]),
)
def test_the_compiled_counter_counts_what_bpe_openai_counts(
    texts: list[str], memo_entries: int
) -> None:
    counter, reference = _native_counter(memo_entries)
    twice = texts + texts  # the second time from the memo (or after it was cleared)
    assert counter.count_batch(twice) == [reference.count(t) for t in twice]


@needs_native_bpe
def test_the_compiled_counter_on_real_text_and_edge_cases() -> None:
    counter, _ = _native_counter()
    encoding = tiktoken_encoding("cl100k_base")
    texts = [doc.text for _, doc in read_documents(HANDBOOK)] + EDGE_CASES
    texts += ["-" * 1000, "1" * 1000, " " * 1000 + "x", "é" * 600, "naïve " * 200]
    texts += ["I'mgoing, I'Dlike it'Sfine; they'LLgo we'vebeen you'REhere don'tknow 'Mx 'q I'mea"]
    expected = [len(encoding.encode_ordinary(_replace_surrogates(t))) for t in texts]
    assert counter.count_batch(texts) == expected
    assert get_tokenizer("cl100k_base").count_batch(texts) == expected


@needs_native_bpe
def test_the_compiled_counter_takes_over_after_a_few_megabytes() -> None:
    from dolmakit import tokenizers

    tok = BpeTokenizer(BPE_ENCODINGS["cl100k_base"])
    text = "Counted by bpe-openai first, then in C. " * 1000
    batches = [[text] * 8 for _ in range(2 + tokenizers.NATIVE_AFTER_CHARS // (8 * len(text)))]
    expected = [tok.count(text)] * 8
    built_at = None
    for i, batch in enumerate(batches):
        assert tok.count_batch(batch) == expected
        if built_at is None and tok._native is not None:
            built_at = i
    assert built_at is not None and built_at * 8 * len(text) >= tokenizers.NATIVE_AFTER_CHARS
    o200k = BpeTokenizer(BPE_ENCODINGS["o200k_base"])
    o200k.count_batch(batches[0] * (len(batches) + 1))
    assert o200k._native is None


@needs_native_bpe
def test_the_compiled_counter_refuses_bad_input(monkeypatch: pytest.MonkeyPatch) -> None:
    from dolmakit import tokenizers

    monkeypatch.setattr(tokenizers, "NATIVE_AFTER_CHARS", 0)
    tok = BpeTokenizer(BPE_ENCODINGS["cl100k_base"])
    with pytest.raises(TypeError, match=r"texts\[1\] is bytes"):
        tok.count_batch(["fine", b"bytes"])  # type: ignore[list-item]

    from dolmakit import _bpe

    def broken(text: str) -> int:
        raise RuntimeError(f"cannot count {text!r}")

    counter = _bpe.Counter(load_ranks(BPE_ENCODINGS["cl100k_base"]), broken)
    assert counter.count_batch(["plain ASCII is counted here"]) == [5]
    with pytest.raises(RuntimeError, match="cannot count"):
        counter.count_batch(["caf\u00e9"])


def test_without_the_compiled_counter_counts_are_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    from dolmakit import tokenizers

    monkeypatch.setenv(PURE_PYTHON_ENV, "1")
    monkeypatch.setattr(tokenizers, "NATIVE_AFTER_CHARS", 0)
    tok = BpeTokenizer(BPE_ENCODINGS["cl100k_base"])
    texts = [doc.text for _, doc in read_documents(HANDBOOK)][:40] + EDGE_CASES
    monkeypatch.delenv(PURE_PYTHON_ENV)
    native = BpeTokenizer(BPE_ENCODINGS["cl100k_base"])
    assert tok.count_batch(texts) == native.count_batch(texts)
    assert tok._native is None
    assert native._native is not None or load_native("_bpe") is None
