"""Counted nouns in English: ``plural(1, "record")`` is ``1 record``, ``plural(2, ...)``
``2 records``. Every message, note and summary that counts something says it this way."""

from __future__ import annotations

IRREGULAR = {
    "query": "queries",
    "address": "addresses",
    "policy": "policies",
    "entry": "entries",
    "reply": "replies",
    "match": "matches",
    "pass": "passes",
    "info": "info",
}


def noun(count: int, word: str, many: str | None = None) -> str:
    """``word`` or its plural form, as ``count`` needs (``many`` overrides the plural)."""
    if count == 1:
        return word
    if many is not None:
        return many
    if word in IRREGULAR:
        return IRREGULAR[word]
    head, _, last = word.rpartition(" ")
    if head:
        return f"{head} {noun(count, last)}"
    return word + "s"


def plural(count: int, word: str, many: str | None = None, *, grouped: bool = False) -> str:
    """``1 record``, ``2 records``; ``grouped`` writes ``1,234``."""
    number = f"{count:,}" if grouped else str(count)
    return f"{number} {noun(count, word, many)}"


__all__ = ["noun", "plural"]
