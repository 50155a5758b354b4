"""DKIM key record parser (RFC 6376 §3.2, §3.6.1; RFC 8301; RFC 8463).

``parse_dkim_key`` turns the TXT text at ``<selector>._domainkey.<domain>`` into a
:class:`DkimKey`. It never raises on record content: every problem becomes a
:class:`KeyProblem` carrying a catalog id, and the tags that did parse are kept.

Outcomes, in the order they are decided:

* tag-list syntax, ``v=`` and ``p=`` presence → ``dkim.key-invalid`` (``valid`` false);
* empty ``p=`` → ``dkim.key-revoked``; ``k=`` not ``rsa``/``ed25519`` →
  ``dkim.unknown-key-type`` (both: ``valid`` true, unusable, nothing else reported);
* ``p=`` not base64, or not a key of type ``k=`` → ``dkim.key-invalid``;
* a valid key then gets its posture ids: ``dkim.service-not-email``, ``dkim.sha1``,
  ``dkim.testing-mode``, ``dkim.rsa-too-short``, ``dkim.rsa-1024``,
  ``dkim.pkcs1-key-format``.

``key_type`` is only set for a valid record whose ``k=`` is known.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from enum import Enum

from dmarc_audit.records.taglist import FWS, TagListIssue, TagListProblem, split_tags

_WSP = FWS
_EMPTY_SPEC = "empty tag-spec (';;' or an empty record)"
_TAG_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
_TVAL_OR_WSP = re.compile(r"[\x21-\x3a\x3c-\x7e \t\r\n]*")
_ANY_WSP = re.compile(r"[ \t\r\n]+")

RSA_MIN_BITS = 1024
"""RFC 8301 §3.2: verifiers MUST NOT consider shorter RSA keys valid."""
RSA_RECOMMENDED_BITS = 2048
"""RFC 8301 §3.2: signers SHOULD use at least this many bits."""
ED25519_KEY_BYTES = 32


class KeyType(str, Enum):
    """The ``k=`` key types a verifier knows (RFC 6376 §3.6.1, RFC 8463 §4)."""

    RSA = "rsa"
    ED25519 = "ed25519"
    UNKNOWN = "unknown"


class KeyFormat(str, Enum):
    """How the public key bytes in ``p=`` are encoded."""

    SPKI = "spki"
    """RSA SubjectPublicKeyInfo (what RFC 6376 App. C produces; universally accepted)."""
    PKCS1 = "pkcs1"
    """Bare RSA ``RSAPublicKey`` (RFC 6376 §3.6.1 wording; Errata 3017; poor interop)."""
    RAW_ED25519 = "raw-ed25519"
    """The 32-byte Ed25519 public key (RFC 8463 §4)."""


@dataclass(frozen=True, slots=True)
class KeyProblem:
    """Something an auditor reports about a key: a catalog id and why, naming the tag."""

    check_id: str
    message: str
    tag: str | None = None


@dataclass(frozen=True, slots=True)
class DkimKey:
    """A parsed DKIM key record; ``text`` is the record exactly as given."""

    text: str
    valid: bool
    """The record is syntactically acceptable (revoked and unknown-type keys count)."""
    usable_for_email: bool
    """A verifier may use it to check an ordinary e-mail signature."""
    key_type: str | None
    key_bits: int | None
    version: str | None
    hash_algorithms: tuple[str, ...] | None
    services: tuple[str, ...] | None
    flags: tuple[str, ...]
    notes: str | None
    revoked: bool
    key_format: str | None
    problems: tuple[KeyProblem, ...]
    warnings: tuple[str, ...]
    """Catalog ids raised for this record, in order, without duplicates."""
    tags: tuple[tuple[str, str], ...] = ()
    """The tag-list as parsed (name, value), in record order; empty on a tag-list error."""

    @property
    def kind(self) -> KeyType:
        """``key_type`` as a :class:`KeyType` (``UNKNOWN`` when not determined)."""
        return KeyType(self.key_type) if self.key_type else KeyType.UNKNOWN

    @property
    def testing(self) -> bool:
        """``t=y``: the domain is testing DKIM."""
        return "y" in self.flags

    @property
    def strict_identity(self) -> bool:
        """``t=s``: ``i=`` must use exactly the ``d=`` domain, no subdomain."""
        return "s" in self.flags

    def tag(self, name: str) -> str | None:
        """The value of tag ``name`` (case-sensitive), or None."""
        for tag_name, value in self.tags:
            if tag_name == name:
                return value
        return None

    def problem(self, check_id: str) -> KeyProblem | None:
        """The first problem with id ``check_id``, or None."""
        return next((p for p in self.problems if p.check_id == check_id), None)


class _TagListError(Exception):
    def __init__(self, message: str, tag: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.tag = tag


def parse_tag_list(text: str) -> tuple[tuple[str, str], ...]:
    """Split an RFC 6376 §3.2 tag-list into ``(name, value)`` pairs.

    Surrounding whitespace is dropped from names and values; one trailing ``;``
    (and whitespace after it) is allowed. Raises ``ValueError`` on a syntax error:
    a tag-spec without ``=``, an empty tag-spec, a bad tag name, a character outside
    ``tval`` in a value, or a duplicate tag name (names are case-sensitive).
    """
    try:
        return _split_tags(text)
    except _TagListError as exc:
        raise ValueError(exc.message) from None


def _split_tags(text: str) -> tuple[tuple[str, str], ...]:
    split = split_tags(text, wsp=_WSP)
    if split.blank:
        raise _TagListError(_EMPTY_SPEC)
    tags: list[tuple[str, str]] = []
    seen: set[str] = set()
    for item in split.in_order():
        if isinstance(item, TagListProblem):
            if item.issue is TagListIssue.EMPTY:
                raise _TagListError(_EMPTY_SPEC)
            raise _TagListError(f"tag-spec {item.text!r} has no '='")
        name, value = item.name, item.value
        if _TAG_NAME.fullmatch(name) is None:
            raise _TagListError(
                f"{name!r} is not a tag name (ALPHA then letters, digits, '_')", name
            )
        if _TVAL_OR_WSP.fullmatch(value) is None:
            bad = next(ch for ch in value if _TVAL_OR_WSP.fullmatch(ch) is None)
            raise _TagListError(f"{name}= contains {bad!r}, not allowed in a tag value", name)
        if name in seen:
            raise _TagListError(f"tag {name}= appears more than once", name)
        seen.add(name)
        tags.append((name, value))
    return tuple(tags)


def _split_list(value: str) -> tuple[str, ...]:
    """A colon-separated list with optional whitespace around items (h=, s=, t=)."""
    return tuple(item.strip(_WSP) for item in value.split(":") if item.strip(_WSP))


@dataclass(slots=True)
class _Draft:
    """Mutable state while parsing; frozen into a :class:`DkimKey` at the end."""

    text: str
    tags: tuple[tuple[str, str], ...] = ()
    valid: bool = True
    usable: bool = True
    key_type: str | None = None
    key_bits: int | None = None
    key_format: str | None = None
    revoked: bool = False
    problems: tuple[KeyProblem, ...] = ()

    def add(self, check_id: str, message: str, tag: str | None = None) -> None:
        self.problems += (KeyProblem(check_id, message, tag),)

    def invalid(self, message: str, tag: str | None = None) -> None:
        self.valid = False
        self.usable = False
        self.add("dkim.key-invalid", message, tag)

    def freeze(self) -> DkimKey:
        values = dict(self.tags)
        warnings = tuple(dict.fromkeys(p.check_id for p in self.problems))
        return DkimKey(
            text=self.text,
            valid=self.valid,
            usable_for_email=self.valid and self.usable,
            key_type=self.key_type if self.valid else None,
            key_bits=self.key_bits if self.valid else None,
            version=values.get("v"),
            hash_algorithms=_split_list(values["h"]) if "h" in values else None,
            services=_split_list(values["s"]) if "s" in values else None,
            flags=_split_list(values.get("t", "")),
            notes=values.get("n"),
            revoked=self.revoked,
            key_format=self.key_format if self.valid else None,
            problems=self.problems,
            warnings=warnings,
            tags=self.tags,
        )


def parse_dkim_key(text: str) -> DkimKey:
    """Parse one DKIM key record (the TXT RR's strings already concatenated)."""
    draft = _Draft(text)
    try:
        draft.tags = _split_tags(text)
    except _TagListError as exc:
        draft.invalid(f"tag-list syntax error: {exc.message}", exc.tag)
        return draft.freeze()
    values = dict(draft.tags)
    if not _check_structure(draft, values):
        return draft.freeze()
    key_type = values.get("k", KeyType.RSA.value)
    data_text = _ANY_WSP.sub("", values["p"])
    if not data_text:
        draft.revoked = True
        draft.usable = False
        draft.key_type = key_type if key_type in _KNOWN_TYPES else None
        draft.add("dkim.key-revoked", "p= is empty: the key has been revoked", "p")
        return draft.freeze()
    if key_type not in _KNOWN_TYPES:
        draft.usable = False
        draft.add(
            "dkim.unknown-key-type",
            f"k={key_type} is not a key type verifiers know (rsa, ed25519; "
            "names are case-sensitive): the key is ignored",
            "k",
        )
        return draft.freeze()
    if not _decode_key(draft, key_type, data_text):
        return draft.freeze()
    draft.key_type = key_type
    _posture(draft, values)
    return draft.freeze()


_KNOWN_TYPES = frozenset({KeyType.RSA.value, KeyType.ED25519.value})


def _check_structure(draft: _Draft, values: dict[str, str]) -> bool:
    """``v=`` first and exactly ``DKIM1`` when present; ``p=`` present."""
    if "v" in values:
        if draft.tags[0][0] != "v":
            draft.invalid("v= is present but not the first tag (RFC 6376 §3.6.1)", "v")
            return False
        if values["v"] != "DKIM1":
            draft.invalid(f"v={values['v']} is not 'DKIM1' (exact, case-sensitive)", "v")
            return False
    if "p" not in values:
        hint = ""
        if any(name.lower() == "p" for name, _ in draft.tags):
            hint = " (tag names are case-sensitive: 'P' is not 'p')"
        elif "v" not in values:
            hint = " (this TXT record does not look like a DKIM key)"
        draft.invalid(f"no p= tag: a key record must have one{hint}", "p")
        return False
    return True


def _decode_key(draft: _Draft, key_type: str, data_text: str) -> bool:
    """Decode ``p=`` as a key of ``key_type``; record bits and format. False if invalid."""
    try:
        data = base64.b64decode(data_text, validate=True)
    except (binascii.Error, ValueError):
        hint = " (remove the PEM '-----BEGIN/END' lines)" if "-----" in data_text else ""
        draft.invalid(f"p= is not valid base64{hint}", "p")
        return False
    if key_type == KeyType.ED25519.value:
        return _decode_ed25519(draft, data)
    return _decode_rsa(draft, data)


def _decode_ed25519(draft: _Draft, data: bytes) -> bool:
    if len(data) != ED25519_KEY_BYTES:
        hint = {
            "RSA": " (it is an RSA key: set k=rsa)",
            "Ed25519": " (it is a DER SubjectPublicKeyInfo: publish only the raw key, its "
            "last 32 bytes)",
        }.get(_der_key_kind(data) or "", "")
        draft.invalid(
            f"k=ed25519 needs the 32-byte raw public key in p=, got {len(data)} bytes{hint}", "p"
        )
        return False
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    try:
        Ed25519PublicKey.from_public_bytes(data)
    except ValueError as exc:
        draft.invalid(f"p= is not an Ed25519 public key: {exc}", "p")
        return False
    draft.key_bits = 256
    draft.key_format = KeyFormat.RAW_ED25519.value
    return True


def _decode_rsa(draft: _Draft, data: bytes) -> bool:
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
    from cryptography.hazmat.primitives.serialization import load_der_public_key

    try:
        key = load_der_public_key(data)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        what = " (32 bytes: an Ed25519 key? set k=ed25519)" if len(data) == 32 else ""
        draft.invalid(f"p= is not a DER-encoded RSA public key (truncated or corrupt){what}", "p")
        return False
    if not isinstance(key, RSAPublicKey):
        draft.invalid(f"k=rsa but p= holds a non-RSA key ({_kind_name(key)})", "p")
        return False
    draft.key_bits = key.key_size
    draft.key_format = (KeyFormat.PKCS1 if _is_bare_rsa_public_key(data) else KeyFormat.SPKI).value
    return True


def _der_key_kind(data: bytes) -> str | None:
    """``RSA``, ``Ed25519``, … when ``data`` is a DER public key, else None."""
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives.serialization import load_der_public_key

    try:
        return _kind_name(load_der_public_key(data))
    except (ValueError, TypeError, UnsupportedAlgorithm):
        return None


def _kind_name(key: object) -> str:
    name = type(key).__name__.removeprefix("_")
    return name.removesuffix("PublicKey") or name


def _is_bare_rsa_public_key(der: bytes) -> bool:
    """True for PKCS#1 ``RSAPublicKey`` (SEQUENCE of INTEGERs), not SubjectPublicKeyInfo."""
    if len(der) < 2 or der[0] != 0x30:
        return False
    length_octets = der[1] & 0x7F if der[1] & 0x80 else 0
    inner = 2 + length_octets
    return len(der) > inner and der[inner] == 0x02


def _posture(draft: _Draft, values: dict[str, str]) -> None:
    """Posture problems of a valid key: what a receiver will do with it."""
    services = _split_list(values["s"]) if "s" in values else None
    if services is not None and not {"email", "*"} & set(services):
        draft.usable = False
        listed = ":".join(services) or "nothing"
        draft.add(
            "dkim.service-not-email",
            f"s={listed}: the key may not be used for e-mail signatures",
            "s",
        )
    hashes = _split_list(values["h"]) if "h" in values else None
    if hashes is not None:
        _hash_posture(draft, hashes)
    if "y" in _split_list(values.get("t", "")):
        draft.add(
            "dkim.testing-mode",
            "t=y: the domain says it is testing DKIM; receivers "
            "must not treat signed mail differently from unsigned mail",
            "t",
        )
    if draft.key_type == KeyType.RSA.value and draft.key_bits is not None:
        if draft.key_bits < RSA_MIN_BITS:
            draft.usable = False
            draft.add(
                "dkim.rsa-too-short",
                f"{draft.key_bits}-bit RSA key: receivers must "
                f"not accept keys under {RSA_MIN_BITS} bits (RFC 8301 §3.2)",
                "p",
            )
        elif draft.key_bits < RSA_RECOMMENDED_BITS:
            draft.add(
                "dkim.rsa-1024",
                f"{draft.key_bits}-bit RSA key: {RSA_RECOMMENDED_BITS} "
                "bits are recommended (RFC 8301 §3.2)",
                "p",
            )
    if draft.key_format == KeyFormat.PKCS1.value:
        draft.add(
            "dkim.pkcs1-key-format",
            "p= is a bare PKCS#1 RSAPublicKey; several verifiers only accept SubjectPublicKeyInfo",
            "p",
        )


def _hash_posture(draft: _Draft, hashes: tuple[str, ...]) -> None:
    listed = ":".join(hashes) or "nothing"
    if "sha256" in hashes:
        if "sha1" in hashes:
            draft.add(
                "dkim.sha1",
                f"h={listed} still allows sha1, which verifiers must reject (RFC 8301 §3.1)",
                "h",
            )
        return
    draft.usable = False
    if "sha1" in hashes:
        draft.add(
            "dkim.sha1",
            f"h={listed}: only sha1 is allowed and verifiers must reject "
            "sha1 signatures (RFC 8301 §3.1), so no signature can verify",
            "h",
        )
    else:
        draft.add(
            "dkim.key-invalid",
            f"h={listed} allows no hash verifiers support "
            "(sha256): no signature can verify with this key",
            "h",
        )
