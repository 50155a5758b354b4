"""Helpers for the digest tests: a real SMTP server on loopback, TLS certificates made
here, synthetic aggregate reports stored through the store API, zone files, and the
command line run in a subprocess (``digest`` is registered on the real app there)."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import os
import socket
import ssl
import subprocess
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path

from dmarc_audit.reports.model import (
    AggregateMeta,
    AggregateRecord,
    AggregateReport,
    AggregateSchema,
    AuthResult,
    PolicyPublished,
)
from dmarc_audit.reports.store import Store

ROOT = Path(__file__).resolve().parent.parent
UTC = dt.UTC

RUNNER = """
import sys
from dmarc_audit.cli import app, digest
if not any(c.name == "digest" for c in app.app.registered_commands):
    app.app.command("digest")(digest.digest_command)
app.main(sys.argv[1:])
"""


def test_support_module_loads() -> None:
    """Keeps pytest from reporting this helper module as empty."""
    assert free_port() > 0


# --- the command line --------------------------------------------------------------------


@dataclass(frozen=True)
class Run:
    code: int
    out: str
    err: str
    out_bytes: bytes = b""


def run_digest(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None, timeout: float = 90
) -> Run:
    """``dmarc-audit digest ARGS`` in a child process (stdout kept as bytes too)."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("DMARC_AUDIT_SMTP")}
    full_env = {**clean, "NO_COLOR": "1", "COLUMNS": "200", "PYTHONPATH": str(ROOT), **(env or {})}
    proc = subprocess.run(
        [sys.executable, "-c", RUNNER, "digest", *args],
        capture_output=True,
        env=full_env,
        timeout=timeout,
        cwd=cwd or ROOT,
    )
    return Run(
        proc.returncode,
        proc.stdout.decode("utf-8", "replace"),
        proc.stderr.decode("utf-8", "replace"),
        proc.stdout,
    )


def run_cli(*args: str, cwd: Path | None = None) -> Run:
    proc = subprocess.run(
        [sys.executable, "-m", "dmarc_audit", *args],
        capture_output=True,
        env={**os.environ, "NO_COLOR": "1", "PYTHONPATH": str(ROOT)},
        timeout=90,
        cwd=cwd or ROOT,
    )
    return Run(proc.returncode, proc.stdout.decode(), proc.stderr.decode(), proc.stdout)


# --- an SMTP server ------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes
    tls: bool
    """The session was encrypted (STARTTLS or implicit TLS) when the message came."""
    login: str | None

    @property
    def message(self) -> EmailMessage:
        return email.message_from_bytes(self.data, policy=email.policy.default)  # type: ignore[return-value]


@dataclass
class _Handler:
    reject_rcpt: frozenset[str] = frozenset()
    received: list[Received] = field(default_factory=list)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.lower() in self.reject_rcpt:
            return f"550 5.1.1 <{address}>: mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        login = (
            session.auth_data.login.decode()
            if session.authenticated and session.auth_data is not None
            else None
        )
        self.received.append(
            Received(
                envelope.mail_from,
                list(envelope.rcpt_tos),
                envelope.original_content or envelope.content,
                _encrypted(server, session),
                login,
            )
        )
        return "250 2.0.0 queued"


def _encrypted(server, session) -> bool:
    """STARTTLS sets ``session.ssl``; implicit TLS shows on the transport."""
    transport = server.transport
    return session.ssl is not None or (
        transport is not None and transport.get_extra_info("ssl_object") is not None
    )


class SmtpServer:
    """aiosmtpd on 127.0.0.1 in a thread. ``starttls``: offer STARTTLS with ``context``;
    ``implicit``: TLS from the first byte; ``users``: AUTH LOGIN/PLAIN accounts."""

    def __init__(
        self,
        *,
        reject_rcpt: Iterable[str] = (),
        context: ssl.SSLContext | None = None,
        implicit: bool = False,
        users: dict[str, str] | None = None,
    ) -> None:
        from aiosmtpd.controller import Controller

        self.handler = _Handler(frozenset(a.lower() for a in reject_rcpt))
        self.port = free_port()
        kwargs: dict[str, object] = {}
        if context is not None and not implicit:
            kwargs["tls_context"] = context
        if implicit:
            kwargs["ssl_context"] = context
        if users is not None:
            kwargs["authenticator"] = _Authenticator(users)
            kwargs["auth_require_tls"] = True
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port, **kwargs)

    @property
    def received(self) -> list[Received]:
        return self.handler.received

    def __enter__(self) -> SmtpServer:
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()


class _Authenticator:
    def __init__(self, users: dict[str, str]) -> None:
        self.users = users

    def __call__(self, server, session, envelope, mechanism, auth_data):
        from aiosmtpd.smtp import AuthResult as SmtpAuthResult
        from aiosmtpd.smtp import LoginPassword

        ok = (
            isinstance(auth_data, LoginPassword)
            and self.users.get(auth_data.login.decode()) == auth_data.password.decode()
        )
        return SmtpAuthResult(success=ok, handled=False, auth_data=auth_data)


# --- TLS -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Pki:
    ca_file: Path
    cert_file: Path
    key_file: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert_file, self.key_file)
        return context


def make_pki(directory: Path) -> Pki:
    """A CA and a server certificate for localhost / 127.0.0.1, made with ``cryptography``."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = dt.datetime.now(UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "dmarc-audit test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    paths = Pki(directory / "ca.pem", directory / "server.pem", directory / "server.key")
    paths.ca_file.write_bytes(ca.public_bytes(pem))
    paths.cert_file.write_bytes(cert.public_bytes(pem))
    paths.key_file.write_bytes(
        key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return paths


# --- reports -------------------------------------------------------------------------------

DOMAIN = "shop.example"
OWN_MTA = "192.0.2.10"
ESP = "203.0.113.7"
NEW_SENDER = "198.51.100.4"
PERIOD_START = dt.datetime(2024, 6, 10, tzinfo=UTC)
"""The digest period in the scenario: 2024-06-10 … 2024-06-16 (``--until 2024-06-16``)."""


def record(ip: str, count: int, *, passed: bool, esp: bool = False) -> AggregateRecord:
    if esp:
        auth = (
            AuthResult("dkim", "esp.example", "pass", "k1"),
            AuthResult("spf", "bounce.esp.example", "pass"),
        )
        return AggregateRecord(
            ip, count, "none", "fail", "fail", DOMAIN, "bounce.esp.example", None, (), auth
        )
    auth = (
        AuthResult("dkim", DOMAIN, "pass" if passed else "fail", "s1"),
        AuthResult("spf", DOMAIN, "pass" if passed else "fail"),
    )
    verdict = "pass" if passed else "fail"
    return AggregateRecord(ip, count, "none", verdict, verdict, DOMAIN, DOMAIN, None, (), auth)


def report(
    day: dt.datetime,
    records: Sequence[AggregateRecord],
    org: str = "google.com",
    domain: str = DOMAIN,
) -> AggregateReport:
    meta = AggregateMeta(
        org_name=org,
        email=f"noreply-dmarc@{org}",
        report_id=f"{org}-{day:%Y%m%d}-{domain}",
        begin=day,
        end=day + dt.timedelta(days=1),
        policy=PolicyPublished(domain, p="none", sp="none", adkim="r", aspf="r", pct=100),
        schema=AggregateSchema.RFC7489,
    )
    return AggregateReport(meta, iter(list(records)), source=f"test:{day:%Y-%m-%d}")


def scenario_reports() -> list[AggregateReport]:
    """Two weeks of shop.example: the week before PERIOD_START and the period itself.

    Before: own MTA 1,000 passing a day, the ESP 20 failing a day (7,140 messages,
    98.0% pass). The period: own MTA 1,000 a day, the ESP 50 failing a day, a new
    sender (30 passing a day) from day 3 on: 7,500 messages, 7,150 pass (95.3%).
    """
    out = []
    for i in range(14):
        day = PERIOD_START + dt.timedelta(days=i - 7)
        current = i >= 7
        records = [
            record(OWN_MTA, 1000, passed=True),
            record(ESP, 50 if current else 20, passed=False, esp=True),
        ]
        if current and i >= 9:
            records.append(record(NEW_SENDER, 30, passed=True))
        out.append(report(day, records))
    return out


def make_store(path: Path, reports: Iterable[AggregateReport] | None = None) -> Path:
    with Store(path) as store:
        for r in scenario_reports() if reports is None else reports:
            store.add(r)
    return path


# --- zones ---------------------------------------------------------------------------------

ZONE_V1 = """$ORIGIN shop.example.
$TTL 3600
@       IN SOA ns1 hostmaster 2024061001 7200 3600 1209600 3600
@       IN NS  ns1
ns1     IN A   192.0.2.53
@       IN MX  10 mx1.shop.example.
mx1     IN A   192.0.2.25
@       IN TXT "v=spf1 ip4:192.0.2.10 include:_spf.esp.example ~all"
_dmarc  IN TXT "v=DMARC1; p=none; rua=mailto:dmarc@shop.example"
"""

ZONE_V2 = """$ORIGIN shop.example.
$TTL 3600
@       IN SOA ns1 hostmaster 2024061701 7200 3600 1209600 3600
@       IN NS  ns1
ns1     IN A   192.0.2.53
@       IN MX  10 mx1.shop.example.
mx1     IN A   192.0.2.25
@       IN TXT "v=spf1 ip4:192.0.2.10 include:_spf.esp.example +all"
_dmarc  IN TXT "v=DMARC1; p=quarantine; rua=mailto:dmarc@shop.example"
"""

ESP_ZONE = """$ORIGIN esp.example.
$TTL 3600
@       IN SOA ns1 hostmaster 1 7200 3600 1209600 3600
@       IN NS  ns1
ns1     IN A   192.0.2.54
_spf    IN TXT "v=spf1 ip4:203.0.113.0/24 -all"
"""


PARENT_ZONE = """$ORIGIN example.
$TTL 3600
@       IN SOA ns1 hostmaster 1 7200 3600 1209600 3600
@       IN NS  ns1
ns1     IN A   192.0.2.55
"""


def write_zones(directory: Path, version: int) -> list[str]:
    """Zone files for shop.example (version 1 or 2), its ESP and the parent ``example``
    (where the DMARC tree walk looks); ``--zone`` arguments."""
    directory.mkdir(parents=True, exist_ok=True)
    shop = directory / f"shop.example.v{version}.zone"
    shop.write_text(ZONE_V1 if version == 1 else ZONE_V2)
    esp = directory / "esp.example.zone"
    esp.write_text(ESP_ZONE)
    parent = directory / "example.zone"
    parent.write_text(PARENT_ZONE)
    return [f"{shop}@shop.example", f"{esp}@esp.example", f"{parent}@example"]


def zone_args(zones: Sequence[str]) -> list[str]:
    out: list[str] = []
    for z in zones:
        out += ["--zone", z]
    return out


# --- reading what arrived ------------------------------------------------------------------


def parts(message: EmailMessage) -> list[tuple[str, str | None]]:
    return [(p.get_content_type(), p.get("Content-ID")) for p in message.walk()]


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height from the IHDR chunk (after checking the PNG signature)."""
    import struct
    import zlib

    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG signature"
    length, kind = struct.unpack(">I4s", data[8:16])
    assert kind == b"IHDR" and length == 13, "first chunk is not IHDR"
    body = data[16 : 16 + 13]
    crc = struct.unpack(">I", data[29:33])[0]
    assert zlib.crc32(kind + body) == crc, "IHDR CRC mismatch"
    width, height = struct.unpack(">II", body[:8])
    return width, height
