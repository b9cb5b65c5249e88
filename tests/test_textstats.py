"""The compiled text statistics (dolmakit._textstats) against their pure-Python reference.

The reference (dolmakit.taggers.rules.reference, tagging.put_values) defines the results;
the compiled module must give identical ones on random text (with the characters whose
Unicode properties matter: whitespace outside ASCII, letters, bullets, edge punctuation,
case-changing letters, surrogates) and on real text from the dev corpus.
"""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from dolmakit.native import PURE_PYTHON_ENV
from dolmakit.run.options import RunOptions
from dolmakit.taggers.rules import reference
from dolmakit.taggers.rules.text import NATIVE, C4Lines, Summary
from dolmakit.taggers.rules.wordlists import WordList, load_word_list
from dolmakit.taggers.stage import put_values

DEV_CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "dev" / "documents"
GOLDEN = Path(__file__).resolve().parent / "golden" / "taggers"

needs_native = pytest.mark.skipif(NATIVE is None, reason="dolmakit._textstats is not built")

# Characters whose classification differs between Python's str methods and naive ASCII code:
# whitespace outside ASCII (NEL, NBSP, U+2028, ideographic space, the \x1c-\x1f separators),
# letters outside ASCII, digits and numerics (\w), bullets, edge punctuation, the two
# characters whose lowercase holds ASCII (U+0130, KELVIN SIGN), final sigma, and surrogates.
SPECIAL = (
    " \t\n\r\x0b\x0c\x1c\x1d\x1e\x1f\x85\xa0\u1680\u2000\u2028\u2029\u202f\u3000"
    ".!?\"'”’)]#…-*–•‣◦⁃▪●○■□“‘«»„(,;:_{}"
    "éßΣσςİKkK\u0307ǅ日本語ру٣²½"
    "\ud800\udfff"
)
WORDS = (
    "the", "The", "THE", "and", "to", "be", "of", "that", "have", "with", "wİth", "a", "b",
    "javascript", "JavaScript", "lorem", "Ipsum", "terms", "use", "of", "cookies", "privacy",
    "policy", "...", "…", "#", "-", "x",
)  # fmt: skip


def texts() -> st.SearchStrategy[str]:
    """Random texts built from special characters, common words and any characters."""
    piece = st.one_of(
        st.sampled_from(WORDS),
        st.text(alphabet=SPECIAL, min_size=1, max_size=4),
        st.text(max_size=3),
        st.sampled_from([" ", "\n", "\n\n", " \n \n", ". ", "! ", "?) "]),
    )
    return st.lists(piece, max_size=80).map("".join)


def native_summary(text: str) -> Summary:
    assert NATIVE is not None
    return Summary._make(NATIVE.summarize(text))


def native_c4(text: str) -> C4Lines:
    assert NATIVE is not None
    return C4Lines._make(NATIVE.c4_lines(text))


def test_compiled_module_is_used_unless_disabled() -> None:
    # CI and `make setup` build the extension; a silent fallback would only be slower, so say so.
    if os.environ.get(PURE_PYTHON_ENV) == "1":
        assert NATIVE is None
    else:
        assert NATIVE is not None, "dolmakit._textstats is not built: pip install -e ."
        assert len(Summary._fields) == NATIVE.FIELDS


def test_summary_by_hand() -> None:
    # Words: 'The' 'cat.' 'the' 'cat.' '-' 'x...' '#1': 7, characters 3+4+3+4+1+4+2 = 21;
    # with a letter: all but '-' and '#1' = 5. '#' 1; '...' 1. Lines 'The cat.', 'the cat.',
    # '- x...', '#1': 4; bullet 1 ('-'), ellipsis 1, FineWeb punctuation 3 ('.', '.', '...'),
    # short 4; no duplicate line (case differs). Paragraphs: 'The cat.\nthe cat.' and
    # '- x...\n#1': 2, none repeats. Newlines: 1 + 2 + 1 = 4.
    text = "The cat.\nthe cat.\n\n- x...\n#1"
    want = Summary(
        words=7,
        word_chars=21,
        alpha_words=5,
        hashes=1,
        ellipses=1,
        lines=4,
        bullet_lines=1,
        ellipsis_lines=1,
        dup_lines=0,
        dup_line_chars=0,
        paragraphs=2,
        dup_paragraphs=0,
        dup_paragraph_chars=0,
        punct_lines=3,
        short_lines=4,
        newlines=4,
        stop_words=1,  # 'the' (twice, distinct once)
        # bigram ('cat.', 'the')? no: 'The'/'the' differ, so no n-gram repeats.
        top_2=0,
        top_3=0,
        top_4=0,
        dup_5=0,
        dup_6=0,
        dup_7=0,
        dup_8=0,
        dup_9=0,
        dup_10=0,
    )
    assert Summary._make(reference.summarize(text)) == want
    if NATIVE is not None:
        assert native_summary(text) == want


@needs_native
@settings(max_examples=400, deadline=None)
@given(texts())
@example("")
@example(" \n\n \t")
@example("wİth THE Kelvin: \u212aey wİth")
@example("a b a b a b a b a b a b a b a b a b a b a b c")
def test_summarize_matches_the_reference(text: str) -> None:
    assert native_summary(text) == Summary._make(reference.summarize(text))


@needs_native
@settings(max_examples=400, deadline=None)
@given(texts())
@example("")
@example("JAVASCRIPT is off.\nUse \u212a cookies? We use cookies.\nLorem İpsum. lorem ipsum!")
@example("Fine line one here.\n  Second line has words!  \n\nx\n\u3000third one \u2028 is here.")
def test_c4_lines_matches_the_reference(text: str) -> None:
    assert native_c4(text) == reference.c4_lines(text)


@needs_native
@settings(max_examples=200, deadline=None)
@given(texts())
def test_token_scan_keeps_every_listed_token(text: str) -> None:
    # The compiled scan returns the listed tokens (and at most a few others whose hash bit
    # collides): after intersecting with the list's tokens it equals the regex's tokens.
    words = load_word_list("en")
    assert words is not None and words.bits
    listed = frozenset().union(*words.entry_tokens.values())
    low = text.lower()
    assert NATIVE is not None
    found = NATIVE.tokens_in(low, words.bits)
    assert found & listed == reference.word_tokens(low) & listed
    assert found <= reference.word_tokens(low)


@needs_native
@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(["ass", "Butt", "x", "assess", "ball sack", "b!tch", " "])))
def test_bad_words_found_alike_with_and_without_the_token_scan(words: list[str]) -> None:
    word_list = load_word_list("en")
    assert word_list is not None
    plain = WordList(**{**word_list.__dict__, "bits": b""})
    text = " ".join(words)
    assert word_list.find(text) == plain.find(text)


@needs_native
@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.none(),
            st.integers(-(2**70), 2**70),
            st.floats(allow_nan=True, allow_infinity=True),
            st.booleans(),
            st.sampled_from([0.0, -0.0, 1.0, 0.123456789, "1", [1]]),
        ),
        max_size=6,
    ),
    st.integers(0, 7),
)
def test_put_values_matches_the_reference(values: list[object], nkeys: int) -> None:
    assert NATIVE is not None
    keys = tuple(f"k{i}" for i in range(nkeys))
    want: dict[str, list[list[float]]] = {}
    got: dict[str, list[list[float]]] = {}
    bad = put_values(want, keys, 42, tuple(values))
    assert NATIVE.put_values(got, keys, 42, tuple(values)) == bad
    assert repr(got) == repr(want)  # repr: -0.0 and 0.0, and ints and floats, differ


def test_put_values_by_hand() -> None:
    attrs: dict[str, list[list[float]]] = {}
    assert put_values(attrs, ("a", "b", "c"), 9, (1, None, 2 / 3)) == -1
    assert attrs == {"a": [[0, 9, 1]], "c": [[0, 9, 0.66667]]}
    assert put_values({}, ("a", "b"), 9, (1.0, float("inf"))) == 1
    assert put_values({}, ("a", "b"), 9, (True, 1)) == 0  # bool is not a number here
    assert put_values({}, ("a", "b"), 9, (1,)) == 1  # too few values: bad at the first missing


def dev_texts(limit_per_file: int) -> list[str]:
    """Return the first documents of every dev-corpus file (all sources and languages)."""
    from dolmakit.io.paths import expand_inputs
    from dolmakit.io.reader import read_documents

    out: list[str] = []
    for path in expand_inputs([DEV_CORPUS]):
        out += [doc.text for _, doc in itertools.islice(read_documents(path), limit_per_file)]
    return out


@needs_native
@pytest.mark.skipif(not DEV_CORPUS.is_dir(), reason="dev corpus not present")
def test_real_text_gives_identical_statistics() -> None:
    texts = dev_texts(40)
    assert len(texts) > 200
    long_line = " ".join(texts)[:200_000].replace("\n", " ")  # one very long line
    for text in [*texts, long_line, long_line.upper()]:
        assert native_summary(text) == Summary._make(reference.summarize(text))
        assert native_c4(text) == reference.c4_lines(text)


def test_pure_python_run_writes_the_same_bytes(tmp_path: Path) -> None:
    # The whole stage, compiled (this process) and pure Python (a child process with
    # DOLMAKIT_PURE_PYTHON=1), over the golden documents with every rule tagger.
    import shutil

    from dolmakit.taggers.stage import tag

    documents = tmp_path / "data" / "documents"
    shutil.copytree(GOLDEN / "documents", documents)
    recipe = str(GOLDEN / "rules.yaml")
    tag([documents], "compiled", recipe, run_options=RunOptions(progress=False))
    code = (
        "import sys; from dolmakit.taggers.stage import tag; "
        "from dolmakit.run.options import RunOptions; "
        "tag([sys.argv[1]], 'pure', sys.argv[2], run_options=RunOptions(progress=False))"
    )
    env = {**os.environ, PURE_PYTHON_ENV: "1"}
    subprocess.run([sys.executable, "-c", code, str(documents), recipe], env=env, check=True)
    root = tmp_path / "data" / "attributes"
    compiled = sorted((root / "compiled").rglob("*.jsonl"))
    assert compiled
    for path in compiled:
        pure = root / "pure" / path.relative_to(root / "compiled")
        assert path.read_bytes().replace(b"compiled__", b"X__") == pure.read_bytes().replace(
            b"pure__", b"X__"
        )
