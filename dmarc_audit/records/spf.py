"""SPF record parser (RFC 7208 §4.5, §5, §6, §12) that keeps positions.

``parse_spf`` never raises on record content: every problem becomes a
:class:`SyntaxProblem` naming the offending term and its offset, and the terms
that did parse are kept so a user sees the partial result.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from functools import lru_cache

from dmarc_audit.records.spf_macro import MacroError, has_macro, parse_macro_string

MX_NAME_LIMIT = 10
"""Most MX names one ``mx`` term may expand to (RFC 7208 §4.6.4)."""


class Qualifier(str, Enum):
    """The result a mechanism gives when it matches (RFC 7208 §4.6.2)."""

    PASS = "+"
    FAIL = "-"
    SOFTFAIL = "~"
    NEUTRAL = "?"

    @property
    def result(self) -> str:
        return {"+": "pass", "-": "fail", "~": "softfail", "?": "neutral"}[self.value]


class MechanismKind(str, Enum):
    ALL = "all"
    INCLUDE = "include"
    A = "a"
    MX = "mx"
    PTR = "ptr"
    IP4 = "ip4"
    IP6 = "ip6"
    EXISTS = "exists"

    @property
    def queries_dns(self) -> bool:
        """Counts toward the 10-lookup limit (RFC 7208 §4.6.4)."""
        return self in _DNS_KINDS


_DNS_KINDS = frozenset(
    {
        MechanismKind.INCLUDE,
        MechanismKind.A,
        MechanismKind.MX,
        MechanismKind.PTR,
        MechanismKind.EXISTS,
    }
)


@dataclass(frozen=True, slots=True)
class Mechanism:
    """One directive: qualifier + mechanism, with its place in the record."""

    kind: MechanismKind
    qualifier: Qualifier
    text: str
    offset: int
    domain_spec: str | None = None
    network: str | None = None
    """ip4/ip6: the address part, as written."""
    cidr4: int | None = None
    cidr6: int | None = None
    explicit_qualifier: bool = False

    @property
    def has_macro(self) -> bool:
        return self.domain_spec is not None and has_macro(self.domain_spec)


@dataclass(frozen=True, slots=True)
class Modifier:
    """``name=value``: ``redirect``, ``exp`` or an unknown modifier (ignored)."""

    name: str
    value: str
    text: str
    offset: int

    @property
    def has_macro(self) -> bool:
        return has_macro(self.value)


Term = Mechanism | Modifier


@dataclass(frozen=True, slots=True)
class SyntaxProblem:
    """A syntax error: which term, where (0-based offset into the record) and why."""

    term: str
    offset: int
    message: str

    def __str__(self) -> str:
        return f"{self.term!r} at offset {self.offset}: {self.message}"


@dataclass(frozen=True, slots=True)
class SpfRecord:
    """A parsed SPF record. ``problems`` empty means it matches the ABNF."""

    text: str
    terms: tuple[Term, ...]
    problems: tuple[SyntaxProblem, ...]

    @property
    def valid(self) -> bool:
        return not self.problems

    @property
    def mechanisms(self) -> tuple[Mechanism, ...]:
        return tuple(t for t in self.terms if isinstance(t, Mechanism))

    @property
    def modifiers(self) -> tuple[Modifier, ...]:
        return tuple(t for t in self.terms if isinstance(t, Modifier))

    def modifier(self, name: str) -> Modifier | None:
        for term in self.terms:
            if isinstance(term, Modifier) and term.name == name:
                return term
        return None

    @property
    def redirect(self) -> Modifier | None:
        return self.modifier("redirect")

    @property
    def exp(self) -> Modifier | None:
        return self.modifier("exp")

    @property
    def all_mechanism(self) -> Mechanism | None:
        for mech in self.mechanisms:
            if mech.kind is MechanismKind.ALL:
                return mech
        return None


_VERSION = re.compile(r"v=spf1(?= |$)", re.IGNORECASE)
_MODIFIER_NAME = re.compile(r"[A-Za-z][A-Za-z0-9\-_.]*")
_MECH_NAME = re.compile(r"([A-Za-z][A-Za-z0-9\-_.]*)")
_DUAL_CIDR_SUFFIX = re.compile(r"(?:/[0-9]+)?(?://[0-9]+)?\Z")
_TOPLABEL = re.compile(r"(?=.*[A-Za-z])[A-Za-z0-9]+$|[A-Za-z0-9]+-[A-Za-z0-9\-]*[A-Za-z0-9]$")


def is_spf_record(text: str) -> bool:
    """True when TXT text selects as SPF: ``v=spf1`` then a space or the end (§4.5)."""
    return _VERSION.match(text) is not None


@lru_cache(maxsize=4096)
def parse_spf(text: str) -> SpfRecord:
    """Parse an SPF record. The text must start with ``v=spf1`` (see :func:`is_spf_record`).

    The result is immutable, so a provider's record included by many domains is parsed once.
    """
    problems: list[SyntaxProblem] = []
    terms: list[Term] = []
    if not is_spf_record(text):
        return SpfRecord(text, (), (SyntaxProblem(text[:10], 0, "does not start with 'v=spf1'"),))
    for index, ch in enumerate(text):
        code = ord(ch)
        if code > 0x7E or (code < 0x20):
            problems.append(
                SyntaxProblem(
                    _word_at(text, index),
                    index,
                    f"non-ASCII or control character {ch!r} (SPF records are 7-bit ASCII)",
                )
            )
            break
    position = 6
    seen_modifiers: set[str] = set()
    for match in re.finditer(r"[^ ]+", text[position:]):
        offset = position + match.start()
        word = match.group(0)
        term, problem = _parse_term(word, offset)
        if problem is not None:
            problems.append(problem)
        if term is None:
            continue
        if isinstance(term, Modifier) and term.name in ("redirect", "exp"):
            if term.name in seen_modifiers:
                problems.append(
                    SyntaxProblem(word, offset, f"'{term.name}=' appears more than once")
                )
            seen_modifiers.add(term.name)
        terms.append(term)
    return SpfRecord(text, tuple(terms), tuple(problems))


def _word_at(text: str, index: int) -> str:
    start = text.rfind(" ", 0, index) + 1
    end = text.find(" ", index)
    return text[start : end if end >= 0 else len(text)]


def _parse_term(word: str, offset: int) -> tuple[Term | None, SyntaxProblem | None]:
    """One space-separated word of a record: a modifier or a mechanism, and its problem."""
    modifier_match = _MODIFIER_NAME.match(word)
    if modifier_match and word[modifier_match.end() : modifier_match.end() + 1] == "=":
        return _parse_modifier(word, offset, modifier_match.group(0).lower())
    return _parse_mechanism(word, offset)


def _parse_modifier(word: str, offset: int, name: str) -> tuple[Term, SyntaxProblem | None]:
    """``name=value``: redirect/exp take a domain-spec, unknown modifiers a macro-string."""
    value = word[len(name) + 1 :]
    modifier = Modifier(name, value, word, offset)
    if name in ("redirect", "exp"):
        error = _check_domain_spec(value)
        return modifier, (SyntaxProblem(word, offset, f"{name}= {error}") if error else None)
    try:
        parse_macro_string(value)
    except MacroError as exc:
        return modifier, SyntaxProblem(word, offset, exc.message)
    return modifier, None


_Arguments = tuple[dict[str, object] | None, str | None]
"""What a mechanism's argument parser found: the fields of the term (None: no term at
all, the word is not usable) and the problem with it, if any."""


def _parse_mechanism(word: str, offset: int) -> tuple[Term | None, SyntaxProblem | None]:
    """``[qualifier]name[argument]``: the qualifier, the kind, then the kind's argument."""
    qualifier, explicit, body = Qualifier.PASS, False, word
    if body[:1] in "+-~?" and body:
        qualifier, explicit, body = Qualifier(body[0]), True, body[1:]
    name_match = _MECH_NAME.match(body)
    if not name_match:
        return None, SyntaxProblem(word, offset, "not a mechanism or modifier")
    name = name_match.group(1).lower()
    try:
        kind = MechanismKind(name)
    except ValueError:
        return None, SyntaxProblem(word, offset, f"unknown mechanism {name!r}")
    fields, error = _ARGUMENT_PARSERS[kind](body[name_match.end() :], name)
    problem = SyntaxProblem(word, offset, error) if error else None
    if fields is None:
        return None, problem
    term = Mechanism(
        kind=kind,
        qualifier=qualifier,
        text=word,
        offset=offset,
        explicit_qualifier=explicit,
        **fields,  # type: ignore[arg-type]
    )
    return term, problem


def _no_argument(rest: str, name: str) -> _Arguments:
    """``all``."""
    return (None, f"'{name}' takes no argument") if rest else ({}, None)


def _domain_argument(rest: str, name: str) -> _Arguments:
    """``include:domain`` and ``exists:domain``: the domain-spec is required."""
    if not rest.startswith(":"):
        return None, f"'{name}' needs ':domain'"
    spec = rest[1:]
    return {"domain_spec": spec}, _check_domain_spec(spec)


def _optional_domain_argument(rest: str, name: str) -> _Arguments:
    """``ptr[:domain]``."""
    if not rest:
        return {"domain_spec": None}, None
    if not rest.startswith(":"):
        return None, f"expected ':domain' after '{name}'"
    spec = rest[1:]
    return {"domain_spec": spec}, _check_domain_spec(spec)


def _domain_and_cidr_argument(rest: str, name: str) -> _Arguments:
    """``a[:domain][/cidr4][//cidr6]`` and the same for ``mx``."""
    spec, cidr_text = _split_cidr(rest)
    domain_spec = None
    if spec:
        if not spec.startswith(":"):
            return None, f"expected ':domain' or '/cidr' after '{name}'"
        domain_spec = spec[1:]
        error = _check_domain_spec(domain_spec)
        if error:
            return {"domain_spec": domain_spec}, error
    cidr4, cidr6, error = _parse_dual_cidr(cidr_text)
    if error:
        return {"domain_spec": domain_spec}, error
    return {"domain_spec": domain_spec, "cidr4": cidr4, "cidr6": cidr6}, None


def _network_argument(rest: str, name: str) -> _Arguments:
    """``ip4:network[/length]`` and ``ip6:network[/length]``."""
    if not rest.startswith(":"):
        return None, f"'{name}' needs ':network'"
    network, _, length = rest[1:].partition("/")
    version, limit = (4, 32) if name == "ip4" else (6, 128)
    if not _is_address(network, version):
        return None, f"{network!r} is not an IPv{version} address"
    cidr, error = _parse_length(length, limit) if "/" in rest else (None, None)
    if error:
        return None, error
    return {"network": network, f"cidr{version}": cidr}, None


def _is_address(text: str, version: int) -> bool:
    if version == 4:
        return _is_ipv4(text)
    try:
        ipaddress.IPv6Address(text)
    except ValueError:
        return False
    return True


_ARGUMENT_PARSERS: dict[MechanismKind, Callable[[str, str], _Arguments]] = {
    MechanismKind.ALL: _no_argument,
    MechanismKind.INCLUDE: _domain_argument,
    MechanismKind.EXISTS: _domain_argument,
    MechanismKind.PTR: _optional_domain_argument,
    MechanismKind.A: _domain_and_cidr_argument,
    MechanismKind.MX: _domain_and_cidr_argument,
    MechanismKind.IP4: _network_argument,
    MechanismKind.IP6: _network_argument,
}


def _split_cidr(rest: str) -> tuple[str, str]:
    """Split ``:domain/24//64`` into the domain part and the cidr part.

    Only a trailing ``/digits`` and/or ``//digits`` is a dual-cidr-length; any
    other '/' belongs to the domain-spec, which may hold any visible character
    but '%' (RFC 7208 §7.1: ``a:foo:bar/baz.example.com`` is a valid domain).
    """
    match = _DUAL_CIDR_SUFFIX.search(rest)
    start = match.start() if match else len(rest)
    return rest[:start], rest[start:]


def _parse_dual_cidr(text: str) -> tuple[int | None, int | None, str | None]:
    if not text:
        return None, None, None
    if text.startswith("//"):
        cidr6, error = _parse_length(text[2:], 128)
        return None, cidr6, error
    body = text[1:]
    four, sep, six = body.partition("//")
    cidr4, error = _parse_length(four, 32)
    if error:
        return None, None, error
    if sep:
        cidr6, error = _parse_length(six, 128)
        if error:
            return None, None, error
        return cidr4, cidr6, None
    return cidr4, None, None


def _parse_length(text: str, limit: int) -> tuple[int | None, str | None]:
    if not text.isdigit() or not text.isascii():
        return None, f"bad CIDR length '/{text}'"
    if len(text) > 1 and text.startswith("0"):
        return None, f"CIDR length '/{text}' has a leading zero"
    value = int(text)
    if value > limit:
        return None, f"CIDR length /{value} is over {limit}"
    return value, None


def _is_ipv4(text: str) -> bool:
    parts = text.split(".")
    if len(parts) != 4:
        return False
    for part in parts:
        if not part.isdigit() or not part.isascii() or (len(part) > 1 and part[0] == "0"):
            return False
        if int(part) > 255:
            return False
    return True


def _check_domain_spec(spec: str) -> str | None:
    """Syntax of a domain-spec (§7.1): a macro-string ending in a toplabel or macro."""
    if not spec:
        return "empty domain"
    try:
        parts = parse_macro_string(spec)
    except MacroError as exc:
        return exc.message
    if parts and not hasattr(parts[-1], "text"):
        return None  # ends with a macro-expand
    trimmed = spec[:-1] if spec.endswith(".") else spec
    if "." not in trimmed:
        # a single label can only be valid when it comes from a macro (handled above)
        if has_macro(trimmed):
            last = trimmed.rsplit("}", 1)[-1]
            if not last:
                return None
        return f"domain {spec!r} does not end with a top-level label"
    toplabel = trimmed.rsplit(".", 1)[1]
    if not toplabel:
        return f"domain {spec!r} has an empty label"
    if _TOPLABEL.fullmatch(toplabel) is None:
        return f"domain {spec!r} ends with an invalid top-level label {toplabel!r}"
    return None
