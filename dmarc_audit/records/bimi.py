"""BIMI assertion record parser (draft-brand-indicators-for-message-identification §4.3).

The record is a DKIM-style tag list (RFC 6376 §3.2): ``v=BIMI1`` first, ``l=``
(an https URI of an SVG indicator, or empty), optional ``a=`` (an https URI of
the evidence document, usually a VMC/CMC, or empty), ``lps=`` and ``avp=``.
Unknown tags are ignored. ``parse_bimi`` never raises on record content.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from dmarc_audit.records.mtasts import FieldProblem
from dmarc_audit.records.taglist import TagListIssue, split_tags

VERSION = "BIMI1"
INDICATOR_SUFFIXES = ("svg", "svgz")
"""The image formats the draft allows at ``l=`` (§4.3.2)."""

_TAG_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
_VALUE_CHARS = re.compile(r"[\x21-\x3a\x3c-\x7e \t]*")
_CANDIDATE = re.compile(r"[ \t]*v[ \t]*=[ \t]*bimi1", re.IGNORECASE)
_CHOICES = {"lps": ("true", "false"), "avp": ("brand", "personal")}
_KNOWN = ("v", "l", "a", "lps", "avp")


@dataclass(frozen=True, slots=True)
class BimiTag:
    """One ``tag=value`` with its 0-based offset in the record."""

    name: str
    value: str
    offset: int


@dataclass(frozen=True, slots=True)
class BimiRecord:
    """A parsed ``<selector>._bimi`` TXT record. ``problems`` empty means it is valid."""

    text: str
    tags: tuple[BimiTag, ...]
    location: str | None
    """``l=`` value; None when the tag is absent, ``""`` when empty."""
    authority: str | None
    """``a=`` value; None when the tag is absent, ``""`` when empty."""
    problems: tuple[FieldProblem, ...]

    @property
    def valid(self) -> bool:
        return not self.problems

    @property
    def declined(self) -> bool:
        """``l=`` and ``a=`` both empty: an explicit refusal to take part (§4.3.1)."""
        return self.location == "" and not self.authority

    @property
    def has_evidence(self) -> bool:
        """``a=`` names an evidence document (a Verified or Common Mark Certificate)."""
        return bool(self.authority)


def is_bimi_record(text: str) -> bool:
    """True for a TXT record that is meant to be a BIMI record (``v=BIMI1``, any case)."""
    return _CANDIDATE.match(text) is not None


def parse_bimi(text: str) -> BimiRecord:
    """Parse a BIMI assertion record."""
    tags, problems = _split_tags(text)
    by_name: dict[str, BimiTag] = {}
    for tag in tags:
        if tag.name in by_name:
            problems.append(
                FieldProblem(
                    f"tag {tag.name!r} appears twice; the whole record is invalid", tag.offset
                )
            )
        by_name.setdefault(tag.name, tag)
    problems.extend(_version_problems(tags, len(text)))
    for tag in tags:
        if tag.name not in _KNOWN and tag.name.lower() in _KNOWN:
            problems.append(
                FieldProblem(
                    f"tag names are case-sensitive: write {tag.name.lower() + '='!r}, "
                    f"not {tag.name + '='!r}",
                    tag.offset,
                )
            )
    location = by_name.get("l")
    authority = by_name.get("a")
    if location is None:
        problems.append(FieldProblem("l= is required (an empty l= declines BIMI)", len(text)))
    elif location.value:
        problems.extend(_https_problems(location, indicator=True))
    if authority is not None and authority.value:
        problems.extend(_https_problems(authority, indicator=False))
    for name, choices in _CHOICES.items():
        chosen = by_name.get(name)
        if chosen is not None and chosen.value not in choices:
            problems.append(
                FieldProblem(
                    f"{name}= must be {' or '.join(choices)}, not {chosen.value!r}", chosen.offset
                )
            )
    return BimiRecord(
        text=text,
        tags=tuple(tags),
        location=location.value if location else None,
        authority=authority.value if authority else None,
        problems=tuple(sorted(problems, key=lambda p: p.offset)),
    )


def _split_tags(text: str) -> tuple[list[BimiTag], list[FieldProblem]]:
    split = split_tags(text)
    problems = [
        FieldProblem(
            "empty tag between ';' separators"
            if problem.issue is TagListIssue.EMPTY
            else f"{problem.text!r} is not a tag=value pair",
            problem.offset,
        )
        for problem in split.problems
    ]
    tags: list[BimiTag] = []
    for tag in split.tags:
        if not _TAG_NAME.fullmatch(tag.name):
            problems.append(FieldProblem(f"invalid tag name {tag.name!r}", tag.offset))
            continue
        if not _VALUE_CHARS.fullmatch(tag.value):
            problems.append(
                FieldProblem(f"tag {tag.name!r} has a control or non-ASCII character", tag.offset)
            )
        tags.append(BimiTag(tag.name, tag.value, tag.offset))
    return tags, problems


def _version_problems(tags: list[BimiTag], end: int) -> list[FieldProblem]:
    if not tags or tags[0].name != "v":
        return [FieldProblem("v=BIMI1 must be the first tag", tags[0].offset if tags else end)]
    value = tags[0].value
    if value == VERSION:
        return []
    if value.upper() == VERSION:
        return [
            FieldProblem(
                f"version is case-sensitive: write v={VERSION}, not v={value}", tags[0].offset
            )
        ]
    return [FieldProblem(f"v= must be {VERSION}, not {value!r}", tags[0].offset)]


def _https_problems(tag: BimiTag, *, indicator: bool) -> list[FieldProblem]:
    uri, at = tag.value, tag.offset
    if "," in uri:
        return [
            FieldProblem(
                f"{tag.name}= must hold a single URI (a comma inside a URI must be written %2C)", at
            )
        ]
    if any(ch.isspace() for ch in uri):
        return [FieldProblem(f"{tag.name}= URI {uri!r} contains whitespace", at)]
    try:
        parts = urlsplit(uri)
        host = parts.hostname
    except ValueError:
        return [FieldProblem(f"{tag.name}= is not a valid URI: {uri!r}", at)]
    if parts.scheme.lower() != "https":
        return [FieldProblem(f"{tag.name}= must be an https: URI, not {uri!r}", at)]
    if not host or "." not in host.strip("."):
        return [FieldProblem(f"{tag.name}= URI {uri!r} needs a fully qualified host name", at)]
    if indicator:
        last = parts.path.rsplit("/", 1)[-1]
        suffix = last.rsplit(".", 1)[1].lower() if "." in last else None
        if suffix is not None and suffix not in INDICATOR_SUFFIXES:
            return [
                FieldProblem(
                    f"l= must point to an SVG indicator (.svg or .svgz), not a .{suffix} file", at
                )
            ]
    return []
