"""DKIM rules: selector lookups and parsed key records in, findings out.

One small function per check id. Key rules read the problems the parser found
(:mod:`dmarc_audit.records.dkim_key` decides *whether*; a rule decides the
message, severity and fix); selector and posture rules look at the lookups.
A selector's findings have its DNS name as subject and carry the raw record; the
domain-wide ones (dkim.no-key-found, dkim.ed25519-only) have the domain.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable, Sequence

from dmarc_audit.catalog import CATALOG, finding, rule
from dmarc_audit.dkim.facts import DkimFacts, DkimPosture, SelectorResult, SelectorStatus
from dmarc_audit.findings import Finding, Severity, Status
from dmarc_audit.records.dkim_key import (
    DkimKey,
    KeyFormat,
    KeyProblem,
    KeyType,
    parse_dkim_key,
)
from dmarc_audit.words import plural

KeyRule = Callable[[SelectorResult], Finding | None]


# --- helpers ---------------------------------------------------------------------------


def _problem(result: SelectorResult, check_id: str) -> tuple[DkimKey, KeyProblem] | None:
    key = result.key
    if result.status is not SelectorStatus.FOUND or key is None:
        return None
    problem = key.problem(check_id)
    return (key, problem) if problem else None


def _key_finding(
    result: SelectorResult,
    key: DkimKey,
    problem: KeyProblem,
    *,
    severity: Severity | None = None,
    remediation: str | None = None,
    suggested: str | None = None,
) -> Finding:
    facts = ", ".join(
        filter(
            None, (key.key_type, f"{key.key_bits} bits" if key.key_bits else None, key.key_format)
        )
    )
    evidence = [f"TXT {result.name}" + (f": {facts}" if facts else "")]
    if result.cnames:
        evidence.append("CNAME chain: " + " → ".join(result.cname_chain))
    return finding(
        problem.check_id,
        result.name,
        f"selector {result.selector}: {problem.message}",
        severity=severity,
        record=key.text,
        remediation=remediation,
        suggested_record=suggested,
        evidence=evidence,
    )


def render_tags(tags: Sequence[tuple[str, str]]) -> str:
    """Write a tag-list back in canonical form: ``v=DKIM1; k=rsa; p=…``."""
    return "; ".join(
        f"{name}={''.join(value.split()) if name == 'p' else value}" for name, value in tags
    )


def _replace(
    tags: Sequence[tuple[str, str]],
    name: str,
    value: str | None,
) -> list[tuple[str, str]]:
    """``tags`` with ``name`` set to ``value``: dropped when None, added before p= when new."""
    if value is None:
        return [(n, v) for n, v in tags if n != name]
    if any(n == name for n, _ in tags):
        return [(n, value if n == name else v) for n, v in tags]
    out = list(tags)
    at = next((i for i, (n, _) in enumerate(out) if n == "p"), len(out))
    out.insert(at, (name, value))
    return out


def _if_clean(candidate: str, *fixed: str) -> str | None:
    """``candidate`` when it parses as a valid key without the ids being fixed."""
    key = parse_dkim_key(candidate)
    if key.valid and key.key_type and not set(fixed) & set(key.warnings):
        return candidate
    return None


# --- key rules (one per id the parser raises) ------------------------------------------


@rule("dkim.key-invalid")
def key_invalid(result: SelectorResult) -> Finding | None:
    """dkim.key-invalid: the key record cannot be used (tag-list, v=, p= or h= errors).

    Suggests a repaired record when a mechanical fix yields a valid key: ``v=`` moved
    first or set to ``DKIM1``, ``h=`` dropped, ``k=`` matching the key data, PEM lines
    or stray quotes removed from ``p=``, a DER-wrapped Ed25519 key unwrapped.
    """
    found = _problem(result, "dkim.key-invalid")
    if found is None:
        return None
    key, problem = found
    return _key_finding(result, key, problem, suggested=_repair(key, problem))


@rule("dkim.key-invalid")
def _repair(key: DkimKey, problem: KeyProblem) -> str | None:
    """A record with the problem's tag mechanically fixed, if that gives a valid key."""
    tags = list(key.tags)
    candidates: list[list[tuple[str, str]]] = []
    if problem.tag == "v" and tags:
        candidates.append([("v", "DKIM1"), *((n, v) for n, v in tags if n != "v")])
    elif problem.tag == "h":
        candidates.append(_replace(tags, "h", None))
    elif problem.tag == "p" and key.tag("p") is not None:
        cleaned = _strip_pem(key.tag("p") or "")
        if cleaned != key.tag("p"):
            candidates.append(_replace(tags, "p", cleaned))
        raw = raw_ed25519(key.tag("p") or "")
        if raw:
            candidates.append(_replace(_replace(tags, "k", "ed25519"), "p", raw))
        candidates.extend(_replace(tags, "k", k) for k in _KEY_TYPES)
    for tag_list in candidates:
        suggestion = _if_clean(render_tags(tag_list), "dkim.key-invalid")
        if suggestion:
            return suggestion
    return None


_KEY_TYPES = (KeyType.RSA.value, KeyType.ED25519.value)
_PEM_LINE = re.compile(r"-----(?:BEGIN|END)[A-Z ]*-----")


def _strip_pem(value: str) -> str:
    """``p=`` without PEM armour lines, quotes and whitespace."""
    return "".join(_PEM_LINE.sub("", value).replace('"', "").split())


@rule("dkim.key-invalid", "dkim.unknown-key-type")
def unknown_key_type(result: SelectorResult) -> Finding | None:
    """dkim.unknown-key-type: ``k=`` is not ``rsa`` or ``ed25519``; verifiers ignore the key.

    Suggests the ``k=`` value that matches the key data (``k=RSA`` → ``k=rsa``).
    """
    found = _problem(result, "dkim.unknown-key-type")
    if found is None:
        return None
    key, problem = found
    suggestion = None
    for k in _KEY_TYPES:
        suggestion = _if_clean(
            render_tags(_replace(key.tags, "k", k)), "dkim.unknown-key-type", "dkim.key-invalid"
        )
        if suggestion:
            break
    return _key_finding(result, key, problem, suggested=suggestion)


@rule("dkim.key-revoked")
def key_revoked(result: SelectorResult) -> Finding | None:
    """dkim.key-revoked: empty ``p=``; mail signed with this selector fails DKIM."""
    found = _problem(result, "dkim.key-revoked")
    if found is None:
        return None
    key, problem = found
    return _key_finding(result, key, problem)


@rule("dkim.rsa-too-short")
def rsa_too_short(result: SelectorResult) -> Finding | None:
    """dkim.rsa-too-short: RSA key under 1024 bits; receivers reject its signatures."""
    found = _problem(result, "dkim.rsa-too-short")
    if found is None:
        return None
    key, problem = found
    return _key_finding(result, key, problem, remediation=_ROTATE)


@rule("dkim.rsa-1024")
def rsa_1024(result: SelectorResult) -> Finding | None:
    """dkim.rsa-1024: RSA key of 1024–2047 bits; works, but 2048 is recommended."""
    found = _problem(result, "dkim.rsa-1024")
    if found is None:
        return None
    key, problem = found
    return _key_finding(result, key, problem, remediation=_ROTATE)


_ROTATE = (
    "Generate a 2048-bit key under a new selector, publish it (split the TXT value "
    "into strings of at most 255 characters), switch the signer, then revoke the old "
    "selector with an empty p="
)


@rule("dkim.sha1")
def sha1(result: SelectorResult) -> Finding | None:
    """dkim.sha1: ``h=`` allows only sha1 (error) or sha1 besides sha256 (warning)."""
    found = _problem(result, "dkim.sha1")
    if found is None:
        return None
    key, problem = found
    hashes = key.hash_algorithms or ()
    if "sha256" in hashes:
        kept = [h for h in hashes if h != "sha1"]
        return _key_finding(
            result,
            key,
            problem,
            severity=Severity.WARNING,
            suggested=render_tags(_replace(key.tags, "h", ":".join(kept))),
        )
    return _key_finding(
        result,
        key,
        problem,
        severity=Severity.ERROR,
        suggested=render_tags(_replace(key.tags, "h", None)),
    )


@rule("dkim.service-not-email")
def service_not_email(result: SelectorResult) -> Finding | None:
    """dkim.service-not-email: ``s=`` excludes e-mail (e.g. ``s=tlsrpt``); mail fails DKIM."""
    found = _problem(result, "dkim.service-not-email")
    if found is None:
        return None
    key, problem = found
    return _key_finding(result, key, problem, suggested=render_tags(_replace(key.tags, "s", None)))


@rule("dkim.testing-mode")
def testing_mode(result: SelectorResult) -> Finding | None:
    """dkim.testing-mode: ``t=y``; receivers treat signed mail like unsigned mail."""
    found = _problem(result, "dkim.testing-mode")
    if found is None:
        return None
    key, problem = found
    flags = [f for f in key.flags if f != "y"]
    tags = _replace(key.tags, "t", ":".join(flags) if flags else None)
    return _key_finding(result, key, problem, suggested=render_tags(tags))


@rule("dkim.pkcs1-key-format")
def pkcs1_key_format(result: SelectorResult) -> Finding | None:
    """dkim.pkcs1-key-format: bare PKCS#1 RSA key; suggests the same key as SPKI."""
    found = _problem(result, "dkim.pkcs1-key-format")
    if found is None:
        return None
    key, problem = found
    suggested = None
    if key.key_format == KeyFormat.PKCS1.value:
        spki = to_spki(key.tag("p") or "")
        suggested = render_tags(_replace(key.tags, "p", spki)) if spki else None
    return _key_finding(result, key, problem, suggested=suggested)


def _load_der(p_value: str) -> object | None:
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives.serialization import load_der_public_key

    try:
        return load_der_public_key(base64.b64decode("".join(p_value.split()), validate=True))
    except (ValueError, TypeError, UnsupportedAlgorithm):
        return None


def to_spki(p_value: str) -> str | None:
    """Base64 SubjectPublicKeyInfo for a base64 RSA key in either form; None if unparsable."""
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    public = _load_der(p_value)
    if not isinstance(public, RSAPublicKey):
        return None
    der = public.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(der).decode("ascii")


def raw_ed25519(p_value: str) -> str | None:
    """The raw 32-byte key (base64) inside a DER-wrapped Ed25519 ``p=``; else None."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    public = _load_der(p_value)
    if not isinstance(public, Ed25519PublicKey):
        return None
    return base64.b64encode(public.public_bytes(Encoding.Raw, PublicFormat.Raw)).decode("ascii")


KEY_RULES: dict[str, KeyRule] = {
    "dkim.key-invalid": key_invalid,
    "dkim.unknown-key-type": unknown_key_type,
    "dkim.key-revoked": key_revoked,
    "dkim.rsa-too-short": rsa_too_short,
    "dkim.rsa-1024": rsa_1024,
    "dkim.sha1": sha1,
    "dkim.service-not-email": service_not_email,
    "dkim.testing-mode": testing_mode,
    "dkim.pkcs1-key-format": pkcs1_key_format,
}
"""Every id :func:`~dmarc_audit.records.dkim_key.parse_dkim_key` can raise → its rule."""


# --- selector rules --------------------------------------------------------------------


@rule("dkim.key-invalid")
def multiple_records(result: SelectorResult) -> Finding | None:
    """dkim.key-invalid: several different TXT records at one selector name.

    RFC 6376 §3.6.2.2 leaves the result undefined; receivers pick one, so signatures
    verify only some of the time. Suggests the one usable key when there is one.
    """
    distinct = tuple(dict.fromkeys(result.records))
    if result.status is not SelectorStatus.FOUND or len(distinct) < 2:
        return None
    usable = [text for text in distinct if parse_dkim_key(text).usable_for_email]
    return finding(
        "dkim.key-invalid",
        result.name,
        f"selector {result.selector}: {len(distinct)} different TXT records at the selector "
        "name; receivers pick one, so verification is unreliable (RFC 6376 §3.6.2.2)",
        record=" | ".join(distinct),
        remediation="Keep exactly one TXT record (the current key) at the selector name; "
        "move other TXT records elsewhere",
        suggested_record=usable[0] if len(usable) == 1 else None,
        evidence=[f"TXT {result.name} #{i}: {text}" for i, text in enumerate(distinct, 1)],
    )


@rule("dns.lookup-failed")
def lookup_failed(result: SelectorResult) -> Finding | None:
    """dns.lookup-failed: the selector's TXT lookup failed; its key is unknown, not missing."""
    if result.status is not SelectorStatus.UNKNOWN:
        return None
    why = result.outcome.value + (f" ({result.detail})" if result.detail else "")
    return finding(
        "dns.lookup-failed",
        result.name,
        f"selector {result.selector}: TXT lookup failed ({why}); whether a key exists is unknown",
        status=Status.UNKNOWN,
        evidence=[f"TXT {result.name}: {why}"],
    )


@rule("dns.dangling-cname")
def dangling_cname(result: SelectorResult) -> Finding | None:
    """dns.dangling-cname: the selector name is a CNAME whose target does not exist."""
    if result.status is not SelectorStatus.DANGLING_CNAME:
        return None
    target = result.cnames[-1][1]
    return finding(
        "dns.dangling-cname",
        result.name,
        f"selector {result.selector}: CNAME to {target}, which does not exist (NXDOMAIN); "
        "signatures with this selector fail and the target name could be taken over",
        record=f"{result.name} CNAME {result.cnames[0][1]}",
        evidence=["CNAME chain: " + " → ".join(result.cname_chain), f"{target}: NXDOMAIN"],
    )


@rule("dkim.selector-missing")
def selector_missing(result: SelectorResult, explicit: bool) -> Finding | None:
    """dkim.selector-missing: a selector the user named has no key record at all."""
    if not explicit or result.status is not SelectorStatus.MISSING:
        return None
    return finding(
        "dkim.selector-missing",
        result.name,
        f"selector {result.selector}: no key record at {result.name} "
        f"({result.outcome.value.upper()}); mail signed with s={result.selector} fails DKIM",
        evidence=[
            f"TXT {result.name}: {result.outcome.value}",
            *(["CNAME chain: " + " → ".join(result.cname_chain)] if result.cnames else []),
        ],
    )


SELECTOR_RULES: tuple[KeyRule, ...] = (lookup_failed, dangling_cname, multiple_records)


# --- posture rules (all selectors together) --------------------------------------------


@rule("dkim.no-key-found")
def no_key_found(domain: str, results: Sequence[SelectorResult], explicit: bool) -> Finding | None:
    """dkim.no-key-found: probing found no key record at any of the selectors tried.

    Only when probing (explicit selectors get dkim.selector-missing instead). Absence
    is not proof: selectors cannot be listed from DNS. ``unknown`` when some lookups
    failed; nothing when all did (each has its dns.lookup-failed finding).
    """
    if explicit or not results:
        return None
    if any(r.status is SelectorStatus.FOUND for r in results):
        return None
    failed = [r.selector for r in results if r.status is SelectorStatus.UNKNOWN]
    if len(failed) == len(results):
        return None
    tried = ", ".join(r.selector for r in results)
    scope = (
        f"the {len(results) - len(failed)} of {len(results)} common selectors that "
        f"answered ({plural(len(failed), 'lookup')} failed: {', '.join(failed)})"
        if failed
        else f"any of the {len(results)} common selectors tried"
    )
    message = (
        f"no DKIM key at {scope}. Selectors cannot be listed from DNS, "
        "so this does not prove the domain does not sign: pass the s= selector from a "
        "signed message"
    )
    return finding(
        "dkim.no-key-found",
        domain,
        message,
        status=Status.UNKNOWN if failed else Status.FAIL,
        remediation="Run again with the selector from the s= tag of a DKIM-Signature header, "
        "or publish a key at <selector>._domainkey." + domain,
        evidence=[f"selectors tried: {tried}"],
    )


@rule("dkim.ed25519-only")
def ed25519_only(domain: str, results: Sequence[SelectorResult]) -> Finding | None:
    """dkim.ed25519-only: every usable key found is Ed25519 (no RSA key found beside it).

    Receivers without RFC 8463 support see no valid signature. ``unknown`` when some
    lookups failed, since the missing RSA key may sit behind one of them.
    """
    usable = [(r, r.key) for r in results if r.key is not None and r.key.usable_for_email]
    if not usable or any(key.kind is not KeyType.ED25519 for _, key in usable):
        return None
    failed = any(r.status is SelectorStatus.UNKNOWN for r in results)
    names = ", ".join(r.selector for r, _ in usable)
    return finding(
        "dkim.ed25519-only",
        domain,
        f"every usable key found is Ed25519 ({names}); receivers that do not support "
        "RFC 8463 see no valid signature unless mail is also signed with RSA",
        status=Status.UNKNOWN if failed else Status.FAIL,
        evidence=[f"{r.name}: ed25519" for r, _ in usable],
    )


@rule(
    "dkim.key-invalid",
    "dkim.key-revoked",
    "dkim.pkcs1-key-format",
    "dkim.rsa-1024",
    "dkim.rsa-too-short",
    "dkim.service-not-email",
    "dkim.sha1",
    "dkim.testing-mode",
    "dkim.unknown-key-type",
)
def evaluate(
    domain: str, results: Sequence[SelectorResult], *, explicit: bool, bulk_sender: bool = False
) -> tuple[Finding, ...]:
    """All DKIM findings for one domain's selector lookups, in selector order.

    With ``bulk_sender`` severities are raised to the catalog's bulk-sender level.
    """
    found: list[Finding | None] = []
    for result in results:
        found.extend(rule(result) for rule in SELECTOR_RULES)
        found.append(selector_missing(result, explicit))
        found.extend(rule(result) for rule in KEY_RULES.values())
    found.append(no_key_found(domain, results, explicit))
    found.append(ed25519_only(domain, results))
    findings = [f for f in found if f is not None]
    if bulk_sender:
        findings = [_bulk(f) for f in findings]
    return tuple(findings)


def judge(facts: DkimFacts, *, bulk_sender: bool = False) -> DkimPosture:
    """The DKIM section of a report: the lookups of ``facts`` and their findings.

    Explicit selectors: a missing one is ``dkim.selector-missing``. Probing: finding
    nothing is ``dkim.no-key-found`` (info; warning with ``bulk_sender``).
    """
    findings = evaluate(
        facts.domain, facts.results, explicit=facts.explicit, bulk_sender=bulk_sender
    )
    return DkimPosture(facts.domain, facts.selectors_tried, facts.explicit, facts.results, findings)


def _bulk(f: Finding) -> Finding:
    raised = CATALOG[f.id].bulk_severity
    return f.with_severity(raised) if raised and raised.rank > f.severity.rank else f
