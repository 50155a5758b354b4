"""Where each record of the loaded zone files is written: file and line, for findings.

dnspython keeps no line numbers, so master files (RFC 1035 §5.1) are read again here
with a small reader of our own: ``$ORIGIN`` and ``$TTL``, a blank owner meaning the
previous owner, ``@``, relative names, parentheses spanning lines, ``;`` comments and
quoted strings. YAML zone data (:mod:`dmarc_audit.dns.yamlzone`) is mapped too, from
the YAML node marks. A line the reader cannot make sense of is skipped: the index
only ever points at places, it never decides what a zone holds.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from dmarc_audit.domains import normalize_name
from dmarc_audit.errors import InputError

if TYPE_CHECKING:
    from dmarc_audit.findings import Finding

_TTL = re.compile(r"^(\d+|(\d+[wdhms])+)$", re.IGNORECASE)
_CLASSES = frozenset({"IN", "CH", "CS", "HS", "NONE", "ANY"})
_TYPE = re.compile(r"^[A-Z][A-Z0-9-]*$")
_ABSENCE = frozenset(
    {
        "spf.missing",
        "dmarc.missing",
        "dkim.no-key-found",
        "dkim.selector-missing",
        "mx.missing",
        "mtasts.missing",
        "tlsrpt.missing",
    }
)
"""Findings about a record that is not there: they point at the zone, not a record."""
_TXT_AREAS = frozenset({"spf", "dmarc", "dkim", "align", "mtasts", "tlsrpt", "bimi"})


@dataclass(frozen=True, slots=True)
class Location:
    """A place in a zone file: 1-based ``line``; ``end_line`` when the record spans lines."""

    path: str
    line: int
    end_line: int | None = None


@dataclass(frozen=True, slots=True)
class _Entry:
    name: str
    rdtype: str
    text: str
    """TXT: the strings joined without separator; other types: the rdata as written."""
    location: Location


@dataclass(frozen=True, slots=True)
class _Zone:
    origin: str
    anchor: Location
    """The SOA line (else the first record): where a missing record belongs."""


class ZoneLineIndex:
    """For each (owner name, type) of the loaded zone files: the lines defining it."""

    def __init__(self) -> None:
        self._entries: dict[tuple[str, str], list[_Entry]] = {}
        self._by_name: dict[str, list[_Entry]] = {}
        self._by_text: dict[str, list[_Entry]] = {}
        self._zones: list[_Zone] = []

    @classmethod
    def from_zone_args(cls, specs: Sequence[str]) -> ZoneLineIndex:
        """The index of the ``--zone`` arguments: ``FILE``, ``FILE@ORIGIN`` or a directory."""
        from dmarc_audit.dns.setup import ZONE_SUFFIXES
        from dmarc_audit.dns.zonefile import parse_zone_argument

        index = cls()
        for spec in specs:
            path, origin = parse_zone_argument(spec)
            if path.is_dir():
                for file in sorted(p for p in path.iterdir() if p.suffix.lower() in ZONE_SUFFIXES):
                    index.add_file(file)
            else:
                index.add_file(path, origin)
        return index

    def add_file(self, path: Path, origin: str | None = None) -> None:
        """Index a master file, or YAML zone data for ``.yaml``/``.yml``."""
        try:
            text = path.read_text(encoding="utf-8", errors="surrogateescape")
        except OSError as exc:
            raise InputError(f"cannot read zone file {path}: {exc.strerror}") from None
        if path.suffix.lower() in (".yaml", ".yml"):
            self.add_yaml_text(text, str(path))
        else:
            self.add_master_text(text, str(path), origin)

    def add_master_text(self, text: str, path: str, origin: str | None = None) -> None:
        """Index the text of one RFC 1035 master file shown as ``path``."""
        records = list(_logical_records(text))
        current = normalize_name(origin) if origin else _soa_owner(records)
        zone_origin, owner = current, None
        soa: Location | None = None
        first: Location | None = None
        for record in records:
            tokens, quoted = record.tokens, record.quoted
            if not record.blank_owner and tokens[0].startswith("$"):
                if tokens[0].upper() == "$ORIGIN" and len(tokens) > 1:
                    current = _absolute(tokens[1], current)
                    zone_origin = zone_origin or current
                continue
            if not record.blank_owner:
                owner = _absolute(tokens[0], current)
                tokens, quoted = tokens[1:], quoted[1:]
            parsed = _type_and_rdata(tokens, quoted)
            if owner is None or parsed is None:
                continue
            rdtype, rdata = parsed
            location = Location(
                path, record.line, record.end_line if record.end_line != record.line else None
            )
            first = first or location
            if rdtype == "SOA" and soa is None:
                soa = location
            self._add(_Entry(owner, rdtype, _rdata_text(rdtype, rdata), location))
        if zone_origin is not None:
            self._zones.append(_Zone(zone_origin, soa or first or Location(path, 1)))

    def add_yaml_text(self, text: str, path: str) -> None:
        """Index YAML zone data (``name: [{TYPE: value}, ...]``, optionally under ``zonedata``)."""
        import yaml

        from dmarc_audit.yamlfile import compose_all

        try:
            documents, _loader = compose_all(text, path)
        except InputError:  # the zone loader reports it; this index only maps lines
            return
        for document in documents:
            for key, value in _yaml_pairs(document):
                if key == "zonedata" and isinstance(value, yaml.MappingNode):
                    for owner, entries in _yaml_pairs(value):
                        self._add_yaml_owner(owner, entries, path)
                else:
                    self._add_yaml_owner(key, value, path)

    def _add_yaml_owner(self, owner: str, entries: object, path: str) -> None:
        import yaml

        if not isinstance(entries, yaml.SequenceNode):
            return
        name = normalize_name(owner)
        for item in entries.value:
            pairs = _yaml_pairs(item)
            if len(pairs) != 1:
                continue
            rdtype, value = pairs[0][0].upper(), pairs[0][1]
            strings = (
                [v.value for v in value.value]
                if isinstance(value, yaml.SequenceNode)
                else [value.value]
                if isinstance(value, yaml.ScalarNode)
                else []
            )
            start, end = item.start_mark.line + 1, _last_line(value)
            text = _yaml_text(strings) if rdtype in ("TXT", "SPF") else " ".join(strings)
            self._add(
                _Entry(name, rdtype, text, Location(path, start, end if end != start else None))
            )

    def _add(self, entry: _Entry) -> None:
        self._entries.setdefault((entry.name, entry.rdtype), []).append(entry)
        self._by_name.setdefault(entry.name, []).append(entry)
        if entry.rdtype in ("TXT", "SPF"):
            self._by_text.setdefault(_normal(entry.text), []).append(entry)

    # -- lookups ---------------------------------------------------------------------

    def locate(self, name: str, rdtype: str | None = None) -> Location | None:
        """The first line defining ``rdtype`` records at ``name`` (any type when None)."""
        entries = self._lookup(normalize_name(name), rdtype)
        return entries[0].location if entries else None

    def locate_all(self, name: str, rdtype: str | None = None) -> list[Location]:
        """Every line defining ``rdtype`` records at ``name``, in file order."""
        return [e.location for e in self._lookup(normalize_name(name), rdtype)]

    def zone_for(self, name: str) -> Location | None:
        """The SOA line of the closest loaded zone that holds ``name``."""
        name = normalize_name(name)
        best: _Zone | None = None
        for zone in self._zones:
            if (name == zone.origin or name.endswith("." + zone.origin)) and (
                best is None or len(zone.origin) > len(best.origin)
            ):
                best = zone
        return best.anchor if best is not None else None

    def locate_finding(self, finding: Finding) -> Location | None:
        """The line of the record a finding is about.

        In order: the record whose text is ``finding.record`` (at the subject, else the
        one name in the index holding that text: an include's record, the record that
        led to a failed lookup); the records of the finding's type at the subject; for a
        missing record, or when nothing else fits, the SOA line of the zone it belongs in.
        """
        name = normalize_name(finding.subject)
        if finding.record:
            found = self._with_text(name, finding.record)
            if found is not None:
                return found
        if finding.id not in _ABSENCE:
            entries = self._typed_entries(finding.id, name)
            if entries:
                return entries[0].location
        return self.zone_for(name)

    def _lookup(self, name: str, rdtype: str | None) -> list[_Entry]:
        if rdtype is None:
            return list(self._by_name.get(name, ()))
        return list(self._entries.get((name, rdtype.upper()), ()))

    def _with_text(self, name: str, record: str) -> Location | None:
        """The TXT record with this text at ``name``, else at the only name that has it."""
        entries = self._by_text.get(_normal(record), [])
        here = [e for e in entries if e.name == name]
        if here:
            return here[0].location
        if entries and len({e.name for e in entries}) == 1:
            return entries[0].location
        return None

    def _typed_entries(self, check_id: str, name: str) -> list[_Entry]:
        area = check_id.split(".", 1)[0]
        if check_id == "dns.dangling-cname":
            return self._lookup(name, "CNAME")
        if area == "mx":
            return self._lookup(name, "MX")
        if area == "spf":
            types = ("SPF", "TXT") if check_id == "spf.type99" else ("TXT", "SPF")
            return [e for t in types for e in self._lookup(name, t) if _is_spf(e.text)]
        if area in _TXT_AREAS:
            if not _is_underscore_name(name):
                return []
            return self._lookup(name, "TXT") or self._lookup(name, "CNAME")
        return self._lookup(name, None)


# -- the master-file reader ------------------------------------------------------------


@dataclass(slots=True)
class _Logical:
    """One record or directive: its tokens, once parentheses are joined."""

    tokens: list[str]
    quoted: list[bool]
    line: int
    end_line: int
    blank_owner: bool


def _logical_records(text: str) -> Iterator[_Logical]:
    """Split master-file text into logical records with their first and last line."""
    scan = _Scanner(text)
    n = len(text)
    at_line_start = True
    while scan.i < n:
        ch = text[scan.i]
        if at_line_start and scan.depth == 0 and not scan.tokens:
            scan.blank = ch in " \t"
        at_line_start = ch == "\n"
        if ch == "\n":
            scan.line += 1
            if scan.depth == 0 and scan.tokens:
                yield scan.take()
            scan.i += 1
        elif ch in " \t\r":
            scan.i += 1
        elif ch == ";":
            scan.skip_comment()
        elif ch in "()":
            scan.paren(ch)
        elif ch == '"':
            scan.quoted_string()
        else:
            scan.word()
    if scan.tokens:
        yield scan.take()


class _Scanner:
    """The state of :func:`_logical_records`: where it is and the record being read."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.i = 0
        self.line = 1
        self.depth = 0
        self.blank = False
        self.start = self.end = 1
        self.tokens: list[str] = []
        self.quoted: list[bool] = []

    def take(self) -> _Logical:
        record = _Logical(self.tokens, self.quoted, self.start, self.end, self.blank)
        self.tokens, self.quoted = [], []
        return record

    def skip_comment(self) -> None:
        end = self.text.find("\n", self.i)
        self.i = len(self.text) if end < 0 else end

    def paren(self, ch: str) -> None:
        if ch == "(":
            self.depth += 1
        else:
            self.depth = max(0, self.depth - 1)
            self.end = self.line if self.tokens else self.end
        self.i += 1

    def quoted_string(self) -> None:
        text, n = self.text, len(self.text)
        j = self.i + 1
        while j < n and text[j] != '"':
            j += 2 if text[j] == "\\" else 1
        body = text[self.i + 1 : min(j, n)]
        self._add(body, quoted=True)
        self.line += body.count("\n")
        self.end = self.line
        self.i = j + 1

    def word(self) -> None:
        text, n = self.text, len(self.text)
        j = self.i
        while j < n and text[j] not in ' \t\r\n;()"':
            j += 2 if text[j] == "\\" and j + 1 < n and text[j + 1] != "\n" else 1
        self._add(text[self.i : j], quoted=False)
        self.end = self.line
        self.i = j

    def _add(self, token: str, *, quoted: bool) -> None:
        if not self.tokens:
            self.start = self.line
        self.tokens.append(token)
        self.quoted.append(quoted)


def _type_and_rdata(tokens: list[str], quoted: list[bool]) -> tuple[str, list[str]] | None:
    """Skip an optional TTL and class (either order), then the type and its rdata."""
    i = 0
    while (
        i < len(tokens)
        and i < 2
        and not quoted[i]
        and (
            _TTL.match(tokens[i])
            or tokens[i].upper() in _CLASSES
            or re.match(r"^CLASS\d+$", tokens[i], re.IGNORECASE)
        )
    ):
        i += 1
    if i >= len(tokens) or quoted[i] or not _TYPE.match(tokens[i].upper()):
        return None
    return tokens[i].upper(), tokens[i + 1 :]


def _absolute(name: str, origin: str | None) -> str | None:
    """An owner as written (``@``, relative or absolute) made absolute, lower case."""
    if name == "@":
        return origin
    if name.endswith(".") and not name.endswith("\\."):
        return normalize_name(name)
    if origin is None:
        return None
    return normalize_name(f"{name}.{origin}" if origin else name)


def _soa_owner(records: list[_Logical]) -> str | None:
    """The absolute owner of the SOA record, for files without ``$ORIGIN``."""
    for record in records:
        if record.blank_owner or record.tokens[0].startswith("$"):
            continue
        parsed = _type_and_rdata(record.tokens[1:], record.quoted[1:])
        if parsed and parsed[0] == "SOA" and record.tokens[0].endswith("."):
            return normalize_name(record.tokens[0])
    return None


def _rdata_text(rdtype: str, rdata: list[str]) -> str:
    if rdtype in ("TXT", "SPF"):
        return b"".join(_unescape(token) for token in rdata).decode("latin-1")
    return " ".join(rdata)


def _unescape(token: str) -> bytes:
    """The octets of a character-string: ``\\X`` is X, ``\\DDD`` a decimal octet."""
    raw = token.encode("utf-8", "surrogateescape")
    out = bytearray()
    i = 0
    while i < len(raw):
        if raw[i] == 0x5C and i + 1 < len(raw):
            digits = raw[i + 1 : i + 4]
            if len(digits) == 3 and digits.isdigit():
                out.append(int(digits) & 0xFF)
                i += 4
                continue
            out.append(raw[i + 1])
            i += 2
            continue
        out.append(raw[i])
        i += 1
    return bytes(out)


# -- helpers ---------------------------------------------------------------------------


def _yaml_pairs(node: object) -> list[tuple[str, object]]:
    """The (scalar key, value node) pairs of a YAML mapping node; [] for anything else."""
    import yaml

    if not isinstance(node, yaml.MappingNode):
        return []
    return [(str(k.value), v) for k, v in node.value if isinstance(k, yaml.ScalarNode)]


def _last_line(node: object) -> int:
    """The 1-based line where a YAML node's last scalar ends."""
    import yaml

    while isinstance(node, (yaml.SequenceNode, yaml.MappingNode)) and node.value:
        last = node.value[-1]
        node = last[1] if isinstance(last, tuple) else last
    mark = node.end_mark  # type: ignore[attr-defined]
    return mark.line + (0 if mark.column == 0 and mark.line > 0 else 1)


def _yaml_text(strings: list[str]) -> str:
    """As :mod:`yamlzone` reads it: code points below 256 are octets, others UTF-8."""
    octets = b"".join(
        ch.encode("latin-1") if ord(ch) < 256 else ch.encode("utf-8")
        for s in strings
        for ch in str(s)
    )
    return octets.decode("latin-1")


def _normal(text: str) -> str:
    return " ".join(text.split()).lower()


def _is_spf(text: str) -> bool:
    lowered = text.lower()
    return lowered == "v=spf1" or lowered.startswith("v=spf1 ")


def _is_underscore_name(name: str) -> bool:
    """``_dmarc.x``, ``s1._domainkey.x``, ``_mta-sts.x``: a name that holds one kind of record."""
    return any(label.startswith("_") for label in name.split("."))


__all__ = ["Location", "ZoneLineIndex"]
