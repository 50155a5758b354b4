"""Text folded to the console width with a hanging indent, never cutting a name or count.

Every text renderer prints through :func:`print_hanging`: a prefix (``"  error    spf.x  "``,
``"record: "``) and a body folded into the room left, continuation lines indented to
the hang column. Lines break only at spaces (and, for records, after ``;``), so a DNS
name, an IP address, a count and its unit stay whole; only a single word wider than
the whole line is folded inside, at a dot, slash, ``;``, ``:`` or ``=`` when there is one.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from rich.cells import cell_len
from rich.text import Text

if TYPE_CHECKING:
    from rich.console import Console

MIN_ROOM = 28
"""Fewest columns a folded body gets; below it the hang moves left (to ``FALLBACK_HANG``)."""
FALLBACK_HANG = 4
RECORD_BREAKS = " ;"
"""A record folds after a space or after a ``;`` (DMARC and TLS-RPT tags)."""
SAFE_INSIDE = ".;/,:=@-"
"""Where a word wider than a whole line is folded, when it must be."""


_BASE64_RUN = re.compile(r"[A-Za-z0-9+/=]*[+/][A-Za-z0-9+/=]*|[A-Za-z0-9+/=]{40,}")


def as_text(value: Text | str, style: str = "") -> Text:
    return value if isinstance(value, Text) else Text(value, style=style)


def split_atoms(text: Text, breaks: str = " ") -> list[Text]:
    """``text`` cut after every character of ``breaks`` (a run of spaces stays together,
    with the word before it)."""
    plain = text.plain
    cuts: list[int] = []
    i = 0
    while i < len(plain):
        if plain[i] in breaks:
            j = i + 1
            while j < len(plain) and plain[j] == " ":
                j += 1
            if j < len(plain):
                cuts.append(j)
            i = j
        else:
            i += 1
    return list(text.divide(cuts)) if cuts else [text]


def _cut_point(plain: str, room: int) -> int:
    """Index to fold a too-wide word at: after the last safe character that fits."""
    end = 0
    while end < len(plain) and cell_len(plain[: end + 1]) <= room:
        end += 1
    end = max(end, 1)
    if _BASE64_RUN.fullmatch(plain[:end]):
        return end  # a key: fill the line
    for safe in (".;/", SAFE_INSIDE):  # between labels first, then inside one
        for k in range(end, max(end // 3, 1) - 1, -1):
            if plain[k - 1] in safe:
                return k
    return end


def fold_atoms(atoms: Sequence[Text], first: int, rest: int) -> list[Text]:
    """Greedy fill: ``first`` columns on the first line, ``rest`` on the others."""
    lines: list[Text] = []
    current = Text()
    used = 0
    room = max(first, 1)
    for atom in atoms:
        word = atom.plain.rstrip(" ")
        need = cell_len(word)
        if used and used + need > room:
            lines.append(current)
            current, used, room = Text(), 0, max(rest, 1)
        if not used:
            while cell_len(atom.plain.rstrip(" ")) > room:
                cut = _cut_point(atom.plain, room)
                lines.append(atom[:cut])
                atom = atom[cut:]
                room = max(rest, 1)
        current.append_text(atom)
        used += cell_len(atom.plain)
    lines.append(current)
    for line in lines:
        line.rstrip()
    return lines


def fold(body: Text | str, first: int, rest: int | None = None, *, breaks: str = " ") -> list[Text]:
    """``body`` folded to ``first`` columns, then ``rest`` (default ``first``)."""
    text = as_text(body)
    return fold_atoms(split_atoms(text, breaks), first, first if rest is None else rest)


def print_hanging(
    console: Console,
    prefix: Text | str,
    body: Text | str | Sequence[Text],
    *,
    hang: int | None = None,
    breaks: str = " ",
    style: str = "",
) -> None:
    """``prefix`` then ``body`` folded to the console width; continuation lines start at
    column ``hang`` (default: under the body's first character).

    ``body`` may be a sequence of atoms (never broken inside unless wider than a line).
    """
    head = as_text(prefix)
    start = cell_len(head.plain)
    width = console.width
    hang = start if hang is None else hang
    if width - hang < MIN_ROOM:
        hang = min(hang, FALLBACK_HANG)
    if isinstance(body, (str, Text)):
        atoms = split_atoms(as_text(body, style), breaks)
    else:
        atoms = list(body)
    first_room = width - start
    if first_room < MIN_ROOM // 2 and start > hang:
        alone = head.copy()
        alone.rstrip()
        console.print(alone, no_wrap=True, overflow="ignore", crop=False)
        first_room = width - hang
        head = Text(" " * hang)
    lines = fold_atoms(atoms, first_room, width - hang)
    pad = " " * hang
    for index, line in enumerate(lines):
        text = Text.assemble(head if index == 0 else pad, line)
        console.print(text, no_wrap=True, overflow="ignore", crop=False)


def print_line(console: Console, markup: str = "", *, hang: int | None = None) -> None:
    """One line of rich markup, folded to the width: continuation lines start ``hang``
    columns in (default: two more than the line's own indent)."""
    text = Text.from_markup(markup)
    plain = text.plain
    indent = len(plain) - len(plain.lstrip(" "))
    if not plain.strip():
        console.print()
        return
    print_hanging(console, text[:indent], text[indent:], hang=indent + 2 if hang is None else hang)


__all__ = ["RECORD_BREAKS", "fold", "fold_atoms", "print_hanging", "print_line", "split_atoms"]
