"""Unit tests of the dedup building blocks: normalisation, shingles, MinHash, LSH, clusters."""

from __future__ import annotations

import random
import re
import struct
import sys
import unicodedata

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import dolmakit.dedup.normalize as normalize_module
from dolmakit.dedup.clustering import components
from dolmakit.dedup.config import KeepRule, MinHashConfig
from dolmakit.dedup.index import ShardEntry
from dolmakit.dedup.keep import rank_members, source_rank
from dolmakit.dedup.lsh import bucket_pairs, collision_probability, optimal_bands
from dolmakit.dedup.minhash import estimate_jaccard, permutations, signatures
from dolmakit.dedup.normalize import (
    batch_tokens,
    light_normalize,
    normalize_text,
    tokenize,
    tokens,
)
from dolmakit.dedup.shingles import (
    batch_shingle_hashes,
    jaccard,
    jaccard_many,
    shingle_hashes,
    shingle_keys,
    shingles,
)
from dolmakit.dedup.xxh32 import xxh32_words
from dolmakit.errors import ConfigError

WORDS_TEXT = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi"
WORDS = WORDS_TEXT.split()


def random_text(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(WORDS) + rng.choice(["", ",", ".", " 12"]) for _ in range(n))


@given(
    st.text(alphabet=st.characters(codec="utf-8"))
    | st.sampled_from([" a\u00a0b\u2028c\x1c d\x85e\u3000 ", "\t\nX  Y\r\n", "ﬁ Ⅻ  ΣΑΣ"])
)
def test_light_normalize_collapses_exactly_what_regex_whitespace_matches(text: str) -> None:
    # exact dedup keys: NFKC, lower case, every run of `\s` one space, ends stripped.
    expected = re.sub(r"\s+", " ", unicodedata.normalize("NFKC", text).lower()).strip()
    assert light_normalize(text) == expected


def test_translation_table_maps_every_punctuation_symbol_and_digit() -> None:
    # The table is built in C-level passes; it must equal the plain loop over code points.
    expected = {}
    for cp in range(sys.maxunicode + 1):
        category = unicodedata.category(chr(cp))
        if category[0] in "PS":
            expected[cp] = " "
        elif category == "Nd":
            expected[cp] = "0"
    assert list(normalize_module._table().items()) == list(expected.items())


def test_normalize_and_tokenize() -> None:
    text = normalize_text("Héllo, WORLD 42!\tＡＢＣ")
    assert text == "héllo  world 00 \tabc"
    assert tokenize(text) == ["héllo", "world", "00", "abc"]
    # Unspaced scripts: one token per character, other runs stay words.
    assert tokenize(normalize_text("日本語のテキスト abc")) == [*"日本語のテキスト", "abc"]


def test_shingles_short_and_empty() -> None:
    assert list(shingles("One two three", 5)) == ["one two three"]
    assert list(shingles(" ,;; ", 5)) == []
    assert list(shingles("a b c d e f", 5)) == ["a b c d e", "b c d e f"]
    assert len(shingle_hashes("", 5)) == 0


UNSPACED = [(0x3040, 0x30FF), (0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF),
            (0x0E00, 0x0EFF), (0x1000, 0x109F), (0x1780, 0x17FF), (0x20000, 0x2FA1F)]  # fmt: skip


def reference_tokens(text: str) -> list[str]:
    """Tokens by the documented definition, one character at a time."""
    out: list[str] = []
    word = ""
    for char in unicodedata.normalize("NFKC", text).lower():
        category = unicodedata.category(char)
        char = " " if category[0] in "PS" else "0" if category == "Nd" else char
        if char.isspace() or any(lo <= ord(char) <= hi for lo, hi in UNSPACED):
            out += [word] if word else []
            word = ""
            out += [] if char.isspace() else [char]
        else:
            word += char
    return out + ([word] if word else [])


@settings(max_examples=300, deadline=None)
@given(
    st.text(
        alphabet=st.sampled_from("aZé ,.!ß1٣ﬁＡ\t\n-日本のテ語ไทยЖж€%İ\u00a0\u3000"), max_size=40
    )
)
def test_tokens_follow_the_definition(text: str) -> None:
    assert tokens(text) == reference_tokens(text)
    assert tokenize(normalize_text(text)) == reference_tokens(text)


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.text(
            alphabet=st.sampled_from("aΣσ ,.1日本ไ\uffffﬁ\n\x1c\x85\u2028\u1680\u3000é"),
            max_size=12,
        ),
        max_size=6,
    )
)
def test_batch_tokens_equal_one_at_a_time(texts: list[str]) -> None:
    # Final sigma depends on the next character: the batch join must not change it.
    texts = [*texts, "ΟΔΟΣ", "ΟΔΟΣ.", ""]
    assert batch_tokens(texts) == [reference_tokens(t) for t in texts]
    assert batch_tokens([t.replace("\uffff", "") for t in texts]) == [
        reference_tokens(t.replace("\uffff", "")) for t in texts
    ]


def test_xxh32_words_matches_xxhash() -> None:
    xxhash = pytest.importorskip("xxhash")
    rng = np.random.default_rng(5)
    for width in range(1, 13):
        rows = rng.integers(0, 2**32, (60, width), dtype=np.uint32)
        rows[0] = 0
        rows[1] = 0xFFFFFFFF
        got = xxh32_words([rows[:, j].copy() for j in range(width)])
        expected = [xxhash.xxh32_intdigest(row.astype("<u4").tobytes()) for row in rows]
        assert got.tolist() == expected


def test_shingle_hashes_follow_the_definition() -> None:
    xxhash = pytest.importorskip("xxhash")
    h = xxhash.xxh32_intdigest
    rng = random.Random(9)
    texts = [random_text(rng, rng.randint(0, 30)) for _ in range(30)] + ["日本語です", "x y"]
    for n in (1, 3, 5):
        values, offsets = batch_shingle_hashes(texts, n)
        for i, text in enumerate(texts):
            words = [h(w.encode()) for w in reference_tokens(text)]
            width = min(n, len(words))
            grams = [words[s : s + width] for s in range(len(words) - width + 1)] if words else []
            expected = sorted({h(struct.pack(f"<{len(g)}I", *g)) for g in grams})
            assert values[offsets[i] : offsets[i + 1]].tolist() == expected
            assert shingle_hashes(text, n).tolist() == expected
    # "a b c d e" has one 5-gram: xxh32 of the 20-byte key of its token hashes.
    key = struct.pack("<5I", *(h(w) for w in (b"a", b"b", b"c", b"d", b"e")))
    assert shingle_hashes("A, b. C d-e", 5).tolist() == [h(key)]


def test_shingle_jaccard_by_hand() -> None:
    # {abcde, bcdef} vs {abcde, bcdeg}: one shared of three distinct.
    a = shingle_hashes("a b c d e f", 5)
    b = shingle_hashes("a b c d e g", 5)
    assert jaccard(a, b) == pytest.approx(1 / 3)
    assert jaccard(a, a) == 1.0


@pytest.mark.parametrize(("num_perm", "seed"), [(128, 1), (64, 7), (256, 42)])
def test_signatures_bit_compatible_with_datasketch(num_perm: int, seed: int) -> None:
    datasketch = pytest.importorskip("datasketch")
    xxhash = pytest.importorskip("xxhash")
    rng = random.Random(seed)
    texts = [random_text(rng, rng.randint(0, 300)) for _ in range(40)]
    texts += ["", "short", "日本語のテキストです。これは試験。"]
    a, b = permutations(num_perm, seed)
    ours = signatures([shingle_hashes(t, 5) for t in texts], a, b)
    for text, sig in zip(texts, ours, strict=True):
        ref = datasketch.MinHash(num_perm=num_perm, seed=seed, hashfunc=xxhash.xxh32_intdigest)
        assert ref.scheme == "affine32"
        ref.update_batch(list(shingle_keys(text, 5)))
        assert ref.hashvalues.dtype == np.uint32
        np.testing.assert_array_equal(ref.hashvalues, sig)


def test_jaccard_many_equals_pairwise() -> None:
    rng = np.random.default_rng(2)
    sets_a = [
        np.unique(rng.integers(0, 40, rng.integers(0, 25))).astype(np.uint32) for _ in range(200)
    ]
    sets_b = [
        np.unique(rng.integers(0, 40, rng.integers(0, 25))).astype(np.uint32) for _ in range(200)
    ]
    sets_a[0] = sets_b[0] = np.empty(0, dtype=np.uint32)  # both empty: 1.0

    def flat(sets: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        return np.concatenate(sets), np.concatenate(([0], np.cumsum([len(x) for x in sets])))

    got = jaccard_many(*flat(sets_a), *flat(sets_b))
    assert got.tolist() == [jaccard(x, y) for x, y in zip(sets_a, sets_b, strict=True)]
    assert jaccard_many(
        *flat([np.array([1, 2, 3], np.uint32)]), *flat([np.array([2, 3, 9], np.uint32)])
    ).tolist() == [0.5]


def test_estimate_tracks_exact_jaccard() -> None:
    rng = random.Random(3)
    a, b = permutations(256, 1)
    base = random_text(rng, 400).split()
    errors = []
    for cut in range(20, 200, 20):
        other = " ".join(base[cut:] + random_text(rng, cut).split())
        ha, hb = shingle_hashes(" ".join(base), 5), shingle_hashes(other, 5)
        sig = signatures([ha, hb], a, b)
        errors.append(abs(float(estimate_jaccard(sig[0], sig[1])) - jaccard(ha, hb)))
    # Standard error at 256 permutations is at most 0.031; allow 4 sigma.
    assert max(errors) < 0.125


def test_optimal_bands_matches_datasketch_at_equal_weights() -> None:
    lsh = pytest.importorskip("datasketch.lsh")
    for threshold in (0.5, 0.7, 0.8, 0.9):
        assert optimal_bands(threshold, 128) == lsh._optimal_param(threshold, 128, 0.5, 0.5)
    assert optimal_bands(0.8, 128) == (9, 13)


def test_config_records_bands_rows() -> None:
    verified = MinHashConfig().resolved()
    assert (verified.bands, verified.rows, verified.recall_weight) == (16, 8, 0.95)
    trusting = MinHashConfig(verify="none").resolved()
    assert (trusting.bands, trusting.rows) == (9, 13)
    assert MinHashConfig(bands=20, rows=5).resolved().bands == 20
    with pytest.raises(ConfigError, match="fit in"):
        MinHashConfig(bands=20, rows=7).resolved()
    with pytest.raises(ConfigError, match="both"):
        MinHashConfig(bands=20).resolved()


def test_collision_probability_by_hand() -> None:
    assert collision_probability(0.5, 2, 2) == pytest.approx(1 - 0.75**2)


def test_bucket_pairs_by_hand() -> None:
    keys = np.array([5, 5, 5, 1, 2, 2, 9], dtype=np.uint64)
    members = np.array([10, 3, 7, 1, 4, 2, 8], dtype=np.uint64)
    expected = [[2, 4], [3, 7], [3, 10], [7, 10]]
    assert bucket_pairs(keys, members).tolist() == expected
    order = np.array([6, 2, 0, 5, 3, 1, 4])
    assert bucket_pairs(keys[order], members[order]).tolist() == expected


def test_bucket_pairs_large_bucket_star_and_chain() -> None:
    keys = np.full(40, 3, dtype=np.uint64)
    members = np.arange(100, 140, dtype=np.uint64)[::-1].copy()
    pairs = {tuple(p) for p in bucket_pairs(keys, members).tolist()}
    star = {(100, m) for m in range(101, 140)}
    chain = {(m, m + 1) for m in range(100, 139)}
    assert pairs == star | chain


def test_components_by_hand_and_order_free() -> None:
    edges = np.array([[5, 9], [1, 2], [9, 20], [2, 3], [30, 31], [20, 4]], dtype=np.uint64)
    nodes, labels = components(edges)
    assert nodes.tolist() == [1, 2, 3, 4, 5, 9, 20, 30, 31]
    assert labels.tolist() == [1, 1, 1, 4, 4, 4, 4, 30, 30]
    shuffled = edges[::-1][:, ::-1].copy()
    assert components(shuffled)[1].tolist() == labels.tolist()


def test_components_long_chain() -> None:
    n = 2000
    chain = np.stack([np.arange(n - 1), np.arange(1, n)], axis=1).astype(np.uint64)
    _, labels = components(chain[np.random.default_rng(0).permutation(n - 1)])
    assert set(labels.tolist()) == {0}


def test_keep_rule_order() -> None:
    labels = np.array([7, 7, 7, 7], dtype=np.uint64)
    numbers = np.array([7, 8, 9, 10], dtype=np.uint64)
    length = np.array([100, 300, 300, 50], dtype=np.int64)
    score = np.array([0.1, np.nan, 0.5, 0.9])
    sources: list[str | None] = ["web", "web", "books", "web"]
    not_indexed = np.zeros(4, dtype=bool)

    def best(rule: KeepRule, indexed: np.ndarray = not_indexed) -> int:
        order = rank_members(
            labels, numbers, indexed=indexed, priority=source_rank(sources, rule),
            score=score, length=length, rule=rule,
        )  # fmt: skip
        return int(numbers[order[0]])

    assert best(KeepRule()) == 8  # longest; 8 and 9 tie on length, 8 is first in order
    assert best(KeepRule(source_priority=("books",))) == 9
    assert best(KeepRule(attribute="q__m__score")) == 10
    assert best(KeepRule(prefer_longer=False)) == 7
    assert best(KeepRule(), np.array([False, False, False, True])) == 10


def test_verify_bucket_verifies_each_pair_once_in_exactly_one_bucket(tmp_path) -> None:
    from dolmakit.dedup.candidates import VerifyBucket

    # Pair (1, 2) is a candidate of both partitions, (3, 4) of both, (5, 6) of one only:
    # 3 distinct candidates whatever the number of buckets, each in one edge file, each
    # verified once (here on signatures: equal for 1 and 2 only).
    files = []
    for name, pairs in [("a", [(1, 2), (3, 4), (5, 6)]), ("b", [(3, 4), (1, 2)])]:
        files.append(str(tmp_path / f"{name}.npz"))
        np.savez(files[-1], pairs=np.array(pairs, dtype=np.uint64))
    shard = tmp_path / "shard"
    shard.mkdir()
    sig = np.arange(7 * 8, dtype=np.uint32).reshape(7, 8)
    sig[2] = sig[1]
    np.save(shard / "sig.npy", sig)
    shards = (ShardEntry("s", "s.jsonl", str(shard), 7),)
    for buckets in (1, 2, 5):
        work = tmp_path / f"work{buckets}"
        work.mkdir()
        verify = VerifyBucket(shards, tuple(files), str(work), buckets, "estimate", 0.5)
        totals = np.array([verify(b) for b in range(buckets)]).sum(axis=0)
        assert totals.tolist() == [3, 1]
        edges = []
        for b in range(buckets):
            with np.load(work / f"edges-{b:04d}.npz") as data:
                edges += [
                    (*p, v)
                    for p, v in zip(data["pairs"].tolist(), data["verified"].tolist(), strict=True)
                ]
        assert sorted(edges) == [(1, 2, True), (3, 4, False), (5, 6, False)]


@pytest.mark.parametrize("n", [0, 7])
def test_member_clusters_parquet_equals_the_list_writer(tmp_path, n: int) -> None:
    """The numpy/pyarrow writer gives the bytes of report.write_clusters on Python lists."""
    import msgspec

    from dolmakit.dedup.cluster_table import MemberColumns, write_member_clusters
    from dolmakit.dedup.index import ShardEntry
    from dolmakit.dedup.report import write_clusters

    shards = []
    for s, ids in enumerate([["a0", "a1", "a2"], ["b0", "b1"]]):
        folder = tmp_path / f"shard{s}"
        folder.mkdir()
        meta = {"ids": ids, "sources": ["web"] * len(ids)}
        (folder / "meta.msgpack").write_bytes(msgspec.msgpack.encode(meta))
        shards.append(ShardEntry(f"k{s}", f"/data/documents/s{s}.jsonl", str(folder), len(ids)))
    shard = np.array([1, 0, 0, 1, 0, 1, 0])[:n]
    row = np.array([1, 2, 0, 0, 1, 1, 2])[:n]
    source = np.array([0, 1, 0, 1, 1, 0, 0], dtype=np.int32)[:n]
    # 0.123455 and 2.675 are where numpy's rounding and Python's round() differ.
    sim = np.array([1.0, 0.123455, 2.675, 0.8, 1.0, 0.912345678, 0.5])[:n]
    keeper, removed = sim == 1.0, sim < 1.0
    cols = MemberColumns(
        np.array([0, 0, 0, 1, 1, 2, 2])[:n], shard, row, row + 10, source, keeper, removed, sim,
        ("web", None),
    )  # fmt: skip
    write_member_clusters(tmp_path / "new.parquet", shards, cols)
    shard_ids = [["a0", "a1", "a2"], ["b0", "b1"]]
    lists = {
        "cluster": cols.cluster.tolist(),
        "path": [shards[s].path for s in shard.tolist()],
        "line": (row + 10).tolist(),
        "id": [shard_ids[s][r] for s, r in zip(shard.tolist(), row.tolist(), strict=True)],
        "source": [("web", None)[c] for c in source.tolist()],
        "keeper": keeper.tolist(),
        "removed": removed.tolist(),
        "similarity": [round(x, 5) for x in sim.tolist()],
    }
    write_clusters(tmp_path / "old.parquet", lists)
    assert (tmp_path / "new.parquet").read_bytes() == (tmp_path / "old.parquet").read_bytes()


@given(st.lists(st.integers(0, 40), max_size=30), st.integers(1, 20), st.integers(0, 2**32 - 1))
@settings(max_examples=60, deadline=None)
def test_compiled_signatures_equal_the_numpy_reference(sizes, num_perm, seed) -> None:
    from dolmakit.dedup import minhash

    if minhash._minhash_min is None:
        pytest.skip(
            "the compiled min-reduction is not in use (not built, or DOLMAKIT_PURE_PYTHON=1)"
        )
    offsets = np.zeros(len(sizes) + 1, dtype=np.int64)
    np.cumsum(sizes, out=offsets[1:])
    values = np.random.default_rng(seed).integers(0, 2**32, int(offsets[-1]), dtype=np.uint32)
    a, b = permutations(num_perm, seed % 1000)
    compiled = minhash.signatures_flat(values, offsets, a, b)
    assert compiled.dtype == np.uint32 and compiled.shape == (len(sizes), num_perm)
    assert np.array_equal(compiled, minhash.signatures_numpy(values, offsets, a, b))


@given(
    st.binary(max_size=80)
    | st.lists(
        st.sampled_from([b" ", b"\t\x0b", b"ab", b"\xc3\xa9" * 9, b"\x1c", b"0123456789abcdefXYZ"]),
        max_size=12,
    ).map(b"".join)
)
@settings(max_examples=200, deadline=None)
def test_compiled_word_hashes_equal_xxh32_of_each_split_word(data: bytes) -> None:
    import xxhash

    textstats = pytest.importorskip("dolmakit._textstats")
    got = np.frombuffer(textstats.word_hashes(data), dtype="<u4").tolist()
    assert got == [xxhash.xxh32_intdigest(word) for word in data.split()]


@given(
    st.lists(
        st.text(alphabet=st.characters(codec="utf-8"), max_size=30)
        | st.sampled_from(["日本語のテキスト abc", "Ａ\u3000b\x1cc", "x\uffffy"]),
        max_size=8,
    )
)
@settings(max_examples=100, deadline=None)
def test_batch_token_hashes_hash_the_batch_tokens(texts: list[str]) -> None:
    import xxhash

    from dolmakit.dedup.normalize import batch_token_bytes
    from dolmakit.dedup.shingles import batch_token_hashes

    hashes, counts = batch_token_hashes(texts)
    words = batch_token_bytes(texts)
    assert counts.tolist() == [len(w) for w in words]
    assert hashes.dtype == np.uint32
    assert hashes.tolist() == [xxhash.xxh32_intdigest(t) for w in words for t in w]


@given(st.text(alphabet=st.characters(codec="utf-8")) | st.text(alphabet=" \t\n\x1c\x85\xa0\xffab"))
def test_compiled_collapse_spaces_equals_joining_the_split_words(text: str) -> None:
    textstats = pytest.importorskip("dolmakit._textstats")
    got = textstats.collapse_spaces(text)
    assert got == " ".join(text.split())
    assert hash(got) == hash(" ".join(text.split()))  # a canonical str, not just equal chars


@given(
    st.lists(
        st.text(alphabet=st.characters(codec="utf-8"), max_size=40)
        | st.text(alphabet=st.characters(), max_size=20)  # lone surrogates too
        | st.sampled_from(
            ["日本語のテキスト abc", "ΟΔΟΣ ΣΑΣ", "İstanbul ǅ ß", "x\uffffy", "a\u0e01b"]
        ),
        max_size=10,
    )
)
@settings(max_examples=200, deadline=None)
def test_compiled_normal_parts_equal_the_numpy_ones(texts: list[str]) -> None:
    from dolmakit.dedup import normalize

    if normalize._map_utf8 is None:
        pytest.skip("dolmakit._textstats is not built")

    def words(parts: list[bytes | list[bytes]]) -> list[list[bytes]]:
        return [p.split() if isinstance(p, bytes) else p for p in parts]

    compiled = normalize._compiled_normal_parts(texts)
    saved, normalize._map_utf8 = normalize._map_utf8, None
    try:
        assert words(compiled) == words(normalize.batch_normal_parts(texts))
    finally:
        normalize._map_utf8 = saved
