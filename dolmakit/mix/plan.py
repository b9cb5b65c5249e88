"""Turn declared weights (or rates) and pass-1 token counts into per-source sampling rates.

Weights are shares of the output tokens. With `target_tokens` T, the weighted sources share
T minus what `rate` sources are expected to give (rate x their available tokens). Without a
target the weighted total is `scale` x the largest size at which no weighted source needs
repeating: min over sources of available / normalised weight. Each weighted source's target
is split into whole copies and a remainder, and the remainder is met by a threshold on the
sampling value placed to within one document (see sampling.threshold).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from dolmakit.errors import ConfigError
from dolmakit.mix.sampling import BUCKETS, crossing_bucket, threshold, whole_and_budget
from dolmakit.mix.spec import MixSpec

Candidates = Callable[[int, int], list[tuple[float, int]]]


@dataclass(frozen=True)
class SourcePlan:
    """The rate a source is sampled at and what it was asked for."""

    rate: float
    target_tokens: int | None
    declared_share: float | None


@dataclass(frozen=True)
class MixPlan:
    """Rates of every source (spec order), the total target, and warnings."""

    sources: tuple[SourcePlan, ...]
    target_tokens: int
    warnings: tuple[str, ...]


def plan_mix(
    spec: MixSpec,
    available: Sequence[int],
    histograms: Sequence[Sequence[int]],
    candidates: Candidates,
) -> MixPlan:
    """Compute each source's rate from pass-1 totals; `candidates(source, bucket)` lists the
    (sampling value, tokens) of that source's passing documents in one histogram bucket."""
    weighted = [i for i, s in enumerate(spec.sources) if s.weight is not None]
    from_rates = sum(
        (s.rate or 0.0) * available[i] for i, s in enumerate(spec.sources) if s.rate is not None
    )
    weight_sum = sum(spec.sources[i].weight or 0.0 for i in weighted)
    shares = {i: (spec.sources[i].weight or 0.0) / weight_sum for i in weighted}
    # The shares the manifest reports: a correctly rounded sum, so that weights 0.35, 0.30, 0.25
    # and 0.10 declare 0.35, not 0.35000000000000003. Sampling keeps `shares`, whose float sum
    # its targets were always computed with, so the same spec samples the same documents.
    exact_sum = math.fsum(spec.sources[i].weight or 0.0 for i in weighted)
    declared_weights = {i: (spec.sources[i].weight or 0.0) / exact_sum for i in weighted}
    warnings: list[str] = []
    if spec.target_tokens is not None:
        weighted_total = spec.target_tokens - from_rates
        if weighted and weighted_total <= 0:
            raise spec.error(
                "target_tokens",
                f"the sources with a rate are expected to give {from_rates:,.0f} tokens, "
                f"leaving nothing of {spec.target_tokens:,} for the weighted sources",
            )
    else:
        sizes = [available[i] / shares[i] for i in weighted if available[i] > 0]
        weighted_total = spec.scale * min(sizes) if sizes else 0.0
    weighted_total = max(weighted_total, 0.0)
    total = weighted_total + from_rates
    plans: list[SourcePlan] = []
    for i, source in enumerate(spec.sources):
        if source.rate is not None:
            plans.append(SourcePlan(source.rate, None, None))
            continue
        target = round(shares[i] * weighted_total)
        declared = declared_weights[i] * (weighted_total / total) if total > 0 else 0.0
        whole, budget, capped = whole_and_budget(available[i], target, source.max_repeats)
        rate = float(whole)
        if budget > 0:
            b, below = crossing_bucket(list(histograms[i]), budget)
            frac = threshold(candidates(i, b), below, budget)
            rate = whole + ((b + 1) / BUCKETS if math.isnan(frac) else frac)
        if capped:
            if available[i] == 0:
                problem = "no document passes its filter"
            else:
                problem = (
                    f"only {available[i]:,} tokens pass its filter and max_repeats is "
                    f"{source.max_repeats}, so at most {available[i] * source.max_repeats:,} "
                    "can be emitted"
                )
            warnings.append(
                f"source {source.name!r}: weight {source.weight:g} cannot be honoured: it asks "
                f"for {target:,} tokens ({declared:.2%} of the mix) but {problem}"
            )
        plans.append(SourcePlan(rate, target, declared))
    if not weighted and spec.target_tokens is not None:
        raise ConfigError(
            f"{spec.where('target_tokens')}: target_tokens: no source has a weight; "
            "with rates only, the output size follows from the rates"
        )
    return MixPlan(tuple(plans), round(total), tuple(warnings))
