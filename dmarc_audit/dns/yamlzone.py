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
        """Load a YAML zone file: either a bare zonedata mapping or ``{zonedata: ...}``.

        Every error names the file and the line of the record at fault.
        """
        import yaml

        from dmarc_audit.yamlfile import compose_all, construct, read_text

        text = read_text(path, "zone file")
        documents, loader = compose_all(text, path)
        source = cls({}, label=f"yaml {path}")
        for document in documents:
            if _is_null(document):
                continue
            if not isinstance(document, yaml.MappingNode):
                raise InputError(
                    f"{path}:{document.start_mark.line + 1}: a YAML zone must be a mapping "
                    "of names to records"
                )
            pairs = document.value
            wrapped = [v for k, v in pairs if _scalar_text(k) == "zonedata"]
            if wrapped:
                data = wrapped[0]
                if not isinstance(data, yaml.MappingNode):
                    raise InputError(
                        f"{path}:{data.start_mark.line + 1}: 'zonedata' must be a mapping "
                        "of names to records"
                    )
                pairs = data.value
            for key, value in pairs:
                owner = construct(loader, key, path)
                where = f"{path}:{key.start_mark.line + 1}"
                if not isinstance(owner, str):
                    raise InputError(f"{where}: a name must be text, got {owner!r}")
                if not isinstance(value, yaml.SequenceNode):
                    raise InputError(f"{where}: records of {owner!r} must be a list")
                node = source._node(owner)
                for item in value.value:
                    entry = construct(loader, item, path)
                    try:
                        source._add_entry(node, owner, entry)
                    except InputError as exc:
                        raise InputError(f"{path}:{item.start_mark.line + 1}: {exc}") from None
        source._mirror_spf_to_txt()
        return source

    def _node(self, owner: str) -> _Node:
        return self.nodes.setdefault(normalize_name(owner), _Node())

    def _add(self, owner: str, entries: Any) -> None:
        node = self._node(str(owner))
        if not isinstance(entries, list):
            raise InputError(f"records of {owner!r} must be a list")
        for entry in entries:
            self._add_entry(node, owner, entry)

    def _add_entry(self, node: _Node, owner: str, entry: Any) -> None:
        if entry == "TIMEOUT":
            node.timeout = True
            return
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
            return
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


def _is_null(node: Any) -> bool:
    return getattr(node, "tag", "") == "tag:yaml.org,2002:null"


def _scalar_text(node: Any) -> str | None:
    value = getattr(node, "value", None)
    return value if isinstance(value, str) else None


_TEXT_SCALARS = (str, int, float)


def _record(owner: str, rtype: str, value: Any) -> Record:
    """One record, its value checked by the rules of its type."""
    bad = InputError(f"bad {rtype} value {value!r} for {owner!r}")
    if rtype in ("TXT", "SPF"):
        strings = value if isinstance(value, list) else [value]
        if any(isinstance(v, bool) or not isinstance(v, _TEXT_SCALARS) for v in strings):
            raise InputError(f"bad {rtype} value {value!r} for {owner!r}: expected text")
        return TxtRecord(tuple(_to_bytes(v) for v in strings))
    if rtype == "MX":
        if not isinstance(value, list) or len(value) != 2:
            raise InputError(
                f"bad MX value {value!r} for {owner!r}: expected [preference, exchange]"
            )
        preference, exchange = value
        if isinstance(preference, bool) or not isinstance(preference, int):
            raise bad
        if not 0 <= preference <= 65535:
            raise InputError(f"bad MX preference {preference} for {owner!r}: 0-65535")
        return MxRecord(preference, _target(owner, rtype, exchange, root_ok=True))
    if rtype in ("A", "AAAA"):
        import ipaddress

        kind = ipaddress.IPv4Address if rtype == "A" else ipaddress.IPv6Address
        try:
            kind(value if isinstance(value, str) else "")
        except ValueError:
            version = "IPv4" if rtype == "A" else "IPv6"
            raise InputError(
                f"bad {rtype} value {value!r} for {owner!r}: not an {version} address"
            ) from None
        return AddressRecord(value)
    return NameRecord(_target(owner, rtype, value, root_ok=False))


def _target(owner: str, rtype: str, value: Any, *, root_ok: bool) -> str:
    """A domain name in record data (``""`` for the root when allowed)."""
    if isinstance(value, str) and value in ("", ".") and root_ok:
        return ""
    if isinstance(value, str) and value not in ("", "."):
        from dmarc_audit.dns.wire import encode_name

        try:
            encode_name(value)
        except Exception as exc:  # dnspython's name errors, IDNA errors
            raise InputError(
                f"bad {rtype} value {value!r} for {owner!r}: not a domain name ({exc})"
            ) from None
        return normalize_name(value)
    raise InputError(f"bad {rtype} value {value!r} for {owner!r}: not a domain name")
