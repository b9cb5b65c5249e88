"""Score documents by BM25 relevance to a query (Okapi BM25 with Lucene's IDF).

The collection is the set of documents being ranked (as OLMoTrace does: the documents
retrieved for one output); terms are lowercased words.

    idf(t)    = ln(1 + (N - df(t) + 0.5) / (df(t) + 0.5))
    score(d)  = sum over query terms t in d of
                idf(t) * tf(t, d) * (k1 + 1) / (tf(t, d) + k1 * (1 - b + b * |d| / avgdl))

Each distinct query term counts once, however often the query repeats it.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence

K1 = 1.2
B = 0.75


def bm25_scores(
    query: Sequence[str], documents: Sequence[Sequence[str]], k1: float = K1, b: float = B
) -> list[float]:
    """Return the BM25 score of each document (a list of terms) for the query terms."""
    if not documents:
        return []
    counts = [Counter(d) for d in documents]
    average = sum(len(d) for d in documents) / len(documents) or 1.0
    terms = set(query)
    df = {t: sum(1 for c in counts if t in c) for t in terms}
    n = len(documents)
    idf = {t: math.log(1 + (n - df[t] + 0.5) / (df[t] + 0.5)) for t in terms}
    scores = []
    for doc, tf in zip(documents, counts, strict=True):
        norm = k1 * (1 - b + b * len(doc) / average)
        scores.append(sum(idf[t] * tf[t] * (k1 + 1) / (tf[t] + norm) for t in terms if t in tf))
    return scores
