"""Declared token weights are realised: random specs, and the demo mix on the demo corpus."""

from __future__ import annotations

import shutil
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_mix_helpers import make_source, write_jsonl, write_spec

from dolmakit.io.paths import expand_inputs
from dolmakit.io.reader import read_documents
from dolmakit.mix import build_mix
from dolmakit.mix.plan import plan_mix
from dolmakit.mix.sampling import BUCKETS, threshold
from dolmakit.mix.spec import parse_spec
from dolmakit.run.options import RunOptions

ROOT = Path(__file__).resolve().parent.parent


def test_threshold_hand_computed():
    # documents at units 0.1, 0.2, 0.3 with 10, 20, 30 tokens; 5 tokens lie in lower buckets
    candidates = [(0.3, 30), (0.1, 10), (0.2, 20)]
    assert threshold(candidates, 5, 5) == 0.1  # keep none of the bucket: 5 tokens
    assert threshold(candidates, 5, 14) == 0.2  # 15 tokens (keep 0.1)
    assert threshold(candidates, 5, 30) == 0.3  # 35 beats 15
    assert threshold(candidates, 5, 60) != threshold(candidates, 5, 60)  # NaN: all of it


def test_declared_shares_are_the_weights_and_targets_are_unchanged():
    weights = ["0.35", "0.30", "0.25", "0.10"]  # their float sum is 0.9999999999999999
    text = "name: t\nversion: 1\nseed: 1\ntokenizer: whitespace\nsources:\n" + "".join(
        f"  - name: s{i}\n    documents: documents/s{i}/*\n    weight: {w}\n"
        for i, w in enumerate(weights)
    )
    histogram = [0] * (BUCKETS - 1) + [1000]
    plan = plan_mix(
        parse_spec(text, Path("t.yaml")), [1000] * 4, [histogram] * 4, lambda s, b: [(0.9999, 1000)]
    )
    assert [p.declared_share for p in plan.sources] == [0.35, 0.30, 0.25, 0.10]
    # the targets (and so the documents sampled) are those of the float shares, as before
    assert [p.target_tokens for p in plan.sources] == [1000, 857, 714, 286]
    assert plan.target_tokens == 2857


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    sizes=st.lists(
        st.tuples(st.integers(5, 60), st.integers(1, 40), st.floats(0.05, 1.0)),
        min_size=1,
        max_size=4,
    ),
    target=st.one_of(st.none(), st.integers(200, 6000)),
    seed=st.integers(0, 2**31),
)
def test_random_specs_realise_their_targets(tmp_path_factory, sizes, target, seed):
    root = tmp_path_factory.mktemp("w")
    sources = []
    for s, (count, max_words, weight) in enumerate(sizes):
        docs = [
            {"id": f"{s}-{i}", "text": " ".join(["x"] * (1 + (i * 7919 + s) % max_words))}
            for i in range(count)
        ]
        make_source(root, f"s{s}", docs)
        sources.append(
            {"name": f"s{s}", "documents": f"documents/s{s}/*", "weight": weight, "max_repeats": 3}
        )
    spec = {"name": "r", "version": 1, "seed": seed, "tokenizer": "whitespace", "sources": sources}
    if target is not None:
        spec["target_tokens"] = target
    path = write_spec(root / "mix.yaml", spec)
    m = build_mix(path, output=root / "out", run_options=RunOptions(progress=False)).manifest
    for section, (_, max_words, _) in zip(m.sources, sizes, strict=True):
        f = section.funnel
        cap = f.tokens_available * 3
        assert f.target_tokens is not None
        want = min(f.target_tokens, cap)
        # within one document (at most max_words tokens) of the token target
        assert abs(f.tokens_emitted - want) <= max_words, section
        if target is None:
            assert section.rate <= 1.0
    assert sum(s.funnel.tokens_emitted for s in m.sources) == m.totals.tokens


def _fake_attributes(data: Path) -> None:
    """Write the attribute runs demo-v2 joins, with simple stand-in values."""
    for path in expand_inputs([data / "documents"]):
        rel = path.relative_to(data / "documents")
        tags, exact, near = [], [], []
        for _, doc in read_documents(path):
            n = len(doc.text)
            lang = (doc.metadata or {}).get("lang", "en")
            derived = (doc.metadata or {}).get("derived_from")
            tags.append(
                {
                    "id": doc.id,
                    "attributes": {
                        f"tags__lid_fasttext__lang_{lang}": [[0, n, 0.9]],
                        "tags__gopher_quality__pass": [
                            [0, n, 1 if len(doc.text.split()) > 60 else 0]
                        ],
                    },
                }
            )
            dup = {"id": doc.id, "attributes": {}}
            marked = {
                "id": doc.id,
                "attributes": {"dedup_minhash__minhash__duplicate": [[0, n, 1]]},
            }
            exact.append(dup)
            near.append(marked if derived else dup)
        write_jsonl(data / "attributes" / "tags" / rel, tags)
        write_jsonl(data / "attributes" / "dedup_exact" / rel, exact)
        write_jsonl(data / "attributes" / "dedup_minhash" / rel, near)
        # the demo benchmark's run (contamination tagger): nothing matched, nothing masked
        write_jsonl(data / "attributes" / "evals" / rel, exact)


def test_demo_mix_shares_within_one_percent(tmp_path):
    data = tmp_path / "data"
    shutil.copytree(ROOT / "dolmakit" / "demo_corpus" / "documents", data / "documents")
    _fake_attributes(data)
    result = build_mix(
        ROOT / "mixes" / "demo-v2.yaml",
        data_root=data,
        output=tmp_path / "mixes",
        run_options=RunOptions(progress=False),
    )
    m = result.manifest
    assert result.mix_dir == (tmp_path / "mixes" / "demo" / "v2").resolve()
    assert [s.name for s in m.sources] == ["python", "handbook", "manuals", "fortunes"]
    # the spec's weights, as written (not 0.35000000000000003)
    assert [s.declared_share for s in m.sources] == [0.35, 0.30, 0.25, 0.10]
    for s in m.sources:
        assert s.declared_share is not None
        assert abs(s.realised_share - s.declared_share) < 0.01, s
    python = m.sources[0].funnel
    assert python.rejected_by_clause == (0, 60)  # the mirror's 60 documents
    assert m.totals.shards >= 2


@given(st.integers(-(2**40), 2**40), st.text(), st.text(), st.integers(0, 1000))
def test_sampling_hashes_equal_the_joined_parts_reference(seed, source, doc_id, repeat):
    from dolmakit.mix import sampling

    sample = sampling._hash64(sampling._SAMPLE_PERSON, seed, source, doc_id)
    assert sampling.unit(seed, source, doc_id) == (sample >> 11) / 2.0**53
    order = sampling._hash64(sampling._ORDER_PERSON, seed, source, doc_id, repeat)
    assert sampling.order_key(seed, source, doc_id, repeat) == order
