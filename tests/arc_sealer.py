"""Seal ARC sets for tests (RFC 8617 §5.1), with RSA or Ed25519 keys made in the test.

Chains sealed here with RSA are also checked by dkimpy's independent verifier in
tests/test_message_arc.py, so the sealer is known to write what the RFC says; the
Ed25519 path differs only in the signature primitive (RFC 8463).
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass

from dmarc_audit.message.arc_crypto import Canon, RawField, body_hash, select_fields, signed_data
from dmarc_audit.message.parse import parse_message

T_SIGN = 1700000000


@dataclass(frozen=True)
class SealKey:
    """A private key and the DKIM key record that publishes it."""

    kind: str  # "rsa" | "ed25519"
    private: object

    @classmethod
    def make(cls, kind: str = "rsa") -> SealKey:
        if kind == "rsa":
            from cryptography.hazmat.primitives.asymmetric import rsa

            return cls(kind, rsa.generate_private_key(public_exponent=65537, key_size=2048))
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

        return cls(kind, Ed25519PrivateKey.generate())

    @property
    def record(self) -> str:
        from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

        public = self.private.public_key()  # type: ignore[attr-defined]
        if self.kind == "rsa":
            data = public.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
        else:
            data = public.public_bytes(Encoding.Raw, PublicFormat.Raw)
        return f"v=DKIM1; k={self.kind}; p={base64.b64encode(data).decode()}"

    @property
    def algorithm(self) -> str:
        return "rsa-sha256" if self.kind == "rsa" else "ed25519-sha256"

    def sign(self, data: bytes) -> str:
        if self.kind == "rsa":
            from cryptography.hazmat.primitives.asymmetric import padding
            from cryptography.hazmat.primitives.hashes import SHA256

            raw = self.private.sign(data, padding.PKCS1v15(), SHA256())  # type: ignore[attr-defined]
        else:
            raw = self.private.sign(hashlib.sha256(data).digest())  # type: ignore[attr-defined]
        return base64.b64encode(raw).decode()


def _fields(raw: bytes) -> list[RawField]:
    return [RawField(h.name.encode(), h.raw) for h in parse_message(raw).headers]


def add_arc_set(
    raw: bytes,
    key: SealKey,
    *,
    domain: str,
    selector: str = "arc",
    authserv_id: str | None = None,
    results: str = "dkim=pass header.d=shop.example; dmarc=pass header.from=shop.example",
    cv: str | None = None,
    signed: tuple[str, ...] = ("from", "to", "subject", "date"),
) -> bytes:
    """Prepend the next ARC set (AAR, AMS, AS) to ``raw`` (CRLF line ends)."""
    existing = [f for f in _fields(raw) if f.name.lower() == b"arc-seal"]
    instance = len(existing) + 1
    if cv is None:
        cv = "none" if instance == 1 else "pass"
    message = parse_message(raw)
    aar = RawField(
        b"ARC-Authentication-Results",
        f" i={instance}; {authserv_id or 'mx.' + domain}; {results}".encode(),
    )
    ams_value = (
        f" i={instance}; a={key.algorithm}; c=relaxed/relaxed; d={domain}; s={selector};"
        f" t={T_SIGN}; h={':'.join(signed)};\r\n bh={body_hash(message.body, Canon.RELAXED)}; b="
    ).encode()
    headers = _fields(raw)
    ams_data = signed_data(
        select_fields(headers, signed), RawField(b"ARC-Message-Signature", ams_value)
    )
    ams = RawField(b"ARC-Message-Signature", ams_value + key.sign(ams_data).encode())
    seal_value = (
        f" i={instance}; cv={cv}; a={key.algorithm}; d={domain}; s={selector}; t={T_SIGN}; b="
    ).encode()
    covered = [*_chain(headers, instance - 1), aar, ams]
    seal_data = signed_data(covered, RawField(b"ARC-Seal", seal_value))
    seal = RawField(b"ARC-Seal", seal_value + key.sign(seal_data).encode())
    top = b"".join(f.name + b":" + f.value + b"\r\n" for f in (seal, ams, aar))
    return top + raw


def _chain(headers: list[RawField], up_to: int) -> list[RawField]:
    """The existing sets 1..up_to in seal order: AAR, AMS, AS of each instance."""
    from dmarc_audit.message.arc import _INSTANCE

    by_instance: dict[tuple[int, bytes], RawField] = {}
    for field_ in headers:
        name = field_.name.lower()
        if name in (b"arc-seal", b"arc-message-signature", b"arc-authentication-results"):
            match = _INSTANCE.search(field_.value.decode())
            assert match is not None
            by_instance[(int(match.group(1)), name)] = field_
    order = (b"arc-authentication-results", b"arc-message-signature", b"arc-seal")
    return [by_instance[(i, name)] for i in range(1, up_to + 1) for name in order]


BASE_MESSAGE = (
    b"From: Alice <alice@shop.example>\r\n"
    b"To: friends@forum.example\r\n"
    b"Subject: Meeting on Tuesday\r\n"
    b"Date: Tue, 14 Nov 2023 22:13:20 +0000\r\n"
    b"Message-ID: <m1@shop.example>\r\n"
    b"\r\n"
    b"See you there.\r\n"
)
