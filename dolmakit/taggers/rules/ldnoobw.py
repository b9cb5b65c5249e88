"""The `ldnoobw` tagger: LDNOOBW bad words, multilingual, matched the way C4 matched them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from dolmakit.document import Document, Span
from dolmakit.errors import DolmakitError
from dolmakit.taggers.base import register
from dolmakit.taggers.rules.wordlists import WordList, available_languages, load_word_list


def document_language(doc: Document) -> str | None:
    """Return `metadata.lang` (or `metadata.language`) of a document, if it is a string."""
    meta = doc.metadata
    if not meta:
        return None
    lang = meta.get("lang", meta.get("language"))
    return lang if isinstance(lang, str) and lang else None


@register
class LdnoobwTagger:
    """Tag each bad-word match as a span and count them per document.

    The list is chosen by `language` if given, else by the document's `metadata.lang`, else
    `default_language`. A document whose language has no list gets no attributes at all, so
    that "no list" is never confused with "no bad words".
    """

    name: ClassVar[str] = "ldnoobw"
    version: ClassVar[str] = "2"  # 2: the original LDNOOBW lists (1: badwords-py lists)
    attributes: ClassVar[tuple[str, ...]] = ("match", "count")
    requires: ClassVar[str] = ""
    description: ClassVar[str] = (
        "LDNOOBW bad words (28 lists): a span per match and a per-document count; whole "
        "words in space-delimited languages, substrings in ja/zh/th (as C4)."
    )

    def __init__(self, language: str | None = None, default_language: str = "en") -> None:
        self.language = language
        self.default_language = default_language
        for lang in (language, default_language):
            if lang is not None and load_word_list(lang) is None:
                raise DolmakitError(
                    f"ldnoobw: no word list for language {lang!r};"
                    f" lists exist for {', '.join(available_languages())}"
                )

    def tag_batch(self, docs: Sequence[Document]) -> list[dict[str, list[Span]]]:
        """Return the matches and the count of each document."""
        out: list[dict[str, list[Span]]] = []
        for doc in docs:
            words = self._list_for(doc)
            if words is None:
                out.append({})
                continue
            matches = [Span(s, e, 1) for s, e in words.find(doc.text)]
            result = {"count": [Span(0, len(doc.text), len(matches))]}
            if matches:
                result["match"] = matches
            out.append(result)
        return out

    def _list_for(self, doc: Document) -> WordList | None:
        lang = self.language or document_language(doc) or self.default_language
        return load_word_list(lang)
