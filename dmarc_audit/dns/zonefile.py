"""RFC 1035 master files, loaded with dnspython, served authoritatively.

The origin is the one given (``FILE@origin``), else the file's ``$ORIGIN``, else the
owner of its SOA record. A zone is authoritative for its origin and every name below
it: a name under the origin that the file does not hold is NXDOMAIN (or NODATA when it
has descendants, an empty non-terminal). Wildcards are expanded as RFC 4592 describes.

TXT character-strings longer than 255 octets cannot travel in DNS, and dnspython
refuses them; we load such strings anyway (split for dnspython, then rejoined) so
that ``spf.string-too-long`` can report what the zone file really says.
"""

from __future__ import annotations

import re
from pathlib import Path

import dns.exception
import dns.name
import dns.rdatatype
import dns.zone

from dmarc_audit.dns.convert import rdata_to_record
from dmarc_audit.dns.local import LocalAnswer
from dmarc_audit.dns.types import NameRecord, Outcome, Record, TxtRecord
from dmarc_audit.errors import InputError

_QUOTED = re.compile(r'"((?:[^"\\\n]|\\.)*)"')
_LOCATED = re.compile(r"^.*:(\d+): (.*)$")
_GENERATE = re.compile(
    r"^[ \t]*\$GENERATE[ \t]+(\d+)-(\d+)(?:/(\d+))?", re.IGNORECASE | re.MULTILINE
)
MAX_ZONE_RECORDS = 100_000
"""Records one master file may hold or expand to (``$GENERATE``) unless
``DMARC_AUDIT_ZONE_MAX_RECORDS`` says otherwise: in CI a zone file comes from a pull
request, and ``$GENERATE 1-10000000`` must not take the runner down."""
ENV_MAX_RECORDS = "DMARC_AUDIT_ZONE_MAX_RECORDS"
_SOA_LINE = re.compile(
    r"^([^\s;$\"()][^\s;\"()]*\.)[ \t]+(?:\S+[ \t]+){0,2}SOA[ \t(]", re.IGNORECASE | re.MULTILINE
)


class ZoneFileSource:
    """One master file, authoritative for its origin."""

    def __init__(self, path: Path, origin: str | None = None) -> None:
        self.path = path
        self.label = f"zone {path}"
        try:
            text = path.read_text(encoding="utf-8", errors="surrogateescape")
        except OSError as exc:
            raise InputError(f"cannot read zone file {path}: {exc.strerror}") from None
        limit = max_zone_records()
        _check_generate(text, path, limit)
        text, self._oversized = _split_oversized_strings(text)
        if origin and not origin.endswith("."):
            origin += "."
        used_origin: str | dns.name.Name | None = origin
        try:
            try:
                zone = _read(text, origin, path)
            except dns.zone.UnknownOrigin:
                used_origin = None if origin else _soa_owner(text)
                if used_origin is None:
                    raise
                zone = _read(text, used_origin, path)
        except dns.zone.UnknownOrigin:
            raise InputError(
                f"{path}: no $ORIGIN or SOA; give the origin as --zone {path}@example.com"
            ) from None
        except dns.exception.SyntaxError as exc:
            raise InputError(_where(exc, text, used_origin, path)) from None
        except (dns.exception.DNSException, ValueError) as exc:
            raise InputError(f"{path}: {exc}") from None
        if zone.origin is None or not zone.nodes:  # an empty file (dnspython takes it)
            raise InputError(f"{path}: the zone file holds no records")
        total = sum(len(rdataset) for node in zone.nodes.values() for rdataset in node)
        if total > limit:
            raise InputError(
                f"{path}: {total:,} records, more than the limit of {limit:,} "
                f"(set {ENV_MAX_RECORDS} to raise it)"
            )
        self.origin = zone.origin.to_text(omit_final_dot=True).lower()
        self.origin_depth = self.origin.count(".") + 1
        self._names: dict[str, dict[str, list[Record]]] = {}
        for owner, node in zone.nodes.items():
            owner_text = owner.to_text(omit_final_dot=True).lower()
            per_type = self._names.setdefault(owner_text, {})
            for rdataset in node.rdatasets:
                type_name = dns.rdatatype.to_text(rdataset.rdtype)
                per_type[type_name] = [self._convert(rd) for rd in rdataset]

    def _convert(self, rdata: object) -> Record:
        record = rdata_to_record(rdata)  # type: ignore[arg-type]
        if isinstance(record, TxtRecord) and self._oversized:
            return TxtRecord(_rejoin(record.strings, self._oversized))
        return record

    def covers(self, name: str) -> bool:
        return name == self.origin or name.endswith("." + self.origin)

    def lookup(self, name: str, rdtype: str) -> LocalAnswer:
        rdtype = rdtype.upper()
        per_type = self._names.get(name)
        if per_type is None:
            if self._has_descendants(name):
                return LocalAnswer(Outcome.NODATA)
            per_type = self._wildcard_for(name)
            if per_type is None:
                return LocalAnswer(Outcome.NXDOMAIN)
        records = per_type.get(rdtype)
        if records:
            return LocalAnswer(Outcome.RECORDS, tuple(records))
        alias = per_type.get("CNAME")
        if alias and rdtype != "CNAME":
            target = alias[0]
            assert isinstance(target, NameRecord)
            return LocalAnswer(Outcome.RECORDS, cname=target.target)
        return LocalAnswer(Outcome.NODATA)

    def _has_descendants(self, name: str) -> bool:
        suffix = "." + name
        return any(owner.endswith(suffix) for owner in self._names)

    def _wildcard_for(self, name: str) -> dict[str, list[Record]] | None:
        """RFC 4592: the wildcard at the closest encloser, if any."""
        labels = name.split(".")
        for i in range(1, len(labels)):
            encloser = ".".join(labels[i:])
            if not self.covers(encloser):
                return None
            if encloser in self._names or self._has_descendants(encloser):
                return self._names.get("*." + encloser)
        return None


def max_zone_records() -> int:
    """The record limit per zone file: :data:`MAX_ZONE_RECORDS` or the environment's."""
    import os

    text = os.environ.get(ENV_MAX_RECORDS, "").strip()
    if not text:
        return MAX_ZONE_RECORDS
    if not (text.isascii() and text.isdigit()) or int(text) < 1:
        raise InputError(f"{ENV_MAX_RECORDS}={text!r}: expected a whole number of 1 or more")
    return int(text)


def _check_generate(text: str, path: Path, limit: int) -> None:
    """Refuse ``$GENERATE`` ranges that expand past ``limit`` records, before expanding."""
    if "$" not in text:
        return
    total = 0
    for match in _GENERATE.finditer(text):
        start, stop = int(match.group(1)), int(match.group(2))
        step = int(match.group(3) or 1)
        if step < 1 or stop < start:
            continue  # dnspython reports the bad range itself
        total += (stop - start) // step + 1
        if total > limit:
            line = text.count("\n", 0, match.start()) + 1
            raise InputError(
                f"{path}:{line}: $GENERATE expands to more than {limit:,} records "
                f"(the limit per zone file; set {ENV_MAX_RECORDS} to raise it)"
            )


def _read(text: str, origin: str | dns.name.Name | None, path: Path) -> dns.zone.Zone:
    return dns.zone.from_text(
        text, origin=origin, relativize=False, filename=str(path), check_origin=False
    )


def _where(
    exc: dns.exception.SyntaxError, text: str, origin: str | dns.name.Name | None, path: Path
) -> str:
    """``FILE:LINE: what``, with the line of the record at fault.

    dnspython reports the line after the record when the error shows only once the
    record's newline has been read (a bad address, a newline in a quoted string);
    reading the lines before the reported one again tells whether that happened.
    """
    message = str(exc).replace("\n", " ")
    match = _LOCATED.match(message)
    if match is None:
        return f"{path}: {message}"
    line, detail = int(match.group(1)), match.group(2)
    if detail == "newline in quoted string":
        line -= 1
    elif line > 1:
        try:
            _read("\n".join(text.split("\n")[: line - 1]), origin, path)
        except dns.exception.SyntaxError as earlier:
            found = _LOCATED.match(str(earlier).replace("\n", " "))
            if found is not None and found.group(2) == detail:
                line = min(line, int(found.group(1)))
        except (dns.exception.DNSException, ValueError):
            pass
    return f"{path}:{line}: {detail}"


def _soa_owner(text: str) -> dns.name.Name | None:
    """The absolute owner of the file's SOA record, for files without $ORIGIN."""
    owners = {match.group(1).lower() for match in _SOA_LINE.finditer(text)}
    if len(owners) != 1:
        return None
    try:
        return dns.name.from_text(owners.pop())
    except dns.exception.DNSException:
        return None


def _split_oversized_strings(text: str) -> tuple[str, set[bytes]]:
    """Split quoted strings over 255 octets so dnspython accepts them; remember them."""
    oversized: set[bytes] = set()

    def replace(match: re.Match[str]) -> str:
        body = match.group(1)
        octets = _unescape(body)
        if len(octets) <= 255:
            return match.group(0)
        oversized.add(octets)
        pieces = [octets[i : i + 255] for i in range(0, len(octets), 255)]
        return " ".join('"' + _escape(piece) + '"' for piece in pieces)

    if '"' not in text:
        return text, oversized
    return _QUOTED.sub(replace, text), oversized


def _unescape(body: str) -> bytes:
    out = bytearray()
    i = 0
    raw = body.encode("utf-8", "surrogateescape")
    while i < len(raw):
        ch = raw[i]
        if ch == 0x5C and i + 1 < len(raw):
            if raw[i + 1 : i + 4].isdigit() and len(raw[i + 1 : i + 4]) == 3:
                out.append(int(raw[i + 1 : i + 4]) & 0xFF)
                i += 4
                continue
            out.append(raw[i + 1])
            i += 2
            continue
        out.append(ch)
        i += 1
    return bytes(out)


def _escape(octets: bytes) -> str:
    parts = []
    for b in octets:
        if b in (0x22, 0x5C):
            parts.append("\\" + chr(b))
        elif 0x20 <= b < 0x7F:
            parts.append(chr(b))
        else:
            parts.append(f"\\{b:03d}")
    return "".join(parts)


def _rejoin(strings: tuple[bytes, ...], oversized: set[bytes]) -> tuple[bytes, ...]:
    """Undo :func:`_split_oversized_strings` for the strings of one TXT RR."""
    out: list[bytes] = []
    i = 0
    while i < len(strings):
        joined = strings[i]
        for j in range(i + 1, len(strings) + 1):
            candidate = b"".join(strings[i:j])
            if candidate in oversized:
                joined, i = candidate, j
                break
        else:
            i += 1
        out.append(joined)
    return tuple(out)


def parse_zone_argument(text: str) -> tuple[Path, str | None]:
    """Split ``FILE`` or ``FILE@origin``."""
    if "@" in text:
        path_text, _, origin = text.rpartition("@")
        if path_text and origin and "/" not in origin:
            return Path(path_text), origin.lower().rstrip(".")
    return Path(text), None


__all__ = ["ZoneFileSource", "parse_zone_argument"]
