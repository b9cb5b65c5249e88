"""The `tokens` tagger: the token count of each document under a chosen tokenizer."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from dolmakit.document import Document, Span
from dolmakit.taggers.base import register
from dolmakit.tokenizers import get_tokenizer

DEFAULT_TOKENIZER = "cl100k_base"


@register
class TokensTagger:
    """Count each document's tokens: one document-level span `[0, len(text), count]`.

    The tokenizer is built once per process (`get_tokenizer` caches it). An empty document
    gets the span `[0, 0, 0]`, so every document carries its count.
    """

    name: ClassVar[str] = "tokens"
    version: ClassVar[str] = "1"
    attributes: ClassVar[tuple[str, ...]] = ("count",)
    requires: ClassVar[str] = (
        "bpe-openai (core); tokenizers (dolmakit[tokenizers]) for a tokenizer.json"
    )
    description: ClassVar[str] = (
        "Token count per document (parameter tokenizer: cl100k_base (default), o200k_base, "
        "whitespace, or a tokenizer.json path)."
    )

    def __init__(self, tokenizer: str = DEFAULT_TOKENIZER) -> None:
        self.tokenizer = get_tokenizer(tokenizer)

    def tag_batch(self, docs: Sequence[Document]) -> list[dict[str, list[Span]]]:
        """Return `{"count": [[0, len(text), tokens]]}` for each document."""
        counts = self.tokenizer.count_batch([doc.text for doc in docs])
        return [
            {"count": [Span(0, len(doc.text), float(n))]}
            for doc, n in zip(docs, counts, strict=True)
        ]
