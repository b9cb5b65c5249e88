"""The `contamination` tagger: benchmark examples found in each document, from an index.

The index comes from `dolmakit contamination index`; the tagger refuses one built with
another normalisation or changed since it was built. Per document:

- `match`: the matched text of every present example (overlapping regions merged), score
  the highest coverage among the examples there; the spans a mix masks.
- `example_<benchmark>`: one span per region of each present example, score the example's
  number in its benchmark (its row in `examples.parquet` among that benchmark's rows).
- `coverage_<benchmark>`: the same spans, in the same order, score that example's coverage.
- `examples_hit` (present examples), `max_coverage` (highest coverage of any example with a
  matched n-gram, present or not) and `longest_match` (the longest run of matched words),
  document-level values written for every document.

An example is present when at least `min_coverage` of its coverable words are matched
(`dolmakit.contamination.match`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

from dolmakit.contamination.lookup import open_index
from dolmakit.contamination.match import DEFAULT_MIN_COVERAGE, check_min_coverage, match_texts
from dolmakit.document import Document, Span
from dolmakit.errors import ConfigError
from dolmakit.taggers.base import register


@register
class ContaminationTagger:
    """Find benchmark examples from an index: matched spans, coverage, per-document counts."""

    name: ClassVar[str] = "contamination"
    version: ClassVar[str] = "1"
    attributes: ClassVar[tuple[str, ...]] = (
        "match",
        "examples_hit",
        "max_coverage",
        "longest_match",
        "example_*",
        "coverage_*",
    )
    requires: ClassVar[str] = "an index from `dolmakit contamination index` (parameter index)"
    description: ClassVar[str] = (
        "Benchmark contamination: spans of matched n-grams of examples whose word coverage "
        "reaches min_coverage (default 0.4), per-benchmark example numbers and coverage, "
        "examples_hit, max_coverage, longest_match (words). Parameters: index, min_coverage."
    )

    def __init__(self, index: str, min_coverage: float = DEFAULT_MIN_COVERAGE) -> None:
        self.index = open_index(index)
        self.min_coverage = check_min_coverage(min_coverage)
        names = self.index.benchmark_names
        self._example_keys = [f"example_{b}" for b in names]
        self._coverage_keys = [f"coverage_{b}" for b in names]

    @classmethod
    def run_record(cls, params: dict[str, Any]) -> dict[str, Any]:
        """Return what a run records about its index: path, sha256, n, normalisation."""
        if not params.get("index"):
            raise ConfigError(
                "the contamination tagger needs its index: --param contamination.index=PATH"
            )
        index = open_index(params["index"])
        return {
            "index": str(Path(params["index"]).resolve()),
            "index_name": index.record["name"],
            "index_sha256": index.sha256,
            "n": index.n,
            "normalisation": index.record["normalisation"],
            "benchmarks": index.benchmark_names,
            "min_coverage": check_min_coverage(params.get("min_coverage", DEFAULT_MIN_COVERAGE)),
        }

    def tag_batch(self, docs: Sequence[Document]) -> list[dict[str, list[Span]]]:
        """Return the contamination attributes of each document."""
        results = match_texts(self.index, [d.text for d in docs], self.min_coverage)
        out: list[dict[str, list[Span]]] = []
        bench_of = self.index.example_benchmark
        number_of = self.index.example_number
        for doc, found in zip(docs, results, strict=True):
            size = len(doc.text)
            attrs: dict[str, list[Span]] = {}
            marked: list[tuple[int, int, float]] = []
            for hit in found.hits:
                b = int(bench_of[hit.example])
                number = float(number_of[hit.example])
                for start, end in hit.regions:
                    attrs.setdefault(self._example_keys[b], []).append(Span(start, end, number))
                    attrs.setdefault(self._coverage_keys[b], []).append(
                        Span(start, end, hit.coverage)
                    )
                    marked.append((start, end, hit.coverage))
            if marked:
                attrs["match"] = _merged(marked)
            attrs["examples_hit"] = [Span(0, size, float(len(found.hits)))]
            attrs["max_coverage"] = [Span(0, size, found.max_coverage)]
            attrs["longest_match"] = [Span(0, size, float(found.longest))]
            out.append(attrs)
        return out


def _merged(spans: list[tuple[int, int, float]]) -> list[Span]:
    """Return overlapping spans merged, each scored with the highest score inside it."""
    spans.sort()
    out: list[Span] = []
    start, end, score = spans[0]
    for s, e, c in spans[1:]:
        if s <= end:
            end, score = max(end, e), max(score, c)
        else:
            out.append(Span(start, end, score))
            start, end, score = s, e, c
    out.append(Span(start, end, score))
    return out
