"""The SMTP facts SPF needs (client IP, HELO, MAIL FROM) and the header each came from.

Command-line values win. Otherwise, in order: ``Received-SPF`` (RFC 7208 §9.1:
``client-ip``, ``helo``, ``envelope-from``), ``Authentication-Results``
(``smtp.remote-ip``, ``policy.iprev``, ``smtp.helo``, ``smtp.mailfrom``) and the
``Received`` field written where the message entered the receiving organisation.
MAIL FROM comes from ``Return-Path`` first (the delivery agent writes it from the
envelope).

The entry point is the topmost ``Received`` whose sending host is outside the
receiving organisation: hops from private addresses, or from hosts in the same
organisational domain as the topmost ``by`` host, are internal. A ``Received-SPF``
or ``Authentication-Results`` field describes the connection recorded by the
``Received`` field just below it, so fields below the entry point (written by a
forwarder about an earlier hop) are not used, unless they name a host of the
receiving organisation as their writer (Gmail puts its results below its
``Received`` field).
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

from dmarc_audit.message.authres import parse_authres
from dmarc_audit.message.parse import HeaderField, Message
from dmarc_audit.sending.facts import INTERNAL_NETWORKS

_IP_LITERAL = re.compile(r"\[(?:IPv6:)?([0-9A-Fa-f:.]+)\]")
_BARE_IP = re.compile(r"(?<![\w.:])(\d{1,3}(?:\.\d{1,3}){3})(?![\w.])")
_HELO_IN_COMMENT = re.compile(r"\bhelo=([^\s)\]]+)", re.IGNORECASE)
_CLAUSES = ("from", "by", "via", "with", "id", "for")
_KEY_VALUE = re.compile(r"([A-Za-z][\w.-]*)[ \t]*=[ \t]*(\"(?:[^\"\\]|\\.)*\"|[^;\s]+)")


@dataclass(frozen=True, slots=True)
class Fact:
    """A value and where it came from (``--ip``, ``Received-SPF client-ip (line 4)``, ...)."""

    value: str
    source: str

    def to_json(self) -> dict[str, str]:
        return {"value": self.value, "source": self.source}


@dataclass(frozen=True, slots=True)
class ReceivedHop:
    """What one ``Received`` field says about the connection it records."""

    position: int
    """0 for the topmost Received field."""
    field: HeaderField
    from_host: str | None
    """The name the client gave (HELO/EHLO), as recorded after ``from``."""
    reverse_name: str | None
    ip: str | None
    by_host: str | None
    helo: str | None = None
    """An explicit ``helo=`` in the from-clause comment (Exim), if any."""

    @property
    def internal(self) -> bool:
        """True when the client address is private, loopback or link-local."""
        return self.ip is not None and is_internal_ip(self.ip)

    def describe(self) -> str:
        who = self.from_host or self.reverse_name or "?"
        where = f" [{self.ip}]" if self.ip else ""
        by = f" by {self.by_host}" if self.by_host else ""
        return f"Received #{self.position + 1} (line {self.field.line}): from {who}{where}{by}"


@dataclass(frozen=True, slots=True)
class Connection:
    """The SMTP facts for SPF, each with its source, and the Received hops read."""

    ip: Fact | None
    helo: Fact | None
    mail_from: Fact | None
    """``value`` is ``""`` for the null reverse-path ``<>``."""
    entry: ReceivedHop | None
    hops: tuple[ReceivedHop, ...]
    notes: tuple[str, ...] = ()

    @property
    def receiver_fields(self) -> int | None:
        """Fields above this index were added by the receiving organisation (None: all)."""
        return self.entry.field.index if self.entry is not None else None


def is_internal_ip(address: str) -> bool:
    """True for addresses that never identify an outside sender (RFC 1918, loopback, ...)."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return any(ip in net for net in INTERNAL_NETWORKS if net.version == ip.version)


def valid_ip(text: str) -> str | None:
    """The address in canonical form, or None."""
    try:
        ip = ipaddress.ip_address(text.strip().strip("[]").removeprefix("IPv6:"))
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return str(ip.ipv4_mapped)
    return str(ip)


def received_hops(message: Message) -> tuple[ReceivedHop, ...]:
    """Every Received field, topmost first, with its from-clause read."""
    return tuple(_hop(position, field) for position, field in enumerate(message.all("received")))


def _hop(position: int, field: HeaderField) -> ReceivedHop:
    text = field.text.rsplit(";", 1)[0] if ";" in field.text else field.text
    clauses = _clauses(text)
    from_clause = clauses.get("from", "")
    words = from_clause.split()
    from_host = words[0].strip("()") if words and not words[0].startswith("(") else None
    ip = None
    for match in _IP_LITERAL.finditer(from_clause):
        ip = valid_ip(match.group(1))
        if ip:
            break
    if ip is None:
        for match in _BARE_IP.finditer(from_clause):
            ip = valid_ip(match.group(1))
            if ip:
                break
    reverse = None
    comment = re.search(r"\(([^)]*)\)", from_clause)
    if comment:
        first = comment.group(1).split()
        if first and not first[0].startswith("[") and "=" not in first[0]:
            reverse = first[0].rstrip(".")
    helo = _HELO_IN_COMMENT.search(from_clause)
    by_words = clauses.get("by", "").split()
    if from_host and from_host.startswith("["):
        from_host = None
    return ReceivedHop(
        position,
        field,
        from_host,
        reverse,
        ip,
        by_words[0] if by_words else None,
        helo.group(1) if helo else None,
    )


def _clauses(text: str) -> dict[str, str]:
    """Split a Received value into its ``from``/``by``/``with``/... clauses (outside comments)."""
    clauses: dict[str, str] = {}
    current: str | None = None
    depth = 0
    start = 0
    index = 0
    while index < len(text):
        ch = text[index]
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth = max(depth - 1, 0)
        elif depth == 0 and (index == 0 or text[index - 1] in " \t"):
            word = re.match(r"[A-Za-z]+", text[index:])
            if (
                word
                and word.group(0).lower() in _CLAUSES
                and text[index + len(word.group(0)) : index + len(word.group(0)) + 1] in (" ", "\t")
            ):
                if current is not None:
                    clauses.setdefault(current, text[start:index].strip())
                current = word.group(0).lower()
                index += len(word.group(0))
                start = index
                continue
        index += 1
    if current is not None:
        clauses.setdefault(current, text[start:].strip())
    return clauses


def entry_hop(hops: tuple[ReceivedHop, ...]) -> ReceivedHop | None:
    """The hop where the message entered the receiving organisation (see module docs)."""
    receiver = next((h.by_host for h in hops if h.by_host), None)
    outside = [h for h in hops if h.ip is not None and not h.internal]
    for hop in outside:
        if not any(same_organisation(name, receiver) for name in (hop.from_host, hop.reverse_name)):
            return hop
    return outside[0] if outside else None


def same_organisation(name: str | None, other: str | None) -> bool:
    """True when both host names have the same Organizational Domain (Public Suffix List)."""
    if not name or not other or valid_ip(name) or valid_ip(other):
        return False
    a, b = name.lower().rstrip("."), other.lower().rstrip(".")
    if "." not in a or "." not in b or a.split(".")[-2:] != b.split(".")[-2:]:
        return False  # an Organizational Domain has two labels or more: they cannot share one
    from dmarc_audit.orgdomain import organizational_domain_psl

    try:
        return organizational_domain_psl(a) == organizational_domain_psl(b)
    except Exception:  # a malformed host name in a header must not stop the analysis
        return False


def connection_facts(
    message: Message,
    *,
    ip: str | None = None,
    helo: str | None = None,
    mail_from: str | None = None,
) -> Connection:
    """Work out the client IP, HELO and MAIL FROM, preferring the given values."""
    hops = received_hops(message)
    entry = entry_hop(hops)
    spf_fields = [f for f in message.all("received-spf") if _receivers(f, entry)]
    ar_fields = [f for f in message.all("authentication-results") if _receivers(f, entry)]
    candidates = _from_received_spf(spf_fields) + _from_authres(ar_fields)
    notes: list[str] = []
    facts: dict[str, Fact | None] = {}
    for name, given, flag in (
        ("ip", ip, "--ip"),
        ("helo", helo, "--helo"),
        ("mail_from", mail_from, "--mail-from"),
    ):
        if given is not None:
            facts[name] = Fact(given.strip(), flag)
            continue
        facts[name] = _pick(name, message, candidates, entry)
    if (
        facts["ip"] is not None
        and entry is not None
        and entry.ip
        and facts["ip"].value != entry.ip
        and facts["ip"].source != "--ip"
    ):
        notes.append(
            f"{facts['ip'].source} says {facts['ip'].value}, but the entry "
            f"{entry.describe()} shows {entry.ip}"
        )
    return Connection(facts["ip"], facts["helo"], facts["mail_from"], entry, hops, tuple(notes))


def _receivers(field: HeaderField, entry: ReceivedHop | None) -> bool:
    """Was this Received-SPF / Authentication-Results written by the receiving organisation?

    Yes when it lies above the entry Received field, or when it names a host of the
    entry's ``by`` organisation (Gmail writes its results just below its Received).
    """
    if entry is None or field.index < entry.field.index:
        return True
    if field.key == "authentication-results":
        writer = parse_authres(field.text).authserv_id
    else:
        pairs = {k.lower(): v.strip('"') for k, v in _KEY_VALUE.findall(field.text)}
        comment = re.search(r"\(([^():\s]+):", field.text)
        writer = pairs.get("receiver") or (comment.group(1) if comment else "")
    return bool(writer) and (
        writer.lower() == (entry.by_host or "").lower() or same_organisation(writer, entry.by_host)
    )


def _pick(
    name: str, message: Message, candidates: list[tuple[str, Fact]], entry: ReceivedHop | None
) -> Fact | None:
    if name == "mail_from":
        return_path = message.first("return-path")
        if return_path is not None:
            return Fact(_strip_angle(return_path.text), f"Return-Path (line {return_path.line})")
    found = next((fact for key, fact in candidates if key == name), None)
    if found is not None or entry is None:
        return found
    where = entry.describe()
    if name == "ip" and entry.ip:
        return Fact(entry.ip, where)
    if name == "helo":
        value = entry.helo or entry.from_host
        if value:
            return Fact(value, where)
    return None


def _strip_angle(text: str) -> str:
    text = text.strip()
    if text.startswith("<") and ">" in text:
        text = text[1 : text.index(">")]
    return text.strip()


def _from_received_spf(fields: list[HeaderField]) -> list[tuple[str, Fact]]:
    found = []
    for field in fields:
        text = re.sub(r"\((?:[^()\\]|\\.)*\)", " ", field.text)
        pairs = {k.lower(): v.strip('"') for k, v in _KEY_VALUE.findall(text)}
        where = f"Received-SPF (line {field.line})"
        if "client-ip" in pairs and valid_ip(pairs["client-ip"]):
            found.append(("ip", Fact(valid_ip(pairs["client-ip"]) or "", f"{where} client-ip")))
        if pairs.get("helo"):
            found.append(("helo", Fact(pairs["helo"], f"{where} helo")))
        if "envelope-from" in pairs:
            found.append(
                ("mail_from", Fact(_strip_angle(pairs["envelope-from"]), f"{where} envelope-from"))
            )
    return found


def _from_authres(fields: list[HeaderField]) -> list[tuple[str, Fact]]:
    found = []
    for field in fields:
        header = parse_authres(field.text, field_index=field.index)
        where = f"Authentication-Results {header.authserv_id} (line {field.line})"
        for result in header.results:
            for prop in ("smtp.remote-ip", "policy.iprev"):
                value = result.prop(prop)
                if value and valid_ip(value):
                    found.append(("ip", Fact(valid_ip(value) or "", f"{where} {prop}")))
            helo = result.prop("smtp.helo")
            if helo:
                found.append(("helo", Fact(helo, f"{where} smtp.helo")))
            mailfrom = result.prop("smtp.mailfrom")
            if mailfrom is not None and result.method == "spf":
                found.append(("mail_from", Fact(_strip_angle(mailfrom), f"{where} smtp.mailfrom")))
    return found
