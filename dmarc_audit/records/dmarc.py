"""DMARC policy record parser for RFC 7489 and RFC 9989 (DMARCbis).

``parse_dmarc`` never raises on record content. It returns what a receiver
following the chosen spec does with the text: whether DMARC applies at all
(``valid``), the tags it accepted (``tags``, values normalised), the values it
uses after defaults and error handling (``effective``), what it ignored and why
(``ignored``), and the problems an auditor reports (``problems``, by check id).

Error handling follows RFC 7489 §6.3, §6.6.3 and RFC 9989 §4.7, §4.8, §4.10.1:
unknown tags and bad optional values are ignored (defaults apply); an invalid
``p`` (or ``sp``, or under RFC 9989 ``np``) turns the record into ``p=none`` when
``rua`` holds a valid URI and into "no DMARC" otherwise; a missing ``p`` is
``p=none`` under RFC 9989 and follows the invalid-``p`` rule under RFC 7489;
a duplicated tag invalidates the whole tag-list (RFC 6376 §3.2).

``abnf_conformant`` covers the shape of the tag-list (separators, whitespace,
``name=value`` form, non-empty values, ``p`` right after ``v`` in RFC 7489);
well-formed values that are not allowed are reported per tag in ``ignored``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from enum import Enum
from functools import lru_cache
from typing import TypeVar, cast

from dmarc_audit.records.taglist import Tag, TagListIssue, split_tags


class DmarcMode(str, Enum):
    """Which specification a receiver follows."""

    RFC9989 = "rfc9989"
    RFC7489 = "rfc7489"

    @property
    def label(self) -> str:
        """``RFC 9989`` / ``RFC 7489`` for messages."""
        return "RFC " + self.value[3:]


class Policy(str, Enum):
    """A Domain Owner Assessment Policy (``p``, ``sp``, ``np``)."""

    NONE = "none"
    QUARANTINE = "quarantine"
    REJECT = "reject"

    @property
    def rank(self) -> int:
        """0 for none, 1 for quarantine, 2 for reject."""
        return _POLICY_ORDER.index(self)

    def step_up(self) -> Policy:
        """One step stricter (none → quarantine → reject → reject)."""
        return _POLICY_ORDER[min(self.rank + 1, 2)]

    def step_down(self) -> Policy:
        """One step weaker (what ``t=y`` asks receivers to apply, RFC 9989 §4.7)."""
        return _POLICY_ORDER[max(self.rank - 1, 0)]


_POLICY_ORDER = (Policy.NONE, Policy.QUARANTINE, Policy.REJECT)


class Alignment(str, Enum):
    """Identifier alignment mode (``adkim``, ``aspf``)."""

    RELAXED = "r"
    STRICT = "s"


@dataclass(frozen=True, slots=True)
class ReportUri:
    """One ``rua``/``ruf`` destination. ``max_size`` is the RFC 7489 ``!size`` suffix."""

    uri: str
    max_size: str | None = None

    @property
    def scheme(self) -> str:
        return self.uri.split(":", 1)[0].lower()

    def __str__(self) -> str:
        return self.uri + (f"!{self.max_size}" if self.max_size else "")


TagValue = str | int | Policy | Alignment | tuple[ReportUri, ...]


class TagMap(Mapping[str, TagValue]):
    """An immutable, hashable mapping of tag name to normalised value, in record order."""

    __slots__ = ("_items",)

    def __init__(self, items: tuple[tuple[str, TagValue], ...] = ()) -> None:
        self._items = tuple(items)

    def __getitem__(self, key: str) -> TagValue:
        for name, value in self._items:
            if name == key:
                return value
        raise KeyError(key)

    def __iter__(self) -> Iterator[str]:
        return (name for name, _ in self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __hash__(self) -> int:
        return hash(self._items)

    def __repr__(self) -> str:
        return f"TagMap({dict(self._items)!r})"


@dataclass(frozen=True, slots=True)
class EffectivePolicy:
    """The values a receiver uses after defaults and error handling.

    Fields that the mode does not define are ``None``: ``pct`` under RFC 9989;
    ``np``, ``t`` and ``psd`` under RFC 7489. ``fo`` is set only when ``ruf``
    holds a valid URI (RFC 7489 §6.3, RFC 9989 §4.7).
    """

    p: Policy
    sp: Policy
    adkim: Alignment
    aspf: Alignment
    np: Policy | None = None
    pct: int | None = None
    t: str | None = None
    psd: str | None = None
    fo: str | None = None
    rua: tuple[ReportUri, ...] = ()
    ruf: tuple[ReportUri, ...] = ()

    @property
    def testing(self) -> bool:
        """``t=y`` (RFC 9989 test mode)."""
        return self.t == "y"

    def as_dict(self) -> dict[str, str | int]:
        """The scalar values that are set (``rua``/``ruf`` left out), enums as text."""
        out: dict[str, str | int] = {}
        for name in ("p", "sp", "adkim", "aspf", "np", "pct", "t", "psd", "fo"):
            value = getattr(self, name)
            if value is not None:
                out[name] = value.value if isinstance(value, Enum) else value
        return out


@dataclass(frozen=True, slots=True)
class DmarcProblem:
    """Something an auditor reports about the text, by catalog check id.

    ``tag`` names the tag concerned (``None`` for the record as a whole);
    ``offset`` is the 0-based position in the record where it starts.
    """

    check_id: str
    tag: str | None
    message: str
    offset: int | None = None


@dataclass(frozen=True, slots=True)
class DmarcRecord:
    """A parsed DMARC record: raw text, the partial parse and the receiver outcome."""

    text: str
    mode: DmarcMode
    valid: bool
    """True when a receiver following ``mode`` applies DMARC with this record."""
    version_ok: bool
    """True when the text starts with ``v=DMARC1`` (a candidate in policy discovery)."""
    tags: TagMap
    effective: EffectivePolicy | None
    ignored: tuple[tuple[str, str], ...]
    abnf_conformant: bool
    problems: tuple[DmarcProblem, ...]
    fallback: str | None = None
    """Why the record was turned into ``p=none`` or dropped (§6.6.3 / §4.10.1), if it was."""
    written_tags: tuple[tuple[str, str], ...] = ()
    """Every ``name=value`` spec as written, in record order: name lower-cased, value
    trimmed; unknown tags, invalid values and duplicates included (``v`` too)."""
    stray_specs: tuple[str, ...] = ()
    """The specs that are not ``name=value`` with a tag name, as written."""

    def tag(self, name: str, default: TagValue | None = None) -> TagValue | None:
        """The accepted value of ``name``, or ``default``."""
        return self.tags.get(name, default)

    def has_problem(self, check_id: str) -> bool:
        return any(p.check_id == check_id for p in self.problems)

    @property
    def rua(self) -> tuple[ReportUri, ...]:
        """The valid aggregate-report URIs (empty when none)."""
        value = self.tags.get("rua", ())
        return value if isinstance(value, tuple) else ()

    @property
    def ruf(self) -> tuple[ReportUri, ...]:
        value = self.tags.get("ruf", ())
        return value if isinstance(value, tuple) else ()


# --- the tag registry ------------------------------------------------------

POLICY_TAGS = ("p", "sp", "np")
TAGS_7489 = frozenset({"v", "p", "sp", "rua", "ruf", "adkim", "aspf", "ri", "fo", "rf", "pct"})
TAGS_9989 = frozenset({"v", "p", "sp", "np", "psd", "t", "rua", "ruf", "adkim", "aspf", "fo"})
REMOVED_IN_9989 = frozenset({"pct", "rf", "ri"})
ALL_TAGS = TAGS_7489 | TAGS_9989
_KEYWORD_TAGS = frozenset({"p", "sp", "np", "adkim", "aspf", "t", "psd", "fo", "rf"})

_WSP = " \t"
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*\Z")
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*\Z")
_URI_BODY = re.compile(r"(?:[A-Za-z0-9\-._~:/?#\[\]@$&'()*+=]|%[0-9A-Fa-f]{2})+\Z")
_SIZE = re.compile(r"[0-9]+[kmgtKMGT]?\Z")
_DIGITS = re.compile(r"[0-9]+\Z")
_FO_OPTIONS = ("0", "1", "d", "s")
_VERSION_PREFIX = re.compile(r"[vV][ \t]*=[ \t]*DMARC1[ \t]*(?:;|\Z)")


def looks_like_dmarc(text: str) -> bool:
    """True when TXT text selects as DMARC: it starts with ``v=DMARC1`` (RFC 9989 §4.10 step 2)."""
    return _VERSION_PREFIX.match(text) is not None


@dataclass(slots=True)
class _Spec:
    name: str
    raw_name: str
    value: str
    offset: int


@dataclass(slots=True)
class _State:
    mode: DmarcMode
    tags: list[tuple[str, TagValue]]
    ignored: list[tuple[str, str]]
    problems: list[DmarcProblem]
    abnf_ok: bool = True
    policy_state: dict[str, str] = field(default_factory=dict)
    """``ok`` or ``invalid`` for each of p, sp, np that appeared."""
    seen: set[str] = field(default_factory=set)


@lru_cache(maxsize=4096)
def parse_dmarc(text: str, mode: DmarcMode = DmarcMode.RFC9989) -> DmarcRecord:
    """Parse ``text`` (one TXT record, strings joined) as a receiver following ``mode`` would.

    The result is immutable, so a record seen again (discovery, then the rules under both
    specs; a reporting provider's record shared by many domains) is parsed once.
    """
    state = _State(mode, [], [], [])
    specs, empty_specs, trailing_ws = _split(text)
    written = tuple((s.name, s.value) for s in specs if s.name)
    strays = tuple(s.raw_name for s in specs if not s.name)
    version_problem = _version_problem(text, specs)
    if version_problem is not None:
        return DmarcRecord(
            text,
            mode,
            False,
            False,
            TagMap(),
            None,
            (),
            False,
            (DmarcProblem("dmarc.version-invalid", "v", version_problem, 0),),
            None,
            written,
            strays,
        )
    _lenient_shape(state, text, specs, empty_specs, trailing_ws)
    duplicates = _duplicates(state, specs)
    for spec in specs[1:]:
        _accept(state, spec)
    state.tags.insert(0, ("v", "DMARC1"))
    if specs[0].raw_name != "v":
        _lenient(state, "v", "tag name 'V' is upper case (write 'v')", specs[0].offset)
    valid, effective, fallback = _effective(state)
    if duplicates:
        valid, effective = False, None
        fallback = "a tag appears more than once: the whole tag-list is invalid"
    return DmarcRecord(
        text,
        mode,
        valid,
        True,
        TagMap(tuple(state.tags)),
        effective,
        tuple(state.ignored),
        state.abnf_ok,
        tuple(state.problems),
        fallback,
        written,
        strays,
    )


# --- lenient recovery (for repairs) ----------------------------------------

_VERSION_JUNK = re.compile(r"\s*v\s*=\s*dmarc\w*\s*[;,]?\s*", re.IGNORECASE)
_SPEC_SPLIT = re.compile(r";|[\s,]+(?=[A-Za-z]{1,10}\s*=)")


def recover_tags(text: str) -> dict[str, str]:
    """Tag values as meant, for repairing a broken record (lenient, unlike :func:`parse_dmarc`).

    The version prefix is dropped, missing ``;`` and ``,`` separators are restored
    (``p=reject rua=...``), names are lower-cased and the first occurrence of a
    duplicated tag wins.
    """
    match = _VERSION_JUNK.match(text)
    rest = text[match.end() :] if match else text
    tags: dict[str, str] = {}
    for spec in _SPEC_SPLIT.split(rest):
        name, sep, value = spec.partition("=")
        name = name.strip().lower()
        if sep and name and name not in tags:
            tags[name] = value.strip()
    return tags


# --- splitting and shape ---------------------------------------------------


def _split(text: str) -> tuple[list[_Spec], list[int], bool]:
    """Tag-specs with offsets, offsets of empty specs (``;;``), and trailing WSP after a value.

    A spec that is not ``name=value`` with a DMARC tag name is kept as a stray
    (``name`` empty, ``raw_name`` the spec) in its place in the record.
    """
    split = split_tags(text)
    specs: list[_Spec] = []
    empty: list[int] = []
    for item in split.in_order():
        if isinstance(item, Tag):
            if _NAME.match(item.name):
                specs.append(_Spec(item.name.lower(), item.name, item.value, item.offset))
            else:
                specs.append(_Spec("", item.text, "", item.offset))
        elif item.issue is TagListIssue.EMPTY:
            empty.append(item.offset)
        else:
            specs.append(_Spec("", item.text, "", item.offset))
    return specs, empty, split.trailing_space


def _version_problem(text: str, specs: list[_Spec]) -> str | None:
    if not text.strip(_WSP):
        return "the record is empty"
    if text[0] in _WSP:
        return "the record starts with whitespace; it must start with 'v=DMARC1'"
    first = specs[0] if specs else None
    if first is not None and first.name == "v" and first.offset != 0:
        return f"the record does not start with 'v=DMARC1' ({text[: first.offset]!r} precedes it)"
    if first is None or first.name != "v":
        if any(s.name == "v" for s in specs):
            return "'v=DMARC1' must be the first tag"
        return "the record does not start with 'v=DMARC1'"
    if first.value != "DMARC1":
        if first.value.upper().startswith("DMARC1") and len(first.value) > 6:
            return (
                f"the version value is {first.value!r}: a ';' must separate "
                "'v=DMARC1' from the next tag"
            )
        if first.value.lower().startswith("spf1"):
            return "this is an SPF record (v=spf1), not DMARC; SPF belongs at the domain itself"
        return f"the version must be exactly 'DMARC1' (case-sensitive), not {first.value!r}"
    return None


def _lenient(state: _State, tag: str | None, message: str, offset: int | None = None) -> None:
    state.problems.append(DmarcProblem("dmarc.syntax-lenient", tag, message, offset))


def _lenient_shape(
    state: _State, text: str, specs: list[_Spec], empty: list[int], trailing_ws: bool
) -> None:
    for offset in empty:
        state.abnf_ok = False
        _lenient(state, None, "empty tag-spec (';;'): outside the grammar", offset)
    if trailing_ws:
        state.abnf_ok = False
        _lenient(
            state,
            None,
            "whitespace after the last value: outside the grammar; "
            "end the record with the value or with ';'",
            len(text.rstrip(_WSP)),
        )
    if state.mode is DmarcMode.RFC7489:
        if len(specs) == 1 and ";" not in text:
            state.abnf_ok = False  # RFC 7489 needs dmarc-sep after the version
        p_index = next((i for i, s in enumerate(specs) if s.name == "p"), None)
        if p_index is not None and p_index != 1:
            state.abnf_ok = False
            _lenient(
                state,
                "p",
                "RFC 7489 places p right after v; some RFC 7489 parsers expect that order",
                specs[p_index].offset,
            )


def _duplicates(state: _State, specs: list[_Spec]) -> bool:
    seen: set[str] = set()
    found = False
    for spec in specs:
        if not spec.name:
            continue
        if spec.name in seen:
            found = True
            state.problems.append(
                DmarcProblem(
                    "dmarc.duplicate-tag",
                    spec.name,
                    f"tag {spec.name!r} appears more than once: the whole tag-list is invalid "
                    "(RFC 6376 §3.2); receivers disagree on which value wins",
                    spec.offset,
                )
            )
        seen.add(spec.name)
    return found


# --- tags ------------------------------------------------------------------


def _accept(state: _State, spec: _Spec) -> None:
    if not spec.name:
        _stray(state, spec)
        return
    if spec.name in state.seen or spec.name == "v":
        return  # a duplicate (reported by _duplicates): the first occurrence stays
    state.seen.add(spec.name)
    known = TAGS_9989 if state.mode is DmarcMode.RFC9989 else TAGS_7489
    if spec.name not in known:
        _unknown(state, spec)
        return
    if spec.raw_name != spec.name:
        _lenient(
            state,
            spec.name,
            f"tag name {spec.raw_name!r} is upper case (write {spec.name!r})",
            spec.offset,
        )
    if spec.name in _KEYWORD_TAGS and spec.value != spec.value.lower():
        _lenient(
            state, spec.name, f"value {spec.value!r} of {spec.name} is not lower case", spec.offset
        )
    if not spec.value:
        state.abnf_ok = False
    handler = _HANDLERS[spec.name]
    handler(state, spec)


def _stray(state: _State, spec: _Spec) -> None:
    state.abnf_ok = False
    reason = (
        "syntax error; discarded (§4.8)"
        if state.mode is DmarcMode.RFC9989
        else "not a tag=value pair"
    )
    state.ignored.append((spec.raw_name, reason))
    _lenient(
        state, None, f"{spec.raw_name!r} is not a tag=value pair; receivers skip it", spec.offset
    )


def _unknown(state: _State, spec: _Spec) -> None:
    if state.mode is DmarcMode.RFC9989 and spec.name in REMOVED_IN_9989:
        state.ignored.append((spec.name, "removed in RFC 9989; unknown tags are ignored"))
        state.problems.append(
            DmarcProblem(
                "dmarc.removed-tag",
                spec.name,
                f"{spec.name} was removed in RFC 9989 (RFC 9989 receivers ignore it; "
                "RFC 7489 receivers still read it)",
                spec.offset,
            )
        )
        return
    if state.mode is DmarcMode.RFC7489 and spec.name in TAGS_9989:
        state.ignored.append((spec.name, "unknown tag in RFC 7489 (defined by RFC 9989)"))
        return
    state.ignored.append((spec.name, "unknown tag"))
    state.problems.append(
        DmarcProblem(
            "dmarc.unknown-tag",
            spec.name,
            f"unknown tag {spec.name!r} (ignored by receivers; a typo?)",
            spec.offset,
        )
    )


def _invalid(state: _State, spec: _Spec, check_id: str, reason: str, message: str) -> None:
    state.ignored.append((spec.name, reason))
    state.problems.append(DmarcProblem(check_id, spec.name, message, spec.offset))


def _policy(state: _State, spec: _Spec) -> None:
    value = spec.value.lower()
    if value in {p.value for p in Policy}:
        state.tags.append((spec.name, Policy(value)))
        state.policy_state[spec.name] = "ok"
        return
    state.policy_state[spec.name] = "invalid"
    reason = "empty value" if not spec.value else "invalid value"
    check = "dmarc.p-invalid" if spec.name == "p" else "dmarc.subdomain-policy-invalid"
    shown = f"{spec.name}={spec.value}" if spec.value else f"{spec.name} is empty:"
    hint = ""
    if any(ch in _WSP for ch in spec.value) and "=" in spec.value:
        hint = " (a ';' is missing: the next tag became part of this value)"
    _invalid(state, spec, check, reason, f"{shown} is not none, quarantine or reject{hint}")


_Handler = Callable[[_State, _Spec], None]


def _choice(allowed: tuple[str, ...], default: str, convert: type[Enum] | None = None) -> _Handler:
    def handle(state: _State, spec: _Spec) -> None:
        value = spec.value.lower()
        if value in allowed:
            state.tags.append((spec.name, cast(TagValue, convert(value)) if convert else value))
            return
        _invalid(
            state,
            spec,
            "dmarc.tag-invalid",
            f"invalid value; default {default}",
            f"{spec.name}={spec.value!r} is not one of {'/'.join(allowed)}; "
            f"receivers use the default {spec.name}={default}",
        )

    return handle


def _pct(state: _State, spec: _Spec) -> None:
    value = spec.value
    if not _DIGITS.match(value):
        reason = "not 1*3DIGIT" if value.lstrip("+-").isdigit() else "not a number"
    elif len(value) > 3 or int(value) > 100:
        reason = "outside 0-100; default 100 applies"
    else:
        state.tags.append(("pct", int(value)))
        return
    _invalid(
        state,
        spec,
        "dmarc.tag-invalid",
        reason,
        f"pct={value!r} is not a percentage 0-100 ({reason}); receivers use pct=100, "
        "some discard the record",
    )


def _ri(state: _State, spec: _Spec) -> None:
    if _DIGITS.match(spec.value) and len(spec.value) <= 32:
        state.tags.append(("ri", int(spec.value)))
        return
    _invalid(
        state,
        spec,
        "dmarc.tag-invalid",
        "not an integer; default 86400",
        f"ri={spec.value!r} is not a number of seconds; receivers use 86400",
    )


def _rf(state: _State, spec: _Spec) -> None:
    formats = [f.strip(_WSP).lower() for f in spec.value.split(":")]
    if all(re.fullmatch(r"[a-z][a-z0-9\-]*", f) for f in formats) and "afrf" in formats:
        state.tags.append(("rf", ":".join(formats)))
        return
    _invalid(
        state,
        spec,
        "dmarc.tag-invalid",
        f"{spec.value} is not a registered failure-report format",
        f"rf={spec.value!r}: only 'afrf' is registered; receivers use afrf",
    )


def _fo(state: _State, spec: _Spec) -> None:
    options = [o.strip(_WSP).lower() for o in spec.value.split(":")]
    if not all(o in _FO_OPTIONS for o in options):
        _invalid(
            state,
            spec,
            "dmarc.fo-invalid",
            "invalid value; default 0",
            f"fo={spec.value!r}: options are 0, 1, d and s separated by ':'; receivers use fo=0",
        )
        return
    if state.mode is DmarcMode.RFC9989 and (
        {"0", "1"} <= set(options) or len(set(options)) != len(options)
    ):
        _invalid(
            state,
            spec,
            "dmarc.fo-invalid",
            "'0' and '1' are mutually exclusive in the RFC 9989 ABNF; default 0",
            f"fo={spec.value!r}: RFC 9989 allows either 0 or 1 (1 includes 0), once each; "
            "RFC 9989 receivers use fo=0",
        )
        return
    state.tags.append(("fo", ":".join(options)))


def _uris(state: _State, spec: _Spec) -> None:
    entries = [e.strip(_WSP) for e in spec.value.split(",")]
    good: list[ReportUri] = []
    bad: list[tuple[int, str, str]] = []
    for index, entry in enumerate(entries):
        uri, reason = _parse_uri(entry, state.mode)
        if uri is None:
            bad.append((index, entry, reason))
        else:
            good.append(uri)
            if "!" in entry and state.mode is DmarcMode.RFC9989:
                state.problems.append(
                    DmarcProblem(
                        "dmarc.removed-tag",
                        spec.name,
                        f"size limit '!{entry.split('!', 1)[1]}' on {uri.uri} is obsolete in "
                        "RFC 9989 (ignored there; RFC 7489 receivers still honour it)",
                        spec.offset,
                    )
                )
    for index, entry, reason in bad:
        label = spec.name if not good else f"{spec.name}[{index}]"
        state.ignored.append((label, reason))
        state.problems.append(
            DmarcProblem(
                "dmarc.rua-invalid-uri",
                spec.name,
                f"{spec.name} entry {entry!r} is not a usable report URI: {reason}",
                spec.offset,
            )
        )
    if not entries or entries == [""]:
        return
    if good:
        state.tags.append((spec.name, tuple(good)))


def _parse_uri(entry: str, mode: DmarcMode) -> tuple[ReportUri | None, str]:
    if not entry:
        return None, "empty"
    uri, bang, size = entry.partition("!")
    if bang and not _SIZE.match(size):
        return None, f"'!{size}' is not a valid size suffix; no valid URI left"
    scheme, colon, rest = uri.partition(":")
    if not colon and "@" in uri:
        return None, "not a URI (no scheme)"
    if not colon or not _SCHEME.match(scheme):
        return None, f"{uri!r} is not a URI"
    if not rest or not _URI_BODY.match(rest):
        return None, (
            f"{uri!r} is not a URI (characters such as space, ',' or '!' must be percent-encoded)"
        )
    if mode is DmarcMode.RFC9989:
        return ReportUri(uri), ""
    return ReportUri(uri, size.lower() if bang else None), ""


_HANDLERS: dict[str, _Handler] = {
    "p": _policy,
    "sp": _policy,
    "np": _policy,
    "adkim": _choice(("r", "s"), "r", Alignment),
    "aspf": _choice(("r", "s"), "r", Alignment),
    "t": _choice(("y", "n"), "n"),
    "psd": _choice(("y", "n", "u"), "u"),
    "pct": _pct,
    "ri": _ri,
    "rf": _rf,
    "fo": _fo,
    "rua": _uris,
    "ruf": _uris,
}


# --- the effective policy --------------------------------------------------


def _effective(state: _State) -> tuple[bool, EffectivePolicy | None, str | None]:
    tags = dict(state.tags)
    nine = state.mode is DmarcMode.RFC9989
    invalid = [t for t in POLICY_TAGS if state.policy_state.get(t) == "invalid"]
    if "p" not in state.policy_state:
        state.problems.append(
            DmarcProblem(
                "dmarc.p-missing",
                "p",
                "no p tag: RFC 9989 receivers act as p=none; RFC 7489 receivers do the same "
                "only when rua holds a valid URI, otherwise they ignore the record",
            )
        )
    p_missing = "p" not in state.policy_state
    fallback: str | None = None
    if invalid or (p_missing and not nine):
        cause = f"{invalid[0]} is invalid" if invalid else "p is missing"
        if not tags.get("rua"):
            return False, None, f"{cause} and rua has no valid URI: no DMARC processing"
        fallback = f"{cause} and rua has a valid URI: receivers act as p=none"
        for name in POLICY_TAGS:
            if name in tags and name not in invalid:
                state.ignored.append(
                    (name, f"overridden: {cause}, which triggers the p=none fallback")
                )
                state.tags = [(k, v) for k, v in state.tags if k != name]
        p = sp = np = Policy.NONE
    else:
        p = _typed(tags, "p", Policy, Policy.NONE)
        sp = _typed(tags, "sp", Policy, p)
        np = _typed(tags, "np", Policy, sp)
        if p_missing:
            fallback = "p is missing: RFC 9989 receivers act as p=none"
    has_ruf = bool(tags.get("ruf"))
    fo = None
    if "fo" in tags or any(name == "fo" for name, _ in state.ignored):
        if has_ruf:
            fo = str(tags.get("fo", "0"))
        elif "fo" in tags:
            state.tags = [(k, v) for k, v in state.tags if k != "fo"]
            state.ignored.append(("fo", "ignored when there is no ruf"))
            state.problems.append(
                DmarcProblem(
                    "dmarc.fo-invalid",
                    "fo",
                    "fo has no effect without a valid ruf (failure-report) URI",
                )
            )
    elif has_ruf:
        fo = "0"
    effective = EffectivePolicy(
        p=p,
        sp=sp,
        adkim=_typed(tags, "adkim", Alignment, Alignment.RELAXED),
        aspf=_typed(tags, "aspf", Alignment, Alignment.RELAXED),
        np=np if nine else None,
        pct=None if nine else _typed(tags, "pct", int, 100),
        t=_typed(tags, "t", str, "n") if nine else None,
        psd=_typed(tags, "psd", str, "u") if nine else None,
        fo=fo,
        rua=_typed(tags, "rua", tuple, ()),
        ruf=_typed(tags, "ruf", tuple, ()),
    )
    return True, effective, fallback


_T = TypeVar("_T")


def _typed(tags: Mapping[str, TagValue], name: str, kind: type[_T], default: _T) -> _T:
    """The accepted value of ``name`` when it has the type the tag converts to."""
    value = tags.get(name, default)
    return value if isinstance(value, kind) else default
