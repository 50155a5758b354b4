"""SPF macro strings (RFC 7208 §7): parse into parts, never crash on odd input."""

from __future__ import annotations

from dataclasses import dataclass

MACRO_LETTERS = frozenset("slodiphcrtv")
EXP_ONLY_LETTERS = frozenset("crt")
DELIMITERS = frozenset(".-+,/_=")


class MacroError(ValueError):
    """A malformed macro; ``offset`` is relative to the start of the macro string."""

    def __init__(self, offset: int, message: str) -> None:
        super().__init__(message)
        self.offset = offset
        self.message = message


@dataclass(frozen=True, slots=True)
class Literal:
    """Literal text (``%%``, ``%_`` and ``%-`` already turned into ``%``, space, ``%20``)."""

    text: str


@dataclass(frozen=True, slots=True)
class MacroExpand:
    """``%{letter digits r delimiters}``; an upper-case letter means URL-escape."""

    letter: str
    digits: int | None
    reverse: bool
    delimiters: str
    url_escape: bool
    raw: str


MacroPart = Literal | MacroExpand


def parse_macro_string(text: str, *, explanation: bool = False) -> tuple[MacroPart, ...]:
    """Split a macro-string into literal and macro parts.

    ``explanation`` allows the ``c``, ``r`` and ``t`` letters (only valid in
    ``exp=`` text, RFC 7208 §7.2). Raises :class:`MacroError` on bad syntax.
    """
    parts: list[MacroPart] = []
    literal: list[str] = []
    i = 0
    n = len(text)
    while i < n:
        ch = text[i]
        if ch != "%":
            code = ord(ch)
            if not explanation and not (0x21 <= code <= 0x7E):
                raise MacroError(i, f"character {ch!r} not allowed in a macro-string")
            literal.append(ch)
            i += 1
            continue
        if i + 1 >= n:
            raise MacroError(i, "'%' at the end of the string (write '%%' for a percent sign)")
        nxt = text[i + 1]
        if nxt == "%":
            literal.append("%")
            i += 2
            continue
        if nxt == "_":
            literal.append(" ")
            i += 2
            continue
        if nxt == "-":
            literal.append("%20")
            i += 2
            continue
        if nxt != "{":
            raise MacroError(i, f"'%{nxt}' is not a macro (use '%{{x}}', '%%', '%_' or '%-')")
        end = text.find("}", i + 2)
        if end < 0:
            raise MacroError(i, "macro '%{' is not closed with '}'")
        body = text[i + 2 : end]
        parts_macro = _parse_macro_body(body, i, explanation)
        if literal:
            parts.append(Literal("".join(literal)))
            literal = []
        parts.append(parts_macro)
        i = end + 1
    if literal:
        parts.append(Literal("".join(literal)))
    return tuple(parts)


def _parse_macro_body(body: str, offset: int, explanation: bool) -> MacroExpand:
    if not body:
        raise MacroError(offset, "empty macro '%{}'")
    letter = body[0]
    if letter.lower() not in MACRO_LETTERS:
        raise MacroError(offset, f"unknown macro letter {letter!r}")
    if letter.lower() in EXP_ONLY_LETTERS and not explanation:
        raise MacroError(offset, f"macro letter {letter!r} is only allowed in exp= text")
    j = 1
    while j < len(body) and body[j].isdigit():
        j += 1
    digits_text = body[1:j]
    digits = int(digits_text) if digits_text else None
    if digits is not None and digits == 0:
        raise MacroError(offset, "macro transformer digit count must be at least 1")
    reverse = False
    if j < len(body) and body[j] in "rR":
        reverse = True
        j += 1
    delimiters = body[j:]
    bad = [d for d in delimiters if d not in DELIMITERS]
    if bad:
        raise MacroError(offset, f"invalid macro delimiter {bad[0]!r} in '%{{{body}}}'")
    return MacroExpand(
        letter=letter.lower(),
        digits=digits,
        reverse=reverse,
        delimiters=delimiters,
        url_escape=letter.isupper(),
        raw="%{" + body + "}",
    )


def has_macro(text: str) -> bool:
    """True when the string contains a ``%{...}`` expansion."""
    return "%{" in text
