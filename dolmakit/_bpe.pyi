"""Compiled cl100k_base token counting (reference: bpe-openai's count)."""

from collections.abc import Callable, Sequence

class Counter:
    """Count cl100k_base tokens: ASCII parts here, the rest with `fallback`."""

    def __init__(
        self, ranks: dict[bytes, int], fallback: Callable[[str], int], memo_entries: int = ...
    ) -> None: ...
    def count_batch(self, texts: Sequence[str], /) -> list[int]:
        """Return the cl100k_base token count of each text, in order."""
