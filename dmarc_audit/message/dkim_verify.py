"""Verify every DKIM-Signature of a message and say precisely why each one fails.

The signature's tags and the key record are checked here, in the order of RFC
6376 §6.1.1-6.1.2, so that each failure gets its own reason; the cryptography
(canonicalisation, body hash, signature) is dkimpy's, run in a worker thread with
our resolver as its DNS function. Where dkimpy is lenient, RFC 8301 and RFC 6376
win: ``rsa-sha1`` does not pass (§3.1), RSA keys under 1024 bits do not pass
(§3.2), and the key record's ``h=`` and ``t=s`` restrictions are enforced.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from dataclasses import dataclass, field
from enum import Enum
from functools import cache

from dmarc_audit.dkim.facts import SelectorResult, SelectorStatus, result_from_answer
from dmarc_audit.dns.bridge import SyncBridge
from dmarc_audit.dns.types import Resolver
from dmarc_audit.message.parse import HeaderField, Message
from dmarc_audit.records.dkim_key import DkimKey, KeyType, parse_tag_list

ALGORITHMS = {
    "rsa-sha256": ("rsa", "sha256"),
    "rsa-sha1": ("rsa", "sha1"),
    "ed25519-sha256": ("ed25519", "sha256"),
}
REQUIRED_TAGS = ("v", "a", "b", "bh", "d", "h", "s")
FUTURE_SLOP = 36000
"""Seconds a ``t=`` may lie in the future (clock skew), as dkimpy allows."""
_LDH_LABEL = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\Z")
_SELECTOR_LABEL = re.compile(r"[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?\Z")


class DkimResult(str, Enum):
    """The result of one signature, in Authentication-Results words (RFC 8601 §2.7.1)."""

    PASS = "pass"
    FAIL = "fail"
    POLICY = "policy"
    NEUTRAL = "neutral"
    PERMERROR = "permerror"
    TEMPERROR = "temperror"


class DkimReason(str, Enum):
    """Why a signature got its result (stable codes, shown in JSON)."""

    VERIFIED = "verified"
    BODY_HASH_MISMATCH = "body-hash-mismatch"
    SIGNATURE_MISMATCH = "signature-mismatch"
    KEY_NOT_FOUND = "key-not-found"
    KEY_LOOKUP_FAILED = "key-lookup-failed"
    KEY_REVOKED = "key-revoked"
    KEY_TOO_SHORT = "key-too-short"
    KEY_INVALID = "key-invalid"
    KEY_UNKNOWN_TYPE = "key-unknown-type"
    KEY_TYPE_MISMATCH = "key-type-mismatch"
    KEY_HASH_NOT_ALLOWED = "key-hash-not-allowed"
    KEY_NOT_FOR_EMAIL = "key-not-for-email"
    KEY_STRICT_IDENTITY = "key-strict-identity"
    SHA1 = "rsa-sha1"
    EXPIRED = "signature-expired"
    FUTURE_TIMESTAMP = "timestamp-in-future"
    FROM_NOT_SIGNED = "from-not-signed"
    SYNTAX = "syntax-error"

    @property
    def result(self) -> DkimResult:
        """The Authentication-Results word for this reason."""
        return _RESULTS.get(self, DkimResult.PERMERROR)


_RESULTS = {
    DkimReason.VERIFIED: DkimResult.PASS,
    DkimReason.BODY_HASH_MISMATCH: DkimResult.FAIL,
    DkimReason.SIGNATURE_MISMATCH: DkimResult.FAIL,
    DkimReason.KEY_LOOKUP_FAILED: DkimResult.TEMPERROR,
    DkimReason.KEY_TOO_SHORT: DkimResult.POLICY,
    DkimReason.SHA1: DkimResult.POLICY,
}


@dataclass(frozen=True, slots=True)
class VerifyOptions:
    """Verifier settings; the defaults are what RFC 8301 requires."""

    min_rsa_bits: int = 1024
    tlsrpt: bool | str = False
    """The message is a TLS report (RFC 8460): ``True``, or ``"strict"`` (dkimpy's values)."""
    allow_sha1: bool = False


@dataclass(frozen=True, slots=True)
class DkimSignature:
    """The tags of one DKIM-Signature field (None when absent)."""

    index: int
    """0 for the topmost DKIM-Signature field."""
    field: HeaderField
    tags: tuple[tuple[str, str], ...]
    domain: str | None
    selector: str | None
    algorithm: str | None
    canonicalization: str
    identity: str | None
    body_length: int | None
    signed_headers: tuple[str, ...]
    timestamp: int | None
    expires: int | None

    @property
    def b_prefix(self) -> str | None:
        """The first 8 characters of ``b=`` (``header.b``, RFC 6008)."""
        value = dict(self.tags).get("b")
        return re.sub(r"\s+", "", value)[:8] if value else None

    def describe(self) -> str:
        return f"d={self.domain or '?'} s={self.selector or '?'} a={self.algorithm or '?'}"


@dataclass(frozen=True, slots=True)
class DkimVerification:
    """One signature's outcome: the result, the precise reason, and the key used."""

    signature: DkimSignature
    reason: DkimReason
    detail: str
    key_name: str | None = None
    lookup: SelectorResult | None = None
    crypto_valid: bool | None = None
    """dkimpy's answer when the cryptography was checked (True even for rsa-sha1)."""
    warnings: tuple[str, ...] = field(default=())
    """Catalog ids worth reporting even when the signature passes (``dkim.body-length-tag``)."""

    @property
    def result(self) -> DkimResult:
        return self.reason.result

    @property
    def passed(self) -> bool:
        return self.reason is DkimReason.VERIFIED

    @property
    def domain(self) -> str | None:
        return self.signature.domain

    @property
    def key(self) -> DkimKey | None:
        return self.lookup.key if self.lookup is not None else None


class _Fail(Exception):
    def __init__(self, reason: DkimReason, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


def read_signature(index: int, field_: HeaderField) -> tuple[DkimSignature, str | None]:
    """Parse one DKIM-Signature value; the second item is a syntax problem, if any."""
    text = field_.raw.decode("latin-1")
    try:
        tags = parse_tag_list(text)
    except ValueError as exc:
        return _empty(index, field_), f"tag-list syntax error: {exc}"
    values = dict(tags)
    problem = None
    body_length = timestamp = expires = None
    try:
        body_length = _number(values, "l")
        timestamp = _number(values, "t")
        expires = _number(values, "x")
    except ValueError as exc:
        problem = str(exc)
    domain = values.get("d")
    signature = DkimSignature(
        index=index,
        field=field_,
        tags=tags,
        domain=domain.strip().lower().rstrip(".") if domain else None,
        selector=values.get("s", "").strip().lower() or None,
        algorithm=values.get("a", "").strip().lower() or None,
        canonicalization=values.get("c", "simple/simple").strip(),
        identity=re.sub(r"\s+", "", values["i"]) if "i" in values else None,
        body_length=body_length,
        signed_headers=tuple(
            h.strip().lower()
            for h in re.split(r"\s*:\s*", values.get("h", "").strip())
            if h.strip()
        ),
        timestamp=timestamp,
        expires=expires,
    )
    return signature, problem


def _empty(index: int, field_: HeaderField) -> DkimSignature:
    return DkimSignature(
        index, field_, (), None, None, None, "simple/simple", None, None, (), None, None
    )


def _number(values: dict[str, str], tag: str) -> int | None:
    if tag not in values:
        return None
    text = re.sub(r"\s+", "", values[tag])
    if not text.isdigit():
        raise ValueError(f"{tag}={values[tag]} is not a decimal number")
    return int(text)


async def verify_all(
    resolver: Resolver, message: Message, options: VerifyOptions | None = None
) -> tuple[DkimVerification, ...]:
    """Verify every DKIM-Signature, topmost first."""
    options = options or VerifyOptions()
    fields = message.all("dkim-signature")
    return tuple(
        [await verify_signature(resolver, message, index, options) for index in range(len(fields))]
    )


async def verify_signature(
    resolver: Resolver, message: Message, index: int, options: VerifyOptions | None = None
) -> DkimVerification:
    """Verify the ``index``-th DKIM-Signature (0 = topmost)."""
    options = options or VerifyOptions()
    signature, problem = read_signature(index, message.all("dkim-signature")[index])
    warnings = ("dkim.body-length-tag",) if signature.body_length is not None else ()
    try:
        _check_tags(signature, problem)
        key_name = f"{signature.selector}._domainkey.{signature.domain}"
    except _Fail as fail:
        return DkimVerification(signature, fail.reason, fail.detail, warnings=warnings)
    answer = await resolver.query(key_name, "TXT")
    lookup = result_from_answer(signature.selector or "", key_name, answer)

    def verification(
        reason: DkimReason, detail: str, crypto_valid: bool | None = None
    ) -> DkimVerification:
        return DkimVerification(
            signature, reason, detail, key_name, lookup, crypto_valid, warnings=warnings
        )

    try:
        key = _check_key(signature, lookup, options)
    except _Fail as fail:
        return verification(fail.reason, fail.detail)
    loop = asyncio.get_running_loop()
    valid, reason, detail = await asyncio.to_thread(
        _crypto, message.raw, index, SyncBridge(resolver, loop), options
    )
    if (
        reason is DkimReason.VERIFIED
        and signature.algorithm == "rsa-sha1"
        and not options.allow_sha1
    ):
        reason = DkimReason.SHA1
        detail = (
            "the signature is cryptographically valid, but a=rsa-sha1 must not be "
            "accepted (RFC 8301 §3.1)"
        )
    elif reason is DkimReason.VERIFIED:
        bits = f"{key.key_bits}-bit " if key.key_bits else ""
        detail = f"signature verified with the {bits}{key.key_type} key at {key_name}"
    return verification(reason, detail, crypto_valid=valid)


def _check_tags(sig: DkimSignature, problem: str | None) -> None:
    """RFC 6376 §6.1.1: the signature's own tags, before any key lookup."""
    if problem:
        raise _Fail(DkimReason.SYNTAX, problem)
    values = dict(sig.tags)
    missing = [tag for tag in REQUIRED_TAGS if tag not in values]
    if missing:
        raise _Fail(
            DkimReason.SYNTAX,
            f"required tag{'s' if len(missing) > 1 else ''} "
            f"{', '.join(t + '=' for t in missing)} missing (RFC 6376 §6.1.1)",
        )
    if values["v"].strip() != "1":
        raise _Fail(DkimReason.SYNTAX, f"v={values['v'].strip()} is not 1")
    if sig.algorithm not in ALGORITHMS:
        raise _Fail(
            DkimReason.SYNTAX,
            f"a={sig.algorithm}: unsupported algorithm (rsa-sha256, ed25519-sha256)",
        )
    domain = sig.domain or ""
    labels = domain.split(".")
    if len(labels) < 2 or not all(_LDH_LABEL.match(label) for label in labels):
        raise _Fail(DkimReason.SYNTAX, f"d={values['d'].strip()} is not a valid domain name")
    selector = sig.selector or ""
    if not all(_SELECTOR_LABEL.match(label) for label in selector.split(".")):
        raise _Fail(DkimReason.SYNTAX, f"s={values['s'].strip()} is not a valid selector")
    if sig.identity is not None:
        i_domain = sig.identity.rpartition("@")[2].lower().rstrip(".")
        if "@" not in sig.identity or not (i_domain == domain or i_domain.endswith("." + domain)):
            raise _Fail(
                DkimReason.SYNTAX,
                f"i={sig.identity} is not in d={domain} or one of its subdomains (RFC 6376 §3.5)",
            )
    if "from" not in sig.signed_headers:
        raise _Fail(
            DkimReason.FROM_NOT_SIGNED,
            "h= does not list From; the signature must "
            "cover the From header field (RFC 6376 §5.4, §6.1.1)",
        )
    now = int(time.time())
    if sig.expires is not None:
        if sig.timestamp is not None and sig.expires < sig.timestamp:
            raise _Fail(DkimReason.SYNTAX, f"x={sig.expires} is before t={sig.timestamp}")
        if sig.expires < now:
            raise _Fail(
                DkimReason.EXPIRED,
                f"the signature expired at {_utc(sig.expires)} "
                f"(x={sig.expires}); verifiers ignore it (RFC 6376 §3.5)",
            )
    if sig.timestamp is not None and sig.timestamp > now + FUTURE_SLOP:
        raise _Fail(
            DkimReason.FUTURE_TIMESTAMP,
            f"t={sig.timestamp} ({_utc(sig.timestamp)}) lies in the future",
        )


def _utc(seconds: int) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(min(seconds, 253402300799)))


def _check_key(sig: DkimSignature, lookup: SelectorResult, options: VerifyOptions) -> DkimKey:
    """RFC 6376 §6.1.2: find the key and check it may verify this signature."""
    name = lookup.name
    if lookup.status is SelectorStatus.UNKNOWN:
        raise _Fail(
            DkimReason.KEY_LOOKUP_FAILED,
            f"the key lookup {name} TXT failed "
            f"({lookup.outcome.value}{': ' + lookup.detail if lookup.detail else ''})",
        )
    if lookup.status is SelectorStatus.DANGLING_CNAME:
        chain = " → ".join(lookup.cname_chain)
        raise _Fail(
            DkimReason.KEY_NOT_FOUND, f"no key: {chain} is a CNAME to a name that does not exist"
        )
    key = lookup.key
    if lookup.status is SelectorStatus.MISSING or key is None:
        raise _Fail(
            DkimReason.KEY_NOT_FOUND, f"no key record at {name} ({lookup.outcome.value.upper()})"
        )
    if not key.valid:
        raise _Fail(
            DkimReason.KEY_INVALID,
            f"the key record at {name} is invalid: {_problem(key, 'dkim.key-invalid')}",
        )
    if key.revoked:
        raise _Fail(DkimReason.KEY_REVOKED, f"the key at {name} is revoked (empty p=)")
    if key.problem("dkim.unknown-key-type") is not None:
        raise _Fail(DkimReason.KEY_UNKNOWN_TYPE, _problem(key, "dkim.unknown-key-type"))
    if key.problem("dkim.key-invalid") is not None:
        raise _Fail(
            DkimReason.KEY_INVALID,
            f"the key record at {name} is invalid: {_problem(key, 'dkim.key-invalid')}",
        )
    key_type, hash_name = ALGORITHMS[sig.algorithm or ""]
    if key.key_type != key_type:
        raise _Fail(
            DkimReason.KEY_TYPE_MISMATCH,
            f"a={sig.algorithm} needs a {key_type} key, "
            f"but {name} holds a {key.key_type} key (RFC 6376 §6.1.2)",
        )
    _check_services(key, name, options)
    if key.hash_algorithms is not None and hash_name not in key.hash_algorithms:
        raise _Fail(
            DkimReason.KEY_HASH_NOT_ALLOWED,
            f"the key's h={':'.join(key.hash_algorithms)}"
            f" does not allow {hash_name}, which a={sig.algorithm} uses "
            "(RFC 6376 §6.1.2 step 6)",
        )
    if key.strict_identity and sig.identity is not None:
        i_domain = sig.identity.rpartition("@")[2].lower().rstrip(".")
        if i_domain != sig.domain:
            raise _Fail(
                DkimReason.KEY_STRICT_IDENTITY,
                f"the key has t=s, so i= must use "
                f"exactly d={sig.domain}, not {i_domain} (RFC 6376 §3.6.1)",
            )
    if key.kind is KeyType.RSA and key.key_bits is not None and key.key_bits < options.min_rsa_bits:
        raise _Fail(
            DkimReason.KEY_TOO_SHORT,
            f"the {key.key_bits}-bit RSA key at {name} is "
            f"shorter than {options.min_rsa_bits} bits; verifiers must not accept it "
            "(RFC 8301 §3.2)",
        )
    return key


def _check_services(key: DkimKey, name: str, options: VerifyOptions) -> None:
    if key.services is None or {"email", "*"} & set(key.services):
        return
    if options.tlsrpt and "tlsrpt" in key.services:
        return
    raise _Fail(
        DkimReason.KEY_NOT_FOR_EMAIL,
        f"the key at {name} has s={':'.join(key.services)}: it may not verify e-mail signatures",
    )


def _problem(key: DkimKey, check_id: str) -> str:
    found = key.problem(check_id)
    return found.message if found is not None else check_id


def _crypto(
    raw: bytes, index: int, bridge: SyncBridge, options: VerifyOptions
) -> tuple[bool | None, DkimReason, str]:
    """dkimpy's verification (canonicalisation, body hash, signature); runs in a thread."""
    import dkim

    verifier = None
    try:
        verifier = dkim.DKIM(
            raw, logger=quiet_logger(), minkey=options.min_rsa_bits, tlsrpt=options.tlsrpt
        )
        valid = verifier.verify(index, dnsfunc=key_text_function(bridge))
    except dkim.DKIMException as exc:
        text = str(exc)
        if "body hash mismatch" in text:
            return (
                False,
                DkimReason.BODY_HASH_MISMATCH,
                (
                    "body hash mismatch: the body was changed after signing "
                    f"(the signature's bh= does not match the body{_l_note(verifier)})"
                ),
            )
        if isinstance(exc, dkim.KeyFormatError):
            return None, DkimReason.KEY_INVALID, f"the key cannot be used: {text}"
        return None, DkimReason.SYNTAX, f"the verifier rejected the signature: {text}"
    if valid:
        return True, DkimReason.VERIFIED, "signature verified"
    return (
        False,
        DkimReason.SIGNATURE_MISMATCH,
        (
            "signature mismatch: the body hash matches, but b= does not verify over the signed "
            "header fields (a signed header was changed or added, or the key does not match)"
        ),
    )


@cache
def quiet_logger() -> logging.Logger:
    """A logger for dkimpy that goes nowhere: its errors become our reasons, not stderr."""
    logger = logging.getLogger("dmarc_audit.dkimpy")
    logger.addHandler(logging.NullHandler())
    logger.propagate = False
    return logger


def _l_note(verifier) -> str:
    fields = getattr(verifier, "signature_fields", None) or {}
    return "" if b"l" not in fields else " even within the l= length"


def key_text_function(bridge: SyncBridge):
    """A dkimpy ``dnsfunc``: the TXT key record at a name, through our resolver, or None."""

    def dnsfunc(name, timeout: float = 5) -> bytes | None:
        text = name.decode("ascii", "replace") if isinstance(name, bytes) else str(name)
        text = text.rstrip(".")
        answer = bridge.query(text, "TXT")
        lookup = result_from_answer(text.split("._domainkey.", 1)[0], text, answer)
        if lookup.key is None:
            return None
        return lookup.key.text.encode("latin-1", "replace")

    return dnsfunc
