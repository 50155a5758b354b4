"""ARC cryptography (RFC 8617 §5.1.1, §5.2): what each signature covers, and if it verifies.

Pure functions over bytes: no DNS. An ARC-Message-Signature is verified like a
DKIM-Signature (RFC 6376 §3.7: the header fields named in ``h=``, then the AMS
itself with ``b=`` emptied, plus the body hash); an ARC-Seal covers every ARC
set from 1 up to its own, in order AAR, AMS, AS, with relaxed canonicalisation
and its own ``b=`` emptied. Both algorithms a DKIM key can name are verified:
``rsa-sha256`` (RFC 8617 §4.1.3) and ``ed25519-sha256`` (RFC 8463), because
sealers sign with the keys they publish for DKIM.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum

MIN_RSA_BITS = 1024
"""RFC 8301 §3.2: verifiers must not accept smaller RSA keys."""
ALGORITHMS = ("rsa-sha256", "ed25519-sha256")

_WSP_RUN = re.compile(rb"[ \t]+")
_LINE_BREAK = re.compile(rb"\r?\n")
_B_VALUE = re.compile(rb"((?:^|;)[ \t\r\n]*b[ \t\r\n]*=)[^;]*", re.IGNORECASE)


class Canon(str, Enum):
    """A canonicalisation algorithm (RFC 6376 §3.4)."""

    SIMPLE = "simple"
    RELAXED = "relaxed"


@dataclass(frozen=True, slots=True)
class RawField:
    """One header field as signed: the name as written and the value after the colon."""

    name: bytes
    value: bytes
    """Folding kept, without the final line break."""


class BadSignature(ValueError):
    """The signature does not verify; the text says what, in words."""


def parse_canon(value: str | None) -> tuple[Canon, Canon]:
    """``c=`` as (header, body) algorithms; ``simple`` where absent (RFC 6376 §3.5)."""
    if not value:
        return Canon.SIMPLE, Canon.SIMPLE
    header, _, body = value.strip().lower().partition("/")
    try:
        return Canon(header), Canon(body or "simple")
    except ValueError:
        raise BadSignature(f"c={value} names an unknown canonicalisation") from None


def canonical_header(field: RawField, canon: Canon) -> bytes:
    """One header field canonicalised, ending in CRLF (RFC 6376 §3.4.1, §3.4.2)."""
    if canon is Canon.SIMPLE:
        return field.name + b":" + _LINE_BREAK.sub(b"\r\n", field.value) + b"\r\n"
    value = _LINE_BREAK.sub(b"", field.value)
    value = _WSP_RUN.sub(b" ", value).strip(b" ")
    return field.name.strip(b" \t").lower() + b":" + value + b"\r\n"


def canonical_body(body: bytes, canon: Canon) -> bytes:
    """The body canonicalised (RFC 6376 §3.4.3, §3.4.4)."""
    lines = _LINE_BREAK.split(body)
    if canon is Canon.RELAXED:
        lines = [_WSP_RUN.sub(b" ", line).rstrip(b" ") for line in lines]
    while lines and lines[-1] == b"":
        lines.pop()
    if not lines:
        return b"" if canon is Canon.RELAXED else b"\r\n"
    return b"\r\n".join(lines) + b"\r\n"


def body_hash(body: bytes, canon: Canon) -> str:
    """The base64 SHA-256 of the canonical body: what ``bh=`` must hold."""
    return base64.b64encode(hashlib.sha256(canonical_body(body, canon)).digest()).decode()


def without_b_value(value: bytes) -> bytes:
    """The field value with the ``b=`` tag's value deleted (RFC 6376 §3.7)."""
    return _B_VALUE.sub(rb"\1", value, count=1)


def select_fields(headers: Sequence[RawField], names: Sequence[str]) -> list[RawField]:
    """The fields ``h=`` names, each taken from the bottom up (RFC 6376 §5.4.2).

    A name with no field left contributes nothing (it guards against one being added).
    """
    used: set[int] = set()
    chosen = []
    for wanted in names:
        key = wanted.strip().lower().encode("ascii", "replace")
        for index in range(len(headers) - 1, -1, -1):
            if index not in used and headers[index].name.strip().lower() == key:
                used.add(index)
                chosen.append(headers[index])
                break
    return chosen


def signed_data(
    fields: Sequence[RawField], signature: RawField, canon: Canon = Canon.RELAXED
) -> bytes:
    """The bytes a header signature covers: ``fields``, then itself without ``b=`` or CRLF."""
    emptied = RawField(signature.name, without_b_value(signature.value))
    return b"".join(canonical_header(f, canon) for f in fields) + canonical_header(
        emptied, canon
    ).removesuffix(b"\r\n")


def verify(algorithm: str, key_type: str, public_key: bytes, signature: str, data: bytes) -> None:
    """Check ``signature`` (base64 ``b=``) over ``data``; raise :class:`BadSignature` if not."""
    kind = algorithm.lower().partition("-")[0]
    if algorithm.lower() not in ALGORITHMS:
        raise BadSignature(f"a={algorithm} is not an algorithm ARC verifiers accept")
    if kind != key_type:
        raise BadSignature(f"a={algorithm} but the key record is k={key_type}")
    try:
        raw_signature = base64.b64decode(re.sub(r"\s+", "", signature), validate=True)
    except ValueError:
        raise BadSignature("b= is not valid base64") from None
    from cryptography.exceptions import InvalidSignature

    try:
        if kind == "rsa":
            _verify_rsa(public_key, raw_signature, data)
        else:
            _verify_ed25519(public_key, raw_signature, hashlib.sha256(data).digest())
    except InvalidSignature:
        raise BadSignature("b= does not verify") from None


def _verify_rsa(public_key: bytes, signature: bytes, data: bytes) -> None:
    from cryptography.hazmat.primitives.asymmetric import padding
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
    from cryptography.hazmat.primitives.hashes import SHA256
    from cryptography.hazmat.primitives.serialization import load_der_public_key

    key = None
    # SubjectPublicKeyInfo, or a bare PKCS#1 RSAPublicKey as some signers publish
    for candidate in (public_key, _spki_from_pkcs1(public_key)):
        try:
            key = load_der_public_key(candidate)
            break
        except ValueError:
            continue
    if not isinstance(key, RSAPublicKey):
        raise BadSignature("the key record's p= is not an RSA public key")
    if key.key_size < MIN_RSA_BITS:
        raise BadSignature(
            f"the RSA key has {key.key_size} bits; verifiers refuse keys under "
            f"{MIN_RSA_BITS} (RFC 8301 §3.2)"
        )
    key.verify(signature, data, padding.PKCS1v15(), SHA256())


def _spki_from_pkcs1(pkcs1: bytes) -> bytes:
    """Wrap a PKCS#1 RSAPublicKey in a SubjectPublicKeyInfo (DER)."""
    algorithm = bytes.fromhex("300d06092a864886f70d0101010500")
    bit_string = b"\x03" + _der_length(len(pkcs1) + 1) + b"\x00" + pkcs1
    body = algorithm + bit_string
    return b"\x30" + _der_length(len(body)) + body


def _der_length(length: int) -> bytes:
    if length < 0x80:
        return bytes([length])
    octets = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(octets)]) + octets


def _verify_ed25519(public_key: bytes, signature: bytes, digest: bytes) -> None:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    try:
        key = Ed25519PublicKey.from_public_bytes(public_key)
    except ValueError:
        raise BadSignature("the key record's p= is not a 32-byte Ed25519 key") from None
    key.verify(signature, digest)
