"""YAML zone data in the shape of the OpenSPF suite's ``zonedata``.

A YAML source is a closed world: names it does not list do not exist. A name
marked ``TIMEOUT`` times out for every type it has no records of.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dmarc_audit.dns.local import LocalAnswer
from dmarc_audit.dns.types import AddressRecord, MxRecord, NameRecord, Outcome, Record, TxtRecord
from dmarc_audit.domains import normalize_name
from dmarc_audit.errors import InputError

_TYPES = {"A", "AAAA", "MX", "PTR", "CNAME", "TXT", "SPF", "NS"}


@dataclass(slots=True)
class _Node:
    records: dict[str, list[Record]] = field(default_factory=dict)
    explicit_none: set[str] = field(default_factory=set)
    timeout: bool = False


class YamlZoneSource:
    """Zone data from a mapping ``name -> [ {TYPE: value} | "TIMEOUT", ... ]``."""

    origin_depth = 0

    def __init__(self, zonedata: dict[str, Any], label: str = "yaml") -> None:
        self.label = label
        self.nodes: dict[str, _Node] = {}
        for owner, entries in (zonedata or {}).items():
            self._add(str(owner), entries)
        self._mirror_spf_to_txt()

    @classmethod
    def from_file(cls, path: Path) -> YamlZoneSource:
        """Load a YAML zone file: either a bare zonedata mapping or ``{zonedata: ...}``."""
        import yaml

        try:
            documents = list(yaml.safe_load_all(path.read_text(encoding="utf-8")))
        except OSError as exc:
            raise InputError(f"cannot read zone file {path}: {exc.strerror}") from None
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f"{path}:{mark.line + 1}" if mark else str(path)
            raise InputError(f"{where}: invalid YAML: {getattr(exc, 'problem', exc)}") from None
        merged: dict[str, Any] = {}
        for doc in documents:
            if doc is None:
                continue
            if not isinstance(doc, dict):
                raise InputError(f"{path}: a YAML zone must be a mapping of names to records")
            data = doc.get("zonedata", doc) if "zonedata" in doc else doc
            if not isinstance(data, dict):
                raise InputError(f"{path}: 'zonedata' must be a mapping of names to records")
            merged.update(data)
        try:
            return cls(merged, label=f"yaml {path}")
        except InputError as exc:
            raise InputError(f"{path}: {exc}") from None

    def _add(self, owner: str, entries: Any) -> None:
        name = normalize_name(owner)
        node = self.nodes.setdefault(name, _Node())
        if not isinstance(entries, list):
            raise InputError(f"records of {owner!r} must be a list")
        for entry in entries:
            if entry == "TIMEOUT":
                node.timeout = True
                continue
            if not isinstance(entry, dict) or len(entry) != 1:
                raise InputError(
                    f"record of {owner!r} must be TIMEOUT or one 'TYPE: value' pair, got {entry!r}"
                )
            ((rtype, value),) = entry.items()
            rtype = str(rtype).upper()
            if rtype not in _TYPES:
                raise InputError(f"record type {rtype!r} of {owner!r} is not supported")
            if value == "NONE":
                node.explicit_none.add(rtype)
                node.records.setdefault(rtype, [])
                continue
            node.records.setdefault(rtype, []).append(_record(owner, rtype, value))

    def _mirror_spf_to_txt(self) -> None:
        for node in self.nodes.values():
            if "SPF" in node.records and "TXT" not in node.records:
                node.records["TXT"] = list(node.records["SPF"])

    def covers(self, name: str) -> bool:
        return True

    def lookup(self, name: str, rdtype: str) -> LocalAnswer:
        node = self.nodes.get(name)
        if node is None:
            return LocalAnswer(Outcome.NXDOMAIN)
        rdtype = rdtype.upper()
        records = node.records.get(rdtype)
        if records:
            return LocalAnswer(Outcome.RECORDS, tuple(records))
        cname = node.records.get("CNAME")
        if cname and rdtype != "CNAME":
            return LocalAnswer(Outcome.RECORDS, cname=cname[0].target)  # type: ignore[union-attr]
        if node.timeout:
            return LocalAnswer(Outcome.TIMEOUT, detail="TIMEOUT in zone data")
        return LocalAnswer(Outcome.NODATA)


def _to_bytes(text: Any) -> bytes:
    """Code points below 256 stand for one octet each (``\\xNN`` escapes); others are UTF-8."""
    return b"".join(
        ch.encode("latin-1") if ord(ch) < 256 else ch.encode("utf-8") for ch in str(text)
    )


def _record(owner: str, rtype: str, value: Any) -> Record:
    try:
        if rtype in ("TXT", "SPF"):
            if isinstance(value, list):
                return TxtRecord(tuple(_to_bytes(v) for v in value))
            return TxtRecord((_to_bytes(value),))
        if rtype == "MX":
            preference, exchange = value
            return MxRecord(
                int(preference), normalize_name(str(exchange)) if exchange != "." else ""
            )
        if rtype in ("A", "AAAA"):
            return AddressRecord(str(value))
        return NameRecord(normalize_name(str(value)))
    except (TypeError, ValueError):
        raise InputError(f"bad {rtype} value {value!r} for {owner!r}") from None
