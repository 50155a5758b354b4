#!/usr/bin/env python3
"""Build fixtures/messages/: signed test messages and the DNS zone they verify against.

    python scripts/make_fixture_messages.py          # rewrite messages and zones.yaml
    python scripts/make_fixture_messages.py --check  # fail if the files on disk differ

Private keys live in fixtures/keys/ (test material, never for real mail); a key
that is missing is generated once and kept, so later runs reproduce the same
bytes: every signature uses t=1700000000 and RSA PKCS#1 v1.5 and Ed25519 are
deterministic. Messages use LF line ends, as .eml files on disk usually do.

ARC sets are sealed here with dkimpy's signing primitive (``gen_header``) following
RFC 8617 §5.1, rather than with ``dkim.arc_sign``, which needs the ``authres``
package only to re-read our Authentication-Results.
"""

from __future__ import annotations

import argparse
import base64
import sys
from dataclasses import dataclass
from pathlib import Path
from unittest import mock

ROOT = Path(__file__).resolve().parent.parent
KEYS = ROOT / "fixtures" / "keys"
OUT = ROOT / "fixtures" / "messages"
T_SIGN = 1700000000
DATE = "Tue, 14 Nov 2023 22:13:20 +0000"
RECEIVED_DATE = "Tue, 14 Nov 2023 22:13:25 +0000"
LINESEP = b"\n"


# --- keys ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Key:
    name: str
    kind: str  # rsa | ed25519
    private: bytes
    public_b64: str

    def record(self, extra: str = "") -> str:
        tags = f"v=DKIM1; k={self.kind}; "
        return tags + (extra + "; " if extra else "") + f"p={self.public_b64}"


def load_key(name: str, kind: str = "rsa", bits: int = 2048) -> Key:
    """fixtures/keys/<name>.pem (RSA, PKCS#8) or <name>.key (Ed25519 seed); made if absent."""
    if kind == "ed25519":
        path = KEYS / f"{name}.key"
        if not path.exists():
            import os

            path.write_text(base64.b64encode(os.urandom(32)).decode() + "\n")
        seed = path.read_text().strip().encode()
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
        from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

        raw = Ed25519PrivateKey.from_private_bytes(base64.b64decode(seed)).public_key()
        public = raw.public_bytes(Encoding.Raw, PublicFormat.Raw)
        _write_public(name, base64.b64encode(public).decode())
        return Key(name, kind, seed, base64.b64encode(public).decode())
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.hazmat.primitives.serialization import (
        Encoding,
        NoEncryption,
        PrivateFormat,
        PublicFormat,
        load_pem_private_key,
    )

    path = KEYS / f"{name}.pem"
    if not path.exists():
        key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
        path.write_bytes(key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()))
    pem = path.read_bytes()
    private = load_pem_private_key(pem, password=None)
    der = private.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    public = base64.b64encode(der).decode()
    _write_public(name, public)
    return Key(name, kind, pem, public)


def _write_public(name: str, public: str) -> None:
    path = KEYS / f"{name}.p"
    if not path.exists():
        path.write_text(public + "\n")


# --- signing ---------------------------------------------------------------------------


def message(headers: list[tuple[str, str]], body: str) -> bytes:
    lines = [f"{name}: {value}" for name, value in headers]
    return ("\n".join(lines) + "\n\n" + body).encode("utf-8")


def prepend(raw: bytes, *fields: str | bytes) -> bytes:
    """Put header fields on top, the first one given topmost."""
    encoded = [f.encode("utf-8") if isinstance(f, str) else f for f in fields]
    return b"".join(f if f.endswith(b"\n") else f + b"\n" for f in encoded) + raw


def dkim_sign(
    raw: bytes,
    key: Key,
    domain: str,
    selector: str,
    headers: list[str],
    *,
    canon: tuple[bytes, bytes] = (b"relaxed", b"relaxed"),
    identity: str | None = None,
) -> bytes:
    """The message with a DKIM-Signature on top (t= pinned)."""
    import dkim

    algorithm = b"ed25519-sha256" if key.kind == "ed25519" else b"rsa-sha256"
    with mock.patch("time.time", return_value=T_SIGN):
        field = dkim.sign(
            raw,
            selector.encode(),
            domain.encode(),
            key.private,
            identity=identity.encode() if identity else None,
            canonicalize=canon,
            include_headers=[h.encode() for h in headers],
            signature_algorithm=algorithm,
            linesep=LINESEP,
        )
    return field + raw


def dkim_sign_fields(
    raw: bytes,
    key: Key,
    domain: str,
    selector: str,
    headers: list[str],
    extra: list[tuple[bytes, bytes]],
) -> bytes:
    """A DKIM-Signature with hand-picked tags (x=, an h= without From) that sign() refuses."""
    import hashlib

    import dkim
    from dkim.canonicalization import CanonicalizationPolicy
    from dkim.crypto import parse_pem_private_key

    signer = dkim.DKIM(raw, linesep=LINESEP)
    signer.hasher = hashlib.sha256
    policy = CanonicalizationPolicy.from_c_value(b"relaxed/relaxed")
    bodyhash = base64.b64encode(hashlib.sha256(policy.canonicalize_body(signer.body)).digest())
    include = tuple(h.encode() for h in headers)
    fields = [
        (b"v", b"1"),
        (b"a", b"rsa-sha256"),
        (b"c", b"relaxed/relaxed"),
        (b"d", domain.encode()),
        (b"s", selector.encode()),
        (b"t", str(T_SIGN).encode()),
        *extra,
        (b"h", b" : ".join(include)),
        (b"bh", bodyhash),
        (b"b", b"0" * 60),
    ]
    value = signer.gen_header(
        fields, include, policy, b"DKIM-Signature", parse_pem_private_key(key.private)
    )
    return b"DKIM-Signature: " + value + raw


def arc_seal(
    raw: bytes,
    key: Key,
    domain: str,
    selector: str,
    authserv_id: str,
    results: str,
    headers: list[str],
) -> bytes:
    """Add ARC set i=1 (RFC 8617 §5.1): AAR, then AMS over the message, then AS over both."""
    import hashlib

    import dkim
    from dkim.canonicalization import CanonicalizationPolicy
    from dkim.crypto import parse_pem_private_key

    signer = dkim.ARC(raw, linesep=LINESEP)
    signer.hasher = hashlib.sha256
    private = parse_pem_private_key(key.private)
    relaxed = CanonicalizationPolicy.from_c_value(b"relaxed/relaxed")
    aar = f" i=1; {authserv_id};\n {results}\n".encode()
    signer.headers.insert(0, [b"ARC-Authentication-Results", aar.replace(b"\n", b"\r\n")])
    bodyhash = base64.b64encode(hashlib.sha256(relaxed.canonicalize_body(signer.body)).digest())
    include = tuple(h.encode() for h in headers)
    stamp = str(T_SIGN).encode()
    ams = signer.gen_header(
        [
            (b"i", b"1"),
            (b"a", b"rsa-sha256"),
            (b"c", b"relaxed/relaxed"),
            (b"d", domain.encode()),
            (b"s", selector.encode()),
            (b"t", stamp),
            (b"h", b" : ".join(include)),
            (b"bh", bodyhash),
            (b"b", b"0" * 60),
        ],
        include,
        relaxed,
        b"ARC-Message-Signature",
        private,
    )
    signer.headers.insert(0, [b"ARC-Message-Signature", b" " + ams.replace(b"\n", b"\r\n")])
    seal = signer.gen_header(
        [
            (b"i", b"1"),
            (b"cv", b"none"),
            (b"a", b"rsa-sha256"),
            (b"d", domain.encode()),
            (b"s", selector.encode()),
            (b"t", stamp),
            (b"b", b"0" * 60),
        ],
        (b"arc-authentication-results", b"arc-message-signature"),
        relaxed,
        b"ARC-Seal",
        private,
    )
    return (
        b"ARC-Seal: "
        + seal
        + b"ARC-Message-Signature: "
        + ams
        + b"ARC-Authentication-Results:"
        + aar
        + raw
    )


# --- the scenarios ---------------------------------------------------------------------


def received(
    helo: str,
    ip: str,
    by: str = "mx.receiver.example",
    rdns: str | None = None,
    queue: str = "4SVx1Q",
    rcpt: str = "pat@receiver.example",
) -> str:
    return (
        f"Received: from {helo} ({rdns or helo} [{ip}])\n\tby {by} with ESMTPS id {queue}"
        f"\n\tfor <{rcpt}>; {RECEIVED_DATE}"
    )


def base_headers(
    sender: str, subject: str, message_id: str, extra: list[tuple[str, str]] = ()
) -> list[tuple[str, str]]:
    return [
        ("From", sender),
        ("To", "Pat Doe <pat@receiver.example>"),
        ("Subject", subject),
        ("Date", DATE),
        ("Message-ID", f"<{message_id}>"),
        ("MIME-Version", "1.0"),
        ("Content-Type", "text/plain; charset=utf-8"),
        *extra,
    ]


SIGNED = ["from", "to", "subject", "date", "message-id", "mime-version", "content-type"]


def build(keys: dict[str, Key]) -> dict[str, bytes]:
    """Every fixture message, by file name."""
    out: dict[str, bytes] = {}
    shop, esp, corp, forum = keys["shop"], keys["esp"], keys["corp"], keys["forum"]

    unsub = [
        (
            "List-Unsubscribe",
            "<https://shop.example/unsubscribe/u123>, "
            "<mailto:unsubscribe@shop.example?subject=u123>",
        ),
        ("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"),
    ]
    raw = message(
        base_headers(
            "Shop Example <news@shop.example>", "November news", "news-1@shop.example", unsub
        ),
        "Hello Pat,\n\nour November news.\n",
    )
    raw = dkim_sign(
        raw, shop, "shop.example", "s1", [*SIGNED, "list-unsubscribe", "list-unsubscribe-post"]
    )
    out["aligned-pass.eml"] = prepend(
        raw,
        "Return-Path: <bounce@shop.example>",
        "Received: from mx.receiver.example (localhost [127.0.0.1])\n\tby "
        f"store.receiver.example with LMTP id 88aa; {RECEIVED_DATE}",
        received("mail.shop.example", "192.0.2.10"),
    )

    raw = message(
        base_headers("Shop Billing <billing@shop.example>", "Your invoice", "inv-7@shop.example"),
        "Invoice 7 is attached.\n",
    )
    out["spf-only.eml"] = prepend(
        raw,
        "Return-Path: <bounce@shop.example>",
        "Received-SPF: pass (mx.receiver.example: domain of bounce@shop.example designates "
        "192.0.2.10 as permitted sender)\n\treceiver=mx.receiver.example; client-ip=192.0.2.10;"
        ' envelope-from="bounce@shop.example";\n\thelo=mail.shop.example;',
        received("mail.shop.example", "192.0.2.10"),
    )

    esp_extra = [
        ("List-Unsubscribe", "<mailto:unsub-77@bounces.esp.example>"),
        ("Precedence", "bulk"),
        ("X-Campaign-Id", "spring-sale"),
    ]
    raw = message(
        base_headers(
            "Shop Deals <deals@shop.example>", "Spring sale", "c77.1@esp.example", esp_extra
        ),
        "Everything 20% off.\n",
    )
    raw = dkim_sign(raw, esp, "esp.example", "k1", [*SIGNED, "list-unsubscribe"])
    out["esp-unaligned.eml"] = prepend(
        raw,
        "Return-Path: <b-77-pat=receiver.example@bounces.esp.example>",
        "Authentication-Results: mx.receiver.example;\n\tiprev=pass policy.iprev=198.51.100.40;"
        "\n\tspf=pass smtp.mailfrom=b-77-pat=receiver.example@bounces.esp.example;\n\t"
        "dkim=pass header.d=esp.example header.s=k1;\n\tdmarc=fail header.from=shop.example",
        received("out-40.esp.example", "198.51.100.40"),
    )

    raw = message(
        base_headers(
            "Corp Alerts <alerts@corp.example>", "Disk space warning", "a-1@mail.corp.example"
        ),
        "Volume /srv is 91% full.\n",
    )
    raw = dkim_sign(raw, corp, "mail.corp.example", "m1", SIGNED)
    out["strict-subdomain.eml"] = prepend(
        raw, "Return-Path: <bounce@mail.corp.example>", received("mail.corp.example", "192.0.2.130")
    )

    out["forwarded-arc.eml"] = _forwarded(shop, forum)

    raw = message(
        base_headers(
            "Shop Orders <orders@shop.example>", "Order 1001 confirmed", "o-1001@shop.example"
        ),
        "Total: EUR 25.00\nPay to: DE00 1111\n",
    )
    raw = dkim_sign(raw, shop, "shop.example", "s1", SIGNED)
    raw = raw.replace(b"EUR 25.00\nPay to: DE00 1111", b"EUR 2500.00\nPay to: XX99 6666")
    out["tampered-body.eml"] = prepend(
        raw,
        "Return-Path: <bounce@shop.example>",
        "Authentication-Results: mx.receiver.example;\n\tdkim=pass header.d=shop.example "
        "header.s=s1;\n\tspf=fail smtp.mailfrom=bounce@shop.example;\n\tdmarc=pass "
        "header.from=shop.example",
        received("relay.attacker.example", "203.0.113.66"),
    )

    raw = message(
        base_headers("Old Brand <hello@oldbrand.example>", "We have moved", "m-1@oldbrand.example"),
        "Please update your bookmarks.\n",
    )
    raw = dkim_sign(raw, keys["oldbrand-2019"], "oldbrand.example", "y2019", SIGNED)
    out["revoked-key.eml"] = prepend(
        raw,
        "Return-Path: <bounce@oldbrand.example>",
        received("legacy.oldbrand.example", "203.0.113.50"),
    )

    out.update(_edge_cases(keys))
    return out


def _forwarded(shop: Key, forum: Key) -> bytes:
    """shop.example → the friends@forum.example list (adds a footer, seals ARC) → receiver."""
    raw = message(
        base_headers("Alice <alice@shop.example>", "Meeting on Friday", "m-42@shop.example"),
        "See you on Friday at 10.\n",
    )
    raw = dkim_sign(raw, shop, "shop.example", "s1", SIGNED)
    signature = raw.split(b"\nFrom:", 1)[0]
    b_prefix = signature.split(b"b=")[-1].replace(b"\n", b"").replace(b" ", b"")[:8].decode()
    raw = prepend(
        raw,
        received(
            "mail.shop.example",
            "192.0.2.10",
            by="mx.forum.example",
            queue="L1",
            rcpt="friends@forum.example",
        ),
    )
    results = (
        f"dkim=pass header.d=shop.example header.s=s1 header.b={b_prefix};\n "
        "spf=pass smtp.mailfrom=alice@shop.example;\n "
        "dmarc=pass header.from=shop.example"
    )
    raw = prepend(raw, f"Authentication-Results: mx.forum.example;\n\t{results}")
    raw = prepend(
        raw,
        "List-Id: Friends <friends.forum.example>",
        "List-Unsubscribe: <https://forum.example/unsubscribe/friends>",
        "List-Unsubscribe-Post: List-Unsubscribe=One-Click",
    )
    raw += b"\n--\nfriends mailing list - https://forum.example/friends\n"
    raw = arc_seal(
        raw,
        forum,
        "forum.example",
        "arc",
        "mx.forum.example",
        results,
        [*SIGNED, "list-id", "list-unsubscribe", "list-unsubscribe-post"],
    )
    return prepend(
        raw,
        "Return-Path: <friends-bounces@forum.example>",
        "Authentication-Results: mx.receiver.example;\n\tdkim=fail header.d=shop.example;\n\t"
        "spf=pass smtp.mailfrom=friends-bounces@forum.example;\n\tdmarc=fail "
        "header.from=shop.example;\n\tarc=pass smtp.remote-ip=198.51.100.20",
        received("mail.forum.example", "198.51.100.20"),
    )


def _edge_cases(keys: dict[str, Key]) -> dict[str, bytes]:
    shop = keys["shop"]
    out: dict[str, bytes] = {}
    base = message(
        base_headers("Shop <info@shop.example>", "Edge case", "e-1@shop.example"), "Body.\n"
    )
    conn = (
        "Return-Path: <bounce@shop.example>",
        received("relay.attacker.example", "203.0.113.66"),
    )
    out["expired.eml"] = prepend(
        dkim_sign_fields(
            base, shop, "shop.example", "s1", SIGNED, [(b"x", str(T_SIGN + 3600).encode())]
        ),
        *conn,
    )
    no_from = [h for h in SIGNED if h != "from"]
    out["from-not-signed.eml"] = prepend(
        dkim_sign_fields(base, shop, "shop.example", "s1", no_from, []), *conn
    )
    out["unknown-selector.eml"] = prepend(
        dkim_sign(base, shop, "shop.example", "gone", SIGNED), *conn
    )
    out["no-dmarc.eml"] = prepend(
        dkim_sign(
            message(
                base_headers("Info <info@nodmarc.example>", "Hi", "n-1@nodmarc.example"), "Hi.\n"
            ),
            keys["nodmarc"],
            "nodmarc.example",
            "s1",
            SIGNED,
        ),
        "Return-Path: <bounce@nodmarc.example>",
        received("mail.nodmarc.example", "192.0.2.60"),
    )
    out["dmarc-timeout.eml"] = prepend(
        message(base_headers("Info <info@flaky.example>", "Hi", "f-1@flaky.example"), "Hi.\n"),
        "Return-Path: <bounce@flaky.example>",
        received("mail.flaky.example", "192.0.2.70"),
    )
    out["no-from.eml"] = prepend(
        message(
            [h for h in base_headers("x", "No author", "nf-1@shop.example") if h[0] != "From"],
            "Who sent this?\n",
        ),
        *conn,
    )
    out["multiple-from-domains.eml"] = prepend(
        message(
            base_headers("a@shop.example, b@other.example", "Two authors", "mf-1@shop.example"),
            "Hi.\n",
        ),
        *conn,
    )
    return out


def zones(keys: dict[str, Key]) -> str:
    """The YAML zone data every fixture message verifies against (a closed world)."""
    lines = [
        "# Zone data for fixtures/messages/*.eml, written by scripts/make_fixture_messages.py.",
        "# YAML zone data is a closed world: names not listed do not exist.",
        "",
        "# shop.example: a well-run sender (SPF, DKIM s1, p=reject)",
        "shop.example:",
        "  - MX: [10, mx.shop.example]",
        "  - A: 192.0.2.5",
        '  - TXT: "v=spf1 ip4:192.0.2.0/25 -all"',
        "_dmarc.shop.example:",
        '  - TXT: "v=DMARC1; p=reject; rua=mailto:dmarc@shop.example"',
        "s1._domainkey.shop.example:",
        f'  - TXT: "{keys["shop"].record()}"',
        "",
        "# esp.example: an e-mail service provider signing and bouncing as itself",
        "esp.example:",
        "  - A: 198.51.100.5",
        '  - TXT: "v=spf1 -all"',
        "bounces.esp.example:",
        "  - MX: [10, mx.esp.example]",
        '  - TXT: "v=spf1 ip4:198.51.100.32/27 -all"',
        "_dmarc.esp.example:",
        '  - TXT: "v=DMARC1; p=none; rua=mailto:dmarc@esp.example"',
        "k1._domainkey.esp.example:",
        f'  - TXT: "{keys["esp"].record()}"',
        "",
        "# corp.example: strict alignment; mail is signed and bounced by mail.corp.example",
        "corp.example:",
        "  - A: 192.0.2.129",
        "_dmarc.corp.example:",
        '  - TXT: "v=DMARC1; p=reject; adkim=s; aspf=s; rua=mailto:dmarc@corp.example"',
        "mail.corp.example:",
        "  - A: 192.0.2.130",
        '  - TXT: "v=spf1 ip4:192.0.2.128/27 -all"',
        "m1._domainkey.mail.corp.example:",
        f'  - TXT: "{keys["corp"].record()}"',
        "",
        "# forum.example: a mailing list that adds a footer and seals ARC",
        "forum.example:",
        "  - MX: [10, mx.forum.example]",
        '  - TXT: "v=spf1 ip4:198.51.100.16/28 -all"',
        "_dmarc.forum.example:",
        '  - TXT: "v=DMARC1; p=none; rua=mailto:dmarc@forum.example"',
        "arc._domainkey.forum.example:",
        f'  - TXT: "{keys["forum"].record()}"',
        "",
        "# oldbrand.example: still signs with selector y2019, whose key was revoked",
        "oldbrand.example:",
        "  - MX: [10, mx.oldbrand.example]",
        '  - TXT: "v=spf1 ip4:192.0.2.200 ~all"',
        "_dmarc.oldbrand.example:",
        '  - TXT: "v=DMARC1; p=quarantine; rua=mailto:dmarc@oldbrand.example"',
        "y2019._domainkey.oldbrand.example:",
        '  - TXT: "v=DKIM1; k=rsa; p="',
        "",
        "# nodmarc.example: signs and passes SPF, but publishes no DMARC record",
        "nodmarc.example:",
        '  - TXT: "v=spf1 ip4:192.0.2.60 -all"',
        "s1._domainkey.nodmarc.example:",
        f'  - TXT: "{keys["nodmarc"].record()}"',
        "",
        "# flaky.example: its DMARC lookup times out",
        "flaky.example:",
        '  - TXT: "v=spf1 ip4:192.0.2.70 -all"',
        "_dmarc.flaky.example:",
        "  - TIMEOUT",
        "",
        "# Reverse DNS (mx.sender-ptr): every connecting IP in the fixture messages has a PTR",
        "# whose name resolves back to it (forward-confirmed reverse DNS)",
        "10.2.0.192.in-addr.arpa:",
        "  - PTR: mail.shop.example",
        "mail.shop.example:",
        "  - A: 192.0.2.10",
        "60.2.0.192.in-addr.arpa:",
        "  - PTR: mail.nodmarc.example",
        "mail.nodmarc.example:",
        "  - A: 192.0.2.60",
        "70.2.0.192.in-addr.arpa:",
        "  - PTR: mail.flaky.example",
        "mail.flaky.example:",
        "  - A: 192.0.2.70",
        "130.2.0.192.in-addr.arpa:",
        "  - PTR: mail.corp.example",
        "20.100.51.198.in-addr.arpa:",
        "  - PTR: mail.forum.example",
        "mail.forum.example:",
        "  - A: 198.51.100.20",
        "40.100.51.198.in-addr.arpa:",
        "  - PTR: out-40.esp.example",
        "out-40.esp.example:",
        "  - A: 198.51.100.40",
        "50.113.0.203.in-addr.arpa:",
        "  - PTR: legacy.oldbrand.example",
        "legacy.oldbrand.example:",
        "  - A: 203.0.113.50",
        "66.113.0.203.in-addr.arpa:",
        "  - PTR: relay.attacker.example",
        "relay.attacker.example:",
        "  - A: 203.0.113.66",
        "",
    ]
    return "\n".join(lines)


def all_keys() -> dict[str, Key]:
    return {
        "shop": load_key("shop-s1"),
        "esp": load_key("esp-k1"),
        "corp": load_key("corp-m1", "ed25519"),
        "forum": load_key("forum-arc"),
        "oldbrand-2019": load_key("oldbrand-y2019"),
        "nodmarc": load_key("nodmarc-s1"),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--check", action="store_true", help="compare with the files on disk instead of writing"
    )
    args = parser.parse_args(argv)
    KEYS.mkdir(parents=True, exist_ok=True)
    keys = all_keys()
    files = {name: data for name, data in build(keys).items()}
    files["zones.yaml"] = zones(keys).encode()
    stale = []
    for name, data in sorted(files.items()):
        path = OUT / name
        if args.check:
            if not path.exists() or path.read_bytes() != data:
                stale.append(name)
            continue
        OUT.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    if stale:
        print("out of date: " + ", ".join(stale), file=sys.stderr)
        return 1
    print(f"{'checked' if args.check else 'wrote'} {len(files)} files in {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
