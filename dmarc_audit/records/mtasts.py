"""MTA-STS TXT record parser (RFC 8461 §3.1).

``parse_sts`` never raises on record content: every problem becomes a
:class:`FieldProblem` with its offset, and the fields that did parse are kept.
The field splitter is shared with TLS-RPT (RFC 8460 §3), whose grammar has the
same shape: ``version 1*(sep field) [sep]`` with ``sep = *WSP ";" *WSP``; it cuts
the fields with :func:`dmarc_audit.records.taglist.split_tags`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from dmarc_audit.records.taglist import TagList, TagListIssue, TagListProblem, split_tags

VERSION = "v=STSv1"
MAX_ID_LENGTH = 32

_WSP = " \t"
_EXT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,31}")
_EXT_VALUE = re.compile(r"[\x21-\x3a\x3c\x3e-\x7e]+")
_ID = re.compile(r"[A-Za-z0-9]{1,32}")


@dataclass(frozen=True, slots=True)
class Field:
    """One ``name=value`` field, with its 0-based offset in the record."""

    name: str
    value: str
    offset: int


@dataclass(frozen=True, slots=True)
class FieldProblem:
    """Why (part of) a record does not match its grammar, and where."""

    message: str
    offset: int

    def __str__(self) -> str:
        return f"at offset {self.offset}: {self.message}"


@dataclass(frozen=True, slots=True)
class SplitRecord:
    """A version-prefixed field list: the fields found and the syntax problems."""

    fields: tuple[Field, ...]
    problems: tuple[FieldProblem, ...]
    version_ok: bool
    """False when the record does not start with the version at all."""


def starts_with_version(text: str, version: str) -> bool:
    """True when ``text`` looks like a record of this kind (case-insensitive, leading WSP ok).

    Used to pick candidates out of all TXT records at a name: a near miss such as
    ``v=stsv1`` is kept so that the parser can say what is wrong with it.
    """
    return text.lstrip(_WSP)[: len(version)].lower() == version.lower()


def split_fields(text: str, version: str) -> SplitRecord:
    """Split ``version *WSP ";" *WSP field ...`` into fields (RFC 8461 §3.1, RFC 8460 §3)."""
    problems: list[FieldProblem] = []
    start = len(text) - len(text.lstrip(_WSP))
    if start:
        problems.append(FieldProblem(f"whitespace before {version!r}", 0))
    head = text[start : start + len(version)]
    if head != version:
        if head.lower() != version.lower():
            problems.append(FieldProblem(f"record must start with {version!r}", start))
            return SplitRecord((), tuple(problems), version_ok=False)
        problems.append(
            FieldProblem(f"version is case-sensitive: write {version!r}, not {head!r}", start)
        )
    pos = start + len(version)
    semi = text.find(";", pos)
    head_end = len(text) if semi < 0 else semi
    unseparated = split_tags(text[:head_end], start=pos)
    fields: list[Field] = []
    if not unseparated.blank:
        problems.append(FieldProblem(f"expected ';' after {version!r}", pos))
        _add_fields(unseparated, fields, problems)
    if semi >= 0:
        _add_fields(split_tags(text, start=semi + 1), fields, problems)
    return SplitRecord(tuple(fields), tuple(problems), version_ok=True)


def _add_fields(split: TagList, fields: list[Field], problems: list[FieldProblem]) -> None:
    for item in split.in_order():
        if isinstance(item, TagListProblem):
            if item.issue is TagListIssue.EMPTY:
                problems.append(FieldProblem("empty field between ';' separators", item.offset))
            else:
                problems.append(FieldProblem(f"field {item.text!r} has no '='", item.offset))
            continue
        if item.spaced:
            problems.append(
                FieldProblem(f"no spaces allowed around '=' in {item.text!r}", item.offset)
            )
        if not _EXT_NAME.fullmatch(item.name):
            problems.append(FieldProblem(f"invalid field name {item.name!r}", item.offset))
            continue
        fields.append(Field(item.name, item.value, item.offset))


def check_extension(field: Field) -> FieldProblem | None:
    """An extension field's value must be printable ASCII without ``=``, ``;`` or space."""
    if _EXT_VALUE.fullmatch(field.value):
        return None
    return FieldProblem(f"invalid value {field.value!r} for field {field.name!r}", field.offset)


@dataclass(frozen=True, slots=True)
class StsRecord:
    """A parsed ``_mta-sts`` TXT record. ``problems`` empty means it is valid."""

    text: str
    id: str | None
    extensions: tuple[Field, ...]
    problems: tuple[FieldProblem, ...]

    @property
    def valid(self) -> bool:
        return not self.problems


def is_sts_record(text: str) -> bool:
    """True for a TXT record that is meant to be an MTA-STS record."""
    return starts_with_version(text, VERSION)


def parse_sts(text: str) -> StsRecord:
    """Parse ``v=STSv1; id=<1-32 alphanumerics>[; ext=value ...]`` (RFC 8461 §3.1)."""
    split = split_fields(text, VERSION)
    problems = list(split.problems)
    ids = [f for f in split.fields if f.name == "id"]
    extensions = []
    for field in split.fields:
        if field.name == "id":
            problems.extend(_id_problems(field))
            continue
        extensions.append(field)
        if field.name.lower() == "id":
            problems.append(
                FieldProblem(
                    f"field names are case-sensitive: write 'id=', not {field.name + '='!r}",
                    field.offset,
                )
            )
        elif (problem := check_extension(field)) is not None:
            problems.append(problem)
    if split.version_ok and not ids:
        problems.append(FieldProblem("id= is required", len(text)))
    if len(ids) > 1:
        problems.append(FieldProblem(f"id= is given {len(ids)} times", ids[1].offset))
    return StsRecord(
        text=text,
        id=ids[0].value if ids else None,
        extensions=tuple(extensions),
        problems=tuple(sorted(problems, key=lambda p: p.offset)),
    )


def _id_problems(field: Field) -> list[FieldProblem]:
    value = field.value
    if _ID.fullmatch(value):
        return []
    if not value:
        return [FieldProblem("id= is empty", field.offset)]
    found = []
    bad = sorted({ch for ch in value if not (ch.isascii() and ch.isalnum())})
    if bad:
        found.append(
            FieldProblem(
                f"id {value!r} may contain only letters and digits (found {''.join(bad)!r})",
                field.offset,
            )
        )
    if len(value) > MAX_ID_LENGTH:
        found.append(
            FieldProblem(
                f"id is {len(value)} characters long; at most {MAX_ID_LENGTH} are allowed",
                field.offset,
            )
        )
    return found


def repaired_id(value: str | None) -> str | None:
    """The id with everything but ASCII letters and digits removed, cut to 32; None if empty."""
    if value is None:
        return None
    cleaned = "".join(ch for ch in value if ch.isascii() and ch.isalnum())[:MAX_ID_LENGTH]
    return cleaned or None
