"""Count tokens offline: OpenAI BPE encodings, whitespace words, or a Hugging Face tokenizer.json.

Token counts are what the mixer's weights are measured in, so `cl100k_base` works with the core
install and never reaches the network. `bpe-openai` (pinned: its counter is the private
`_bindings` module) ships OpenAI's rank files and a Rust BPE whose `count` was measured ~1.8x
faster per core than tiktoken on 2 KB documents, with identical counts. `tiktoken_encoding`
builds the reference tiktoken encoding from the same rank files (verified against tiktoken's
published sha256), which the tests compare against. Counts treat special-token text such as
`<|endoftext|>` as ordinary text (a corpus document is data, not a prompt), as tiktoken's
`encode_ordinary` does; lone surrogates count as U+FFFD, as in tiktoken.
"""

from __future__ import annotations

import binascii
import functools
import gzip
import hashlib
import importlib.util
import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from dolmakit.errors import DolmakitError
from dolmakit.native import load_native


@runtime_checkable
class Tokenizer(Protocol):
    """Count the tokens of texts; `count_batch(texts)[i] == count(texts[i])` always."""

    name: str

    def count(self, text: str) -> int:
        """Return the number of tokens in `text`."""
        ...

    def count_batch(self, texts: Sequence[str]) -> list[int]:
        """Return the number of tokens of each text, in order."""
        ...


@dataclass(frozen=True)
class BpeSpec:
    """An OpenAI BPE encoding: its rank file in the bpe-openai wheel and tiktoken's definition.

    `pat_str`, the special tokens and the sha256 of the decompressed rank file are those tiktoken
    publishes for the encoding (tiktoken_ext/openai_public.py); the hash check guarantees the
    ranks are the ones tiktoken itself would download.
    """

    name: str
    sha256: str
    pat_str: str
    special_tokens: tuple[tuple[str, int], ...]


_CL100K_PAT = (
    r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+"""
    r"""|\s++$|\s*[\r\n]|\s+(?!\S)|\s"""
)
_O200K_PAT = "|".join(
    [
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+"""
        r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*"""
        r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""\p{N}{1,3}""",
        r""" ?[^\s\p{L}\p{N}]+[\r\n/]*""",
        r"""\s*[\r\n]+""",
        r"""\s+(?!\S)""",
        r"""\s+""",
    ]
)

BPE_ENCODINGS: dict[str, BpeSpec] = {
    "cl100k_base": BpeSpec(
        "cl100k_base",
        "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7",
        _CL100K_PAT,
        (
            ("<|endoftext|>", 100257),
            ("<|fim_prefix|>", 100258),
            ("<|fim_middle|>", 100259),
            ("<|fim_suffix|>", 100260),
            ("<|endofprompt|>", 100276),
        ),
    ),
    "o200k_base": BpeSpec(
        "o200k_base",
        "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d",
        _O200K_PAT,
        (("<|endoftext|>", 199999), ("<|endofprompt|>", 200018)),
    ),
}
WHITESPACE = "whitespace"
TOKENIZER_NAMES = (*BPE_ENCODINGS, WHITESPACE)
_INSTALL_HINT = "pip install bpe-openai==0.1.4 (a dolmakit core dependency)"


def rank_file(encoding: str) -> Path:
    """Return the gzipped `.tiktoken` rank file of `encoding` shipped in the bpe-openai wheel."""
    spec = importlib.util.find_spec("bpe_openai")
    if spec is None or not spec.submodule_search_locations:
        raise DolmakitError(f"tokenizer {encoding!r} needs the bpe-openai package: {_INSTALL_HINT}")
    for folder in spec.submodule_search_locations:
        path = Path(folder) / "data" / f"{encoding}.tiktoken.gz"
        if path.is_file():
            return path
    raise DolmakitError(
        f"tokenizer {encoding!r}: the installed bpe-openai has no data/{encoding}.tiktoken.gz; "
        f"reinstall it: {_INSTALL_HINT}"
    )


def load_ranks(spec: BpeSpec) -> dict[bytes, int]:
    """Read and verify the BPE merge ranks of an encoding (token bytes -> rank)."""
    path = rank_file(spec.name)
    raw = gzip.decompress(path.read_bytes())
    digest = hashlib.sha256(raw).hexdigest()
    if digest != spec.sha256:
        raise DolmakitError(
            f"{path}: sha256 {digest} differs from tiktoken's {spec.sha256} for {spec.name}"
        )
    ranks: dict[bytes, int] = {}
    decode = binascii.a2b_base64
    for line in raw.splitlines():
        if line:
            token, rank = line.split()
            ranks[decode(token)] = int(rank)
    return ranks


def tiktoken_encoding(name: str) -> Any:
    """Build tiktoken's encoding `name` offline from the local rank files (needs tiktoken)."""
    spec = BPE_ENCODINGS[name]
    try:
        import tiktoken
    except ImportError:
        raise DolmakitError("the reference encoder needs tiktoken: pip install tiktoken") from None
    return tiktoken.Encoding(
        name=spec.name,
        pat_str=spec.pat_str,
        mergeable_ranks=load_ranks(spec),
        special_tokens=dict(spec.special_tokens),
    )


@functools.cache
def _bpe_bindings() -> Any:
    """Load bpe-openai's compiled `_bindings` module, skipping the package's `__init__`.

    The package init builds tiktoken-compatible tables in Python (0.5 s idle, seconds under
    load, in every worker process); the Rust counter needs none of it (0.04 s measured).
    """
    spec = importlib.util.find_spec("bpe_openai")
    folders = (spec.submodule_search_locations or []) if spec is not None else []
    for folder in folders:
        for path in sorted(Path(folder).glob("_bindings*.so")):
            ext = importlib.util.spec_from_file_location("bpe_openai._bindings", path)
            if ext is not None and ext.loader is not None:
                module = importlib.util.module_from_spec(ext)
                ext.loader.exec_module(module)
                return module
    with warnings.catch_warnings():  # its package init uses a deprecated resources API
        warnings.simplefilter("ignore", DeprecationWarning)
        from bpe_openai import _bindings
    return _bindings


# Both encodings' pre-tokenizers (their `pat_str`) end a piece at a newline followed by a word
# character: no alternative matches a newline and then a letter, digit or underscore, and the
# whitespace run before such a character ends in a newline, which `\s*[\r\n]` (cl100k) or
# `\s*[\r\n]+` (o200k) takes whole, as `\s++$` (cl100k) and `\s*[\r\n]+` do at the end of
# a text. So the pieces of `text[:p] + text[p:]` are those of its two parts, and since BPE
# runs within pieces, a text's count is the sum of its paragraphs' counts when it is cut there
# (tests/test_tokenizers.py checks the sums on random and real text).
_PARAGRAPH_CUT = re.compile(r"\n\n(?=\w)")
PARAGRAPH_MEMO_ENTRIES = 1 << 15
NATIVE_AFTER_CHARS = 1 << 21


class BpeTokenizer:
    """An OpenAI BPE encoding counted by bpe-openai's Rust tokenizer.

    `count_batch` counts each paragraph of a text once per process while it is remembered:
    corpora repeat paragraphs (boilerplate, near copies), and the sum is the text's count.
    For cl100k_base, when `dolmakit._bpe` is built, it counts with that module instead once
    NATIVE_AFTER_CHARS characters were counted (building it reads the ranks, ~0.1 s, which a
    process counting a few changed documents would not win back): ASCII parts pre-tokenized
    and merged in C, each piece remembered, the rest by bpe-openai (the same counts, checked
    against bpe-openai and tiktoken in tests/test_tokenizers.py).
    """

    def __init__(self, spec: BpeSpec) -> None:
        try:
            bindings = _bpe_bindings()
        except ImportError:
            raise DolmakitError(
                f"tokenizer {spec.name!r} needs bpe-openai: {_INSTALL_HINT}"
            ) from None
        self.name = spec.name
        self._tokenizer = bindings.tokenizer_for_encoding(spec.name)
        self._paragraphs: dict[str, int] = {}
        self._spec = spec
        self._native_module = load_native("_bpe") if spec.name == "cl100k_base" else None
        self._native: Any = None
        self._counted = 0  # characters counted before the compiled counter was built

    def count(self, text: str) -> int:
        """Return the number of BPE tokens, special-token text counted as plain text."""
        try:
            return int(self._tokenizer.count(text))
        except UnicodeEncodeError:  # lone surrogates: count them as U+FFFD, like tiktoken
            return int(self._tokenizer.count(_replace_surrogates(text)))

    def count_batch(self, texts: Sequence[str]) -> list[int]:
        """Return the token count of each text, a remembered paragraph counted once."""
        if self._native is None and self._native_module is not None:
            if self._counted >= NATIVE_AFTER_CHARS:
                self._native = self._native_module.Counter(load_ranks(self._spec), self.count)
            else:
                self._counted += sum(map(len, texts))
        if self._native is not None:
            native: list[int] = self._native.count_batch(texts)
            return native
        count, memo = self.count, self._paragraphs
        counts = []
        for text in texts:
            if "\n\n" not in text:
                counts.append(count(text))
                continue
            total, start = 0, 0
            for cut in (*(m.end() for m in _PARAGRAPH_CUT.finditer(text)), len(text)):
                piece = text[start:cut]
                start = cut
                known = memo.get(piece)
                if known is None:
                    if len(memo) >= PARAGRAPH_MEMO_ENTRIES:
                        memo.clear()
                    known = memo[piece] = count(piece)
                total += known
            counts.append(total)
        return counts


def _replace_surrogates(text: str) -> str:
    return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


class WhitespaceTokenizer:
    """Count maximal runs of non-whitespace characters (`str.split()`); for tests and fallbacks."""

    name = WHITESPACE

    def count(self, text: str) -> int:
        """Return the number of whitespace-separated words."""
        return len(text.split())

    def count_batch(self, texts: Sequence[str]) -> list[int]:
        """Return the word count of each text."""
        return [len(text.split()) for text in texts]


class HuggingFaceTokenizer:
    """A Hugging Face `tokenizer.json`, counted without the special tokens a model would add."""

    def __init__(self, path: Path) -> None:
        try:
            from tokenizers import Tokenizer as HfTokenizer
        except ImportError:
            raise DolmakitError(
                f"tokenizer {str(path)!r} needs Hugging Face tokenizers: "
                "pip install 'dolmakit[tokenizers]'"
            ) from None
        try:
            self._tokenizer: Any = HfTokenizer.from_file(str(path))
        except Exception as exc:  # the library raises a bare Exception for malformed files
            raise DolmakitError(f"{path}: not a valid Hugging Face tokenizer.json: {exc}") from None
        self.name = str(path)

    def count(self, text: str) -> int:
        """Return the number of tokens the tokenizer produces, without added special tokens."""
        return len(self._tokenizer.encode(text, add_special_tokens=False).ids)

    def count_batch(self, texts: Sequence[str]) -> list[int]:
        """Return the token count of each text, encoded as one batch."""
        encodings = self._tokenizer.encode_batch(list(texts), add_special_tokens=False)
        return [len(e.ids) for e in encodings]


def get_tokenizer(name: str) -> Tokenizer:
    """Return the tokenizer called `name` (or at path `name`), built once per process.

    `name` is one of `TOKENIZER_NAMES` or a path to a Hugging Face tokenizer.json file.
    """
    if name in BPE_ENCODINGS or name == WHITESPACE:
        return _cached(name)
    path = Path(name).expanduser()
    if path.is_file():
        return _cached(str(path.resolve()))
    raise DolmakitError(
        f"unknown tokenizer {name!r}: choose one of {', '.join(TOKENIZER_NAMES)} "
        "or give the path of a Hugging Face tokenizer.json file"
    )


@functools.cache
def _cached(key: str) -> Tokenizer:
    if key in BPE_ENCODINGS:
        return BpeTokenizer(BPE_ENCODINGS[key])
    if key == WHITESPACE:
        return WhitespaceTokenizer()
    return HuggingFaceTokenizer(Path(key))
