"""ARC (RFC 8617): validate the chain and read what each intermediary saw.

Each set is verified on its own (``message/arc_crypto.py``, keys through our
resolver), so every hop shows whether its seal and its message signature hold and,
when not, why in words: which set, which field, which tag, which key lookup.
Ed25519 keys (RFC 8463) are verified as well as RSA. The chain shows even when it
does not validate: instance, sealer, ``cv=``, and each hop's
ARC-Authentication-Results.
"""

from __future__ import annotations

import asyncio
import base64
import re
from dataclasses import dataclass
from enum import Enum

from dmarc_audit.dkim.facts import result_from_answer
from dmarc_audit.dns.types import Resolver
from dmarc_audit.message.arc_crypto import (
    BadSignature,
    Canon,
    RawField,
    body_hash,
    parse_canon,
    select_fields,
    signed_data,
    verify,
)
from dmarc_audit.message.authres import AuthResultsHeader, parse_authres
from dmarc_audit.message.parse import HeaderField, Message
from dmarc_audit.records.dkim_key import parse_tag_list

_INSTANCE = re.compile(r"(?:^|;)\s*i\s*=\s*(\d+)", re.IGNORECASE)
MAX_INSTANCE = 50
"""RFC 8617 §4.2.1: a chain has at most 50 sets."""


class ArcStatus(str, Enum):
    """The chain validation status (``arc=`` in Authentication-Results)."""

    PASS = "pass"
    FAIL = "fail"
    NONE = "none"


@dataclass(frozen=True, slots=True)
class ArcHop:
    """One ARC set: who sealed it, what it attests, and whether it verified."""

    instance: int
    seal_domain: str | None
    seal_selector: str | None
    cv: str | None
    signature_domain: str | None
    """``d=`` of the ARC-Message-Signature."""
    results: AuthResultsHeader | None
    """The ARC-Authentication-Results: what this intermediary's checks found."""
    seal_valid: bool | None = None
    signature_valid: bool | None = None
    """``None`` when the set could not be checked (a key lookup failed, a field is missing)."""
    reason: str | None = None
    """Why the seal or the signature of this set does not verify, in words; None when both do."""

    def to_json(self) -> dict[str, object]:
        return {
            "instance": self.instance,
            "seal": {
                "d": self.seal_domain,
                "s": self.seal_selector,
                "cv": self.cv,
                "valid": self.seal_valid,
            },
            "message_signature": {"d": self.signature_domain, "valid": self.signature_valid},
            "authserv_id": self.results.authserv_id if self.results else None,
            "reason": self.reason,
            "results": _results_json(self.results),
        }


def _results_json(header: AuthResultsHeader | None) -> list[dict[str, object]]:
    if header is None:
        return []
    return [
        {"method": r.method, "result": r.result, "properties": dict(r.properties)}
        for r in header.results
    ]


@dataclass(frozen=True, slots=True)
class ArcEvaluation:
    """The chain's status and hops (instance 1 first)."""

    status: ArcStatus
    reason: str
    hops: tuple[ArcHop, ...] = ()
    lookup_failed: bool = False
    """A key lookup failed: the status may be a temporary failure."""

    @property
    def first_hop(self) -> ArcHop | None:
        return next((h for h in self.hops if h.instance == 1), None)

    @property
    def last_hop(self) -> ArcHop | None:
        return self.hops[-1] if self.hops else None


def read_arc_sets(message: Message) -> tuple[ArcHop, ...]:
    """The ARC sets found in the header, by instance (no verification)."""
    sets, _ = _collect_sets(message)
    return tuple(_hop(instance, sets[instance]) for instance in sorted(sets))


def _tags(text: str, *, keep_case: bool = False) -> dict[str, str]:
    """The tag-list as a dict (``d``, ``s``, ``cv`` lower-cased); empty when it does not parse."""
    try:
        pairs = parse_tag_list(text)
    except ValueError:
        return {}
    tags: dict[str, str] = {}
    for name, value in pairs:
        if name in ("d", "s", "cv") or (name == "i" and not keep_case):
            value = value.strip().lower()
        tags.setdefault(name, value)
    return tags


async def verify_arc(resolver: Resolver, message: Message) -> ArcEvaluation:
    """Validate the ARC chain (RFC 8617 §5.2) and say, in words, where it breaks.

    Every set is verified, not only up to the first failure, so each hop has its
    own validity; the chain's status follows the RFC's order: structure, the
    newest ``cv=``, the newest ARC-Message-Signature, then each ARC-Seal from the
    newest down.
    """
    sets, stray = _collect_sets(message)
    if not sets and not stray:
        return ArcEvaluation(ArcStatus.NONE, "the message has no ARC sets")
    problems = stray + _structure_problems(sets)
    keys = await _fetch_keys(resolver, sets)
    headers = [RawField(h.name.encode("latin-1", "replace"), h.raw) for h in message.headers]
    hops = []
    # per instance: why the seal, and why the message signature, does not verify
    why: dict[int, tuple[str | None, str | None]] = {}
    for instance in sorted(sets):
        arc_set = sets[instance]
        ams_valid, ams_reason = _check_ams(arc_set, headers, message.body, keys)
        seal_valid, seal_reason = _check_seal(instance, sets, keys)
        hop = _hop(instance, arc_set)
        why[instance] = (seal_reason, ams_reason)
        reasons = [r for r in (seal_reason, ams_reason) if r]
        hops.append(_with_validity(hop, seal_valid, ams_valid, "; ".join(reasons) or None))
    failed_lookups = sorted({k.describe for k in keys.values() if k.failed})
    status, reason = _chain_verdict(hops, why, problems)
    if status is ArcStatus.FAIL and failed_lookups:
        reason += f"; key lookup failed: {', '.join(failed_lookups)} (could not check)"
    return ArcEvaluation(status, reason, tuple(hops), lookup_failed=bool(failed_lookups))


@dataclass(frozen=True, slots=True)
class _ArcSet:
    """The three fields of one instance (lists: a field given twice is a structure error)."""

    seal: list[HeaderField]
    signature: list[HeaderField]
    results: list[HeaderField]

    def only(self, kind: str) -> HeaderField | None:
        fields = getattr(self, kind)
        return fields[0] if len(fields) == 1 else None


@dataclass(frozen=True, slots=True)
class _Key:
    """A key lookup's outcome: the key bytes and type, or why there are none."""

    name: str
    key_type: str | None = None
    public_key: bytes | None = None
    problem: str | None = None
    failed: bool = False

    @property
    def describe(self) -> str:
        return f"{self.name} ({self.problem})"


_KINDS = {
    "arc-seal": "seal",
    "arc-message-signature": "signature",
    "arc-authentication-results": "results",
}


def _collect_sets(message: Message) -> tuple[dict[int, _ArcSet], list[str]]:
    """The ARC fields grouped by ``i=``; fields without a usable instance are problems."""
    sets: dict[int, _ArcSet] = {}
    stray: list[str] = []
    for header in message.headers:
        kind = _KINDS.get(header.key)
        if kind is None:
            continue
        match = _INSTANCE.search(header.text)
        if match is None:
            stray.append(f"an {header.name} field has no i= tag")
            continue
        instance = int(match.group(1))
        if not 1 <= instance <= MAX_INSTANCE:
            stray.append(
                f"an {header.name} field has i={instance}; instances run from 1 to "
                f"{MAX_INSTANCE} (RFC 8617 §4.2.1)"
            )
            continue
        getattr(sets.setdefault(instance, _ArcSet([], [], [])), kind).append(header)
    return sets, stray


def _structure_problems(sets: dict[int, _ArcSet]) -> list[str]:
    """RFC 8617 §5.2 step 3: sets 1..N, one field of each kind, cv=none only at i=1."""
    problems = []
    newest = max(sets, default=0)
    missing = [str(i) for i in range(1, newest + 1) if i not in sets]
    if missing:
        problems.append(
            f"the chain has no ARC set i={', '.join(missing)} (sets must run 1 to {newest})"
        )
    names = {
        "seal": "ARC-Seal",
        "signature": "ARC-Message-Signature",
        "results": "ARC-Authentication-Results",
    }
    for instance in sorted(sets):
        for kind, name in names.items():
            count = len(getattr(sets[instance], kind))
            if count != 1:
                problems.append(
                    f"ARC set i={instance} has {'no' if count == 0 else count} {name} field"
                    + ("s" if count > 1 else "")
                )
        seal = sets[instance].only("seal")
        if seal is None:
            continue
        cv = _tags(seal.text).get("cv", "")
        expected = "none" if instance == 1 else "pass"
        if cv != expected and not (instance == newest and cv == "fail"):
            problems.append(
                f"ARC-Seal i={instance} has cv={cv or '(missing)'}; it must be cv={expected}"
            )
    return problems


async def _fetch_keys(resolver: Resolver, sets: dict[int, _ArcSet]) -> dict[tuple[str, str], _Key]:
    """Every key the seals and signatures name, looked up once each, concurrently."""
    wanted: set[tuple[str, str]] = set()
    for arc_set in sets.values():
        for field_ in (*arc_set.seal, *arc_set.signature):
            tags = _tags(field_.text)
            if tags.get("s") and tags.get("d"):
                wanted.add((tags["s"], tags["d"]))
    pairs = sorted(wanted)
    found = await asyncio.gather(*(_lookup_key(resolver, s, d) for s, d in pairs))
    return dict(zip(pairs, found, strict=True))


async def _lookup_key(resolver: Resolver, selector: str, domain: str) -> _Key:
    name = f"{selector}._domainkey.{domain}"
    answer = await resolver.query(name, "TXT")
    lookup = result_from_answer(selector, name, answer)
    if answer.failed:
        return _Key(name, problem=answer.describe(), failed=True)
    key = lookup.key
    if key is None:
        return _Key(name, problem="no key record there")
    if key.revoked:
        return _Key(name, problem="the key is revoked (empty p=)")
    if not key.valid or key.key_type not in ("rsa", "ed25519"):
        return _Key(name, problem="the key record is not a usable DKIM key")
    data = base64.b64decode(key.tag("p") or "", validate=False)
    return _Key(name, key_type=key.key_type, public_key=data)


def _check_ams(
    arc_set: _ArcSet, headers: list[RawField], body: bytes, keys: dict[tuple[str, str], _Key]
) -> tuple[bool | None, str | None]:
    """Verify one ARC-Message-Signature; None when it could not be checked."""
    field_ = arc_set.only("signature")
    if field_ is None:
        return None, None
    where = f"ARC-Message-Signature i={_tags(field_.text).get('i', '?')}"
    tags = _tags(field_.text, keep_case=True)
    missing = [t for t in ("a", "b", "bh", "d", "h", "s") if not tags.get(t)]
    if missing:
        return (
            False,
            f"{where} lacks the tag{'s' if len(missing) > 1 else ''} {', '.join(missing)}=",
        )
    try:
        header_canon, body_canon = parse_canon(tags.get("c"))
    except BadSignature as exc:
        return False, f"{where}: {exc}"
    if body_hash(body, body_canon) != re.sub(r"\s+", "", tags["bh"]):
        return (
            False,
            f"{where}: the body hash (bh=) does not match: "
            "the body changed after this hop signed it",
        )
    key = keys.get((tags["s"].lower(), tags["d"].lower()))
    if key is None or key.public_key is None or key.key_type is None:
        return _no_key(where, key)
    fields = select_fields(headers, tags["h"].split(":"))
    data = signed_data(
        fields, RawField(field_.name.encode("latin-1", "replace"), field_.raw), header_canon
    )
    try:
        verify(tags["a"], key.key_type, key.public_key, tags["b"], data)
    except BadSignature as exc:
        return (
            False,
            f"{where} (key {key.name}): {exc}: a header field it signs (h=) changed, "
            "or the key does not match",
        )
    return True, None


def _check_seal(
    instance: int, sets: dict[int, _ArcSet], keys: dict[tuple[str, str], _Key]
) -> tuple[bool | None, str | None]:
    """Verify the ARC-Seal of ``instance`` over sets 1..instance (RFC 8617 §5.1.1)."""
    seal = sets[instance].only("seal")
    if seal is None:
        return None, None
    where = f"ARC-Seal i={instance}"
    tags = _tags(seal.text, keep_case=True)
    missing = [t for t in ("a", "b", "cv", "d", "s") if not tags.get(t)]
    if missing:
        return (
            False,
            f"{where} lacks the tag{'s' if len(missing) > 1 else ''} {', '.join(missing)}=",
        )
    if "h" in tags:
        return False, f"{where} has an h= tag, which ARC-Seal must not carry (RFC 8617 §4.1.3)"
    covered: list[RawField] = []
    for number in range(1, instance + 1):
        arc_set = sets.get(number)
        parts = [arc_set.only(k) for k in ("results", "signature", "seal")] if arc_set else [None]
        if any(p is None for p in parts):
            return None, f"{where} cannot be checked: ARC set i={number} is incomplete"
        covered.extend(RawField(p.name.encode("latin-1", "replace"), p.raw) for p in parts if p)
    key = keys.get((tags["s"].lower(), tags["d"].lower()))
    if key is None or key.public_key is None or key.key_type is None:
        return _no_key(where, key)
    data = signed_data(covered[:-1], covered[-1], Canon.RELAXED)
    try:
        verify(tags["a"], key.key_type, key.public_key, tags["b"], data)
    except BadSignature as exc:
        return False, (
            f"{where} (key {key.name}): {exc}: an ARC field of sets 1-{instance} changed, "
            "or the key does not match"
        )
    return True, None


def _no_key(where: str, key: _Key | None) -> tuple[bool | None, str]:
    """No usable key: unknown when the lookup failed, invalid when there is none."""
    if key is None:
        return False, f"{where} names no key (s= and d=)"
    return (None if key.failed else False), f"{where}: key {key.describe}"


def _chain_verdict(
    hops: list[ArcHop], why: dict[int, tuple[str | None, str | None]], problems: list[str]
) -> tuple[ArcStatus, str]:
    """RFC 8617 §5.2: structure, newest cv, newest AMS, then every seal from the newest."""
    if problems:
        return ArcStatus.FAIL, problems[0]
    newest = hops[-1]
    if newest.cv == "fail":
        return ArcStatus.FAIL, (
            f"the newest sealer ({newest.seal_domain or '?'}, i={newest.instance}) recorded "
            "cv=fail: the chain it received did not validate"
        )
    if newest.signature_valid is not True:
        return (
            ArcStatus.FAIL,
            why[newest.instance][1] or f"ARC-Message-Signature i={newest.instance} does not verify",
        )
    for hop in reversed(hops):
        if hop.seal_valid is not True:
            return ArcStatus.FAIL, why[hop.instance][
                0
            ] or f"ARC-Seal i={hop.instance} does not verify"
    count = len(hops)
    return ArcStatus.PASS, f"the chain of {count} ARC set{'s' if count > 1 else ''} validates"


def _hop(instance: int, arc_set: _ArcSet) -> ArcHop:
    seal = _tags(arc_set.seal[0].text) if arc_set.seal else {}
    ams = _tags(arc_set.signature[0].text) if arc_set.signature else {}
    aar = arc_set.results[0].text if arc_set.results else None
    return ArcHop(
        instance=instance,
        seal_domain=seal.get("d"),
        seal_selector=seal.get("s"),
        cv=seal.get("cv", "").lower() or None,
        signature_domain=ams.get("d"),
        results=parse_authres(aar, arc=True) if aar is not None else None,
    )


def _with_validity(
    hop: ArcHop, seal: bool | None, signature: bool | None, reason: str | None
) -> ArcHop:
    return ArcHop(
        hop.instance,
        hop.seal_domain,
        hop.seal_selector,
        hop.cv,
        hop.signature_domain,
        hop.results,
        seal_valid=seal,
        signature_valid=signature,
        reason=reason,
    )
