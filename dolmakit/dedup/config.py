"""Frozen configurations of the deduplication runs; their canonical form is recorded."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any, Literal

from dolmakit.dedup.lsh import optimal_bands
from dolmakit.errors import ConfigError

Verify = Literal["exact", "estimate", "none"]
Chaining = Literal["keep", "remove", "recenter"]
VERIFY_MODES = ("exact", "estimate", "none")
CHAINING_MODES = ("keep", "remove", "recenter")


@dataclass(frozen=True)
class KeepRule:
    """Choose the one document of a cluster that survives; the order of criteria is fixed.

    1. source priority: earlier in `source_priority` wins (unlisted sources come after);
    2. `attribute`: highest score wins (e.g. a quality score; documents without it come last);
    3. longest text (characters) wins, if `prefer_longer`;
    4. canonical order: sorted input path, then line. Never timing, never worker count.
    """

    source_priority: tuple[str, ...] = ()
    attribute: str | None = None
    prefer_longer: bool = True

    def attribute_run(self) -> str | None:
        """Return the attribute run holding `attribute` (its key's part before '__')."""
        if self.attribute is None:
            return None
        run, sep, _ = self.attribute.partition("__")
        if not sep or not run:
            raise ConfigError(
                f"keep attribute {self.attribute!r} is not a '<run>__<tagger>__<type>' key"
            )
        return run


@dataclass(frozen=True)
class MinHashConfig:
    """Options of a MinHash near-duplicate run (defaults: 5-grams, 128 permutations, 0.8).

    `bands`/`rows` default to the values minimising `(1 - w) * FP area + w * FN area` of the
    collision curve around `threshold`, with `w = recall_weight`. By default w = 0.95 when
    candidates are verified (a false candidate only costs a check, a missed pair is lost:
    16 x 8 at 0.8) and 0.5 without verification (datasketch MinHashLSH's choice: 9 x 13 at
    0.8, which finds only ~80 % of pairs with Jaccard 0.85). `verify`: 'exact' checks every
    candidate pair's Jaccard on the shingle hashes, 'estimate' on the signatures, 'none'
    trusts LSH. `chaining`: 'keep' keeps cluster members whose similarity to the keeper is
    below `threshold` (they joined through a chain), 'remove' removes them with the rest of
    their cluster, 'recenter' makes the best-ranked of them a further keeper and removes those
    within `threshold` of it, round after round (every removed member is within `threshold`
    of a kept one).
    """

    ngram: int = 5
    num_perm: int = 128
    seed: int = 1
    threshold: float = 0.8
    bands: int | None = None
    rows: int | None = None
    verify: Verify = "exact"
    chaining: Chaining = "recenter"
    partitions: int = 16
    recall_weight: float | None = None
    keep: KeepRule = field(default_factory=KeepRule)

    def resolved(self) -> MinHashConfig:
        """Return this config with bands and rows filled in and every value checked."""
        if self.ngram < 1:
            raise ConfigError(f"ngram must be at least 1, got {self.ngram}")
        if self.num_perm < 1:
            raise ConfigError(f"num_perm must be at least 1, got {self.num_perm}")
        if not 0.0 < self.threshold < 1.0:
            raise ConfigError(f"threshold must be between 0 and 1, got {self.threshold}")
        if self.verify not in VERIFY_MODES:
            raise ConfigError(f"verify must be one of {', '.join(VERIFY_MODES)}")
        if self.chaining not in CHAINING_MODES:
            raise ConfigError(f"chaining must be one of {', '.join(CHAINING_MODES)}")
        if not 1 <= self.partitions <= 4096:
            raise ConfigError(f"partitions must be between 1 and 4096, got {self.partitions}")
        weight = self.recall_weight
        if weight is None:
            weight = 0.5 if self.verify == "none" else 0.95
        if not 0.0 < weight < 1.0:
            raise ConfigError(f"recall_weight must be between 0 and 1, got {weight}")
        bands, rows = self.bands, self.rows
        if bands is None and rows is None:
            bands, rows = optimal_bands(self.threshold, self.num_perm, 1.0 - weight, weight)
        elif bands is None or rows is None:
            raise ConfigError("give both bands and rows, or neither (then the threshold decides)")
        if bands < 1 or rows < 1 or bands * rows > self.num_perm:
            raise ConfigError(
                f"bands x rows = {bands} x {rows} must be positive and fit in"
                f" {self.num_perm} permutations"
            )
        self.keep.attribute_run()
        return replace(self, bands=bands, rows=rows, recall_weight=weight)

    def signature_fields(self) -> dict[str, Any]:
        """Return the options that decide signatures and band keys (an index must match)."""
        return {
            "ngram": self.ngram,
            "num_perm": self.num_perm,
            "seed": self.seed,
            "bands": self.bands,
            "rows": self.rows,
            "partitions": self.partitions,
            "shingles": self.verify == "exact",
            "keep_attribute": self.keep.attribute,
        }

    def to_dict(self) -> dict[str, Any]:
        """Return the canonical form (recorded in the summary)."""
        out = asdict(self)
        out["keep"]["source_priority"] = list(self.keep.source_priority)
        return out


@dataclass(frozen=True)
class ExactConfig:
    """Options of an exact run: `by` is 'text', 'paragraph' or a field path ('metadata.url').

    With `normalize`, text and paragraphs are compared after NFKC, lower case and whitespace
    collapsing; field values are compared as they are. The first document (or paragraph) in
    canonical order (sorted input path, then line, then paragraph) is kept.
    """

    by: str = "text"
    normalize: bool = True
    partitions: int = 16

    def checked(self) -> ExactConfig:
        """Return this config after checking its values."""
        if not self.by:
            raise ConfigError(
                "exact dedup needs --by: text, paragraph or a field like metadata.url"
            )
        if not 1 <= self.partitions <= 4096:
            raise ConfigError(f"partitions must be between 1 and 4096, got {self.partitions}")
        return self

    @property
    def mode(self) -> str:
        """Return 'text', 'paragraph' or 'field'."""
        return self.by if self.by in ("text", "paragraph") else "field"
