"""TLS-RPT TXT record parser (RFC 8460 §3).

``v=TLSRPTv1; rua=<uri>[,<uri>...][; ext=value ...]``: ``rua`` is required and
each URI is ``mailto:`` or ``https:``. Problems carry offsets; nothing raises.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from dmarc_audit.records.mtasts import (
    Field,
    FieldProblem,
    check_extension,
    split_fields,
    starts_with_version,
)

VERSION = "v=TLSRPTv1"
SCHEMES = ("mailto", "https")

_ADDRESS = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


@dataclass(frozen=True, slots=True)
class TlsRptRecord:
    """A parsed ``_smtp._tls`` TXT record. ``problems`` empty means it is valid."""

    text: str
    rua: tuple[str, ...]
    """The report URIs as written, including ones with problems."""
    extensions: tuple[Field, ...]
    problems: tuple[FieldProblem, ...]

    @property
    def valid(self) -> bool:
        return not self.problems


def is_tlsrpt_record(text: str) -> bool:
    """True for a TXT record that is meant to be a TLS-RPT record."""
    return starts_with_version(text, VERSION)


def parse_tlsrpt(text: str) -> TlsRptRecord:
    """Parse a TLS-RPT record (RFC 8460 §3)."""
    split = split_fields(text, VERSION)
    problems = list(split.problems)
    ruas = [f for f in split.fields if f.name == "rua"]
    extensions = []
    for field in split.fields:
        if field.name == "rua":
            continue
        extensions.append(field)
        if field.name.lower() == "rua":
            problems.append(
                FieldProblem(
                    f"field names are case-sensitive: write 'rua=', not {field.name + '='!r}",
                    field.offset,
                )
            )
        elif (problem := check_extension(field)) is not None:
            problems.append(problem)
    if split.version_ok and not ruas:
        problems.append(FieldProblem("rua= is required", len(text)))
    if len(ruas) > 1:
        problems.append(
            FieldProblem(
                f"rua= is given {len(ruas)} times; list the URIs in one rua= separated by commas",
                ruas[1].offset,
            )
        )
    uris: list[str] = []
    for field in ruas:
        for uri, problem in _split_uris(field):
            uris.append(uri)
            if problem is not None:
                problems.append(problem)
    return TlsRptRecord(
        text, tuple(uris), tuple(extensions), tuple(sorted(problems, key=lambda p: p.offset))
    )


def _split_uris(field: Field) -> list[tuple[str, FieldProblem | None]]:
    base = field.offset + len("rua=")
    result = []
    position = 0
    for part in field.value.split(","):
        uri = part.strip(" \t")
        at = base + position + len(part) - len(part.lstrip(" \t"))
        position += len(part) + 1
        result.append((uri, uri_problem(uri, at)))
    return result


def uri_problem(uri: str, offset: int = 0) -> FieldProblem | None:
    """Why ``uri`` is not a usable TLS-RPT report destination, or None."""
    if not uri:
        return FieldProblem("empty URI in rua= (stray comma?)", offset)
    if any(ch.isspace() for ch in uri):
        return FieldProblem(f"URI {uri!r} contains whitespace", offset)
    if "!" in uri:
        return FieldProblem(f"'!' in URI {uri!r} must be percent-encoded (%21)", offset)
    scheme, sep, rest = uri.partition(":")
    if not sep:
        if _ADDRESS.fullmatch(uri):
            return FieldProblem(f"{uri!r} is not a URI: write 'mailto:{uri}'", offset)
        return FieldProblem(f"{uri!r} is not a URI (mailto: or https:)", offset)
    scheme = scheme.lower()
    if scheme not in SCHEMES:
        return FieldProblem(
            f"URI scheme {scheme + ':'!r} is not supported; use mailto: or https:", offset
        )
    if scheme == "mailto":
        address = rest.split("?", 1)[0]
        if not _ADDRESS.fullmatch(address):
            return FieldProblem(f"{uri!r} does not hold a mail address", offset)
        return None
    try:
        host = urlsplit(uri).hostname
    except ValueError:
        host = None
    if not host or not rest.startswith("//"):
        return FieldProblem(f"{uri!r} has no host name", offset)
    return None


def repaired_uri(uri: str) -> str | None:
    """A usable form of ``uri``: as is when valid, ``mailto:`` added to a bare address."""
    if uri_problem(uri) is None:
        return uri
    if ":" not in uri and _ADDRESS.fullmatch(uri):
        return f"mailto:{uri}"
    return None
