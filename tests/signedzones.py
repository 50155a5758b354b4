"""Signed test zones made with dnspython: a test root, ``test.`` and zones under it.

``Hierarchy`` builds a root, a ``test.`` TLD and children, each signed with its own
ECDSA P-256 key (``dns.dnssec.sign_zone``) and linked by DS records, with variants
that break one link each. Serve them with ``DnsServer(signed_zones=h.zones)`` and
trust ``h.anchor_file`` (``--trust-anchor``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import dns.dnssec
import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.zone
from cryptography.hazmat.primitives.asymmetric import ec

ALGORITHM = dns.dnssec.Algorithm.ECDSAP256SHA256


@dataclass
class Signer:
    """One zone's key pair and DNSKEY."""

    origin: str
    key: ec.EllipticCurvePrivateKey = field(
        default_factory=lambda: ec.generate_private_key(ec.SECP256R1())
    )

    @property
    def dnskey(self) -> dns.rdata.Rdata:
        return dns.dnssec.make_dnskey(self.key.public_key(), ALGORITHM, flags=257)

    def ds(self) -> str:
        return dns.dnssec.make_ds(self.origin, self.dnskey, "SHA256").to_text()


def zone_text(origin: str, body: str) -> str:
    return (
        f"$ORIGIN {origin}\n$TTL 300\n@ SOA ns hostmaster 1 3600 600 86400 300\n"
        f"@ NS ns\nns A 127.0.0.1\n{body}"
    )


def make_zone(
    origin: str, body: str, signer: Signer | None, *, expired: bool = False
) -> dns.zone.Zone:
    """A zone from text; signed by ``signer`` (expired signatures when asked)."""
    zone = dns.zone.from_text(zone_text(origin, body), origin=origin, relativize=False)
    if signer is not None:
        now = int(time.time())
        inception, expiration = (now - 7200, now - 3600) if expired else (now - 3600, now + 86400)
        with zone.writer() as txn:
            dns.dnssec.sign_zone(
                zone,
                txn=txn,
                keys=[(signer.key, signer.dnskey)],
                inception=inception,
                expiration=expiration,
            )
    return zone


class Hierarchy:
    """``.`` -> ``test.`` -> children; see the module docstring."""

    def __init__(self, directory: Path, children: dict[str, str] | None = None) -> None:
        self.directory = directory
        self.signers = {name: Signer(name) for name in (".", "test.")}
        self.zones: list[dns.zone.Zone] = []
        self.children = children or {}

    def child(
        self,
        name: str,
        body: str,
        *,
        signed: bool = True,
        ds: str | None = "auto",
        expired: bool = False,
    ) -> Signer | None:
        """Add zone ``name`` (under test.) with ``body``; ``ds`` None for no DS, or a DS text."""
        signer = Signer(name) if signed else None
        self.zones.append(make_zone(name, body, signer, expired=expired))
        label = name.removesuffix(".test.")
        delegation = f"{label} NS ns.{name}\nns.{label} A 127.0.0.1\n"
        if ds == "auto" and signer is not None:
            delegation += f"{label} DS {signer.ds()}\n"
        elif ds not in (None, "auto"):
            delegation += f"{label} DS {ds}\n"
        self.children[name] = delegation
        return signer

    def build(self) -> list[dns.zone.Zone]:
        """Sign ``test.`` with its delegations and the root with ``test.``'s DS."""
        test_body = "".join(self.children.values())
        self.zones.append(make_zone("test.", test_body, self.signers["test."]))
        root_body = f"test. NS ns.test.\ntest. DS {self.signers['test.'].ds()}\n"
        root = dns.zone.from_text(
            "$TTL 300\n. SOA ns.test. hostmaster.test. 1 3600 600 86400 300\n"
            ". NS ns.test.\n" + root_body,
            origin=".",
            relativize=False,
        )
        with root.writer() as txn:
            dns.dnssec.sign_zone(
                root,
                txn=txn,
                keys=[(self.signers["."].key, self.signers["."].dnskey)],
                lifetime=86400,
            )
        self.zones.append(root)
        return self.zones

    @property
    def anchor_file(self) -> Path:
        path = self.directory / "anchor.txt"
        path.write_text(f"; test root\n. 3600 IN DS {self.signers['.'].ds()}\n")
        return path
