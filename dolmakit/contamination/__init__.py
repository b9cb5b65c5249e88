"""Benchmark contamination: n-gram normalisation, the benchmark index, matching, coverage.

`ngrams` normalises and hashes word n-grams in bulk, `examples` reads benchmark files,
`index` builds an index, `lookup` opens one, `match` finds examples in texts. The tagger
(`dolmakit.taggers.contamination`) and the audit (`dolmakit.audit.contamination`) use them.
This package sits below the stages so that both may import it (docs/architecture.md).
"""
