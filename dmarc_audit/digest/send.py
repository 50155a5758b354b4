"""Deliver a message over SMTP, and read the SMTP settings from flags and the environment.

TLS modes (:class:`TlsMode`): ``auto`` (default) uses STARTTLS when the server
offers it and says so on the log when it does not; ``starttls`` fails without it;
``tls`` is implicit TLS (SMTPS, port 465); ``none`` never encrypts. Certificates
are verified against the system's CAs, or ``cafile``. A password is never sent
over an unencrypted connection except to a loopback address.

Credentials never come from the command line: the user from ``--smtp-user`` or
``DMARC_AUDIT_SMTP_USER``, the password from a file only its owner can read
(``--smtp-password-file`` or ``DMARC_AUDIT_SMTP_PASSWORD_FILE``) or from
``DMARC_AUDIT_SMTP_PASSWORD``.
"""

from __future__ import annotations

import ipaddress
import os
import smtplib
import socket
import ssl
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from email.message import EmailMessage
from enum import Enum
from pathlib import Path

from dmarc_audit.errors import InputError
from dmarc_audit.secretfile import read_password_file

MAX_TIMEOUT = 600.0
"""The longest ``--smtp-timeout`` accepted, in seconds."""
ENV_HOST = "DMARC_AUDIT_SMTP_HOST"
ENV_PORT = "DMARC_AUDIT_SMTP_PORT"
ENV_TLS = "DMARC_AUDIT_SMTP_TLS"
ENV_USER = "DMARC_AUDIT_SMTP_USER"
ENV_PASSWORD = "DMARC_AUDIT_SMTP_PASSWORD"
ENV_PASSWORD_FILE = "DMARC_AUDIT_SMTP_PASSWORD_FILE"
ENV_CAFILE = "DMARC_AUDIT_SMTP_CAFILE"
ENV_FROM = "DMARC_AUDIT_SMTP_FROM"

DEFAULT_HOST = "localhost"
DEFAULT_TIMEOUT = 30.0


class TlsMode(str, Enum):
    AUTO = "auto"
    """STARTTLS when the server offers it; plain (and a note on the log) when not."""
    STARTTLS = "starttls"
    """STARTTLS, or fail."""
    TLS = "tls"
    """Implicit TLS from the first byte (SMTPS)."""
    NONE = "none"
    """Never encrypt."""

    @property
    def default_port(self) -> int:
        return 465 if self is TlsMode.TLS else 25


@dataclass(frozen=True, slots=True)
class SmtpSettings:
    host: str = DEFAULT_HOST
    port: int = 25
    tls: TlsMode = TlsMode.AUTO
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    cafile: str | None = None
    timeout: float = DEFAULT_TIMEOUT

    @property
    def where(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


@dataclass(frozen=True, slots=True)
class SmtpFlags:
    """What the command line said; None means "not given" (the environment decides)."""

    host: str | None = None
    port: int | None = None
    tls: TlsMode | None = None
    user: str | None = None
    password_file: str | None = None
    cafile: str | None = None
    timeout: float | None = None


@dataclass(frozen=True, slots=True)
class Delivery:
    """A message the server accepted."""

    where: str
    encryption: str
    """``STARTTLS``, ``TLS`` or ``none``."""
    recipients: tuple[str, ...]


class SendError(Exception):
    """The message was not delivered; the text is one line saying why."""


# --- settings --------------------------------------------------------------------------------


def resolve_settings(flags: SmtpFlags, environ: Mapping[str, str] | None = None) -> SmtpSettings:
    """Flags first, then ``DMARC_AUDIT_SMTP_*``, then defaults; bad values raise InputError."""
    env = os.environ if environ is None else environ
    host = flags.host or env.get(ENV_HOST) or DEFAULT_HOST
    _check_host(host, "--smtp-host" if flags.host else ENV_HOST)
    tls = flags.tls or _env_tls(env)
    port = flags.port if flags.port is not None else _env_port(env)
    if port is None:
        port = tls.default_port
    if flags.user is not None and ":" in flags.user:
        raise InputError(
            "--smtp-user must not carry a password ('user:password' on the "
            f"command line is visible to every user); set {ENV_PASSWORD} or "
            "use --smtp-password-file"
        )
    user = flags.user or env.get(ENV_USER) or None
    password = None
    if flags.password_file:
        password = read_password_file(flags.password_file, "--smtp-password-file")
    elif env.get(ENV_PASSWORD_FILE):
        password = read_password_file(env[ENV_PASSWORD_FILE], ENV_PASSWORD_FILE)
    elif env.get(ENV_PASSWORD):
        password = env[ENV_PASSWORD]
    if password is not None and not user:
        raise InputError(f"an SMTP password is set but no user: give --smtp-user or {ENV_USER}")
    if user and password is None:
        raise InputError(
            f"SMTP user {user!r} has no password: set {ENV_PASSWORD} or "
            f"{ENV_PASSWORD_FILE}, or give --smtp-password-file"
        )
    cafile = flags.cafile or env.get(ENV_CAFILE) or None
    if cafile is not None and not Path(cafile).is_file():
        raise InputError(
            f"{'--smtp-cafile' if flags.cafile else ENV_CAFILE} {cafile}: file not found"
        )
    timeout = flags.timeout if flags.timeout is not None else DEFAULT_TIMEOUT
    from dmarc_audit.dns.setup import timeout_problem

    problem = timeout_problem(timeout, MAX_TIMEOUT)
    if problem is not None:
        raise InputError(f"--smtp-timeout {timeout:g}: {problem}")
    return SmtpSettings(host, port, tls, user, password, cafile, timeout)


def _check_host(host: str, source: str) -> None:
    if "@" in host or "/" in host or not host.strip() or any(c.isspace() for c in host):
        from dmarc_audit.redact import redact_host

        raise InputError(
            f"{source} {redact_host(host)}: expected a host name or address "
            "(credentials never go in the host)"
        )


def _env_tls(env: Mapping[str, str]) -> TlsMode:
    value = env.get(ENV_TLS, "").strip().lower()
    if not value:
        return TlsMode.AUTO
    try:
        return TlsMode(value)
    except ValueError:
        raise InputError(
            f"{ENV_TLS}={value!r}: expected one of {', '.join(m.value for m in TlsMode)}"
        ) from None


def _env_port(env: Mapping[str, str]) -> int | None:
    value = env.get(ENV_PORT, "").strip()
    if not value:
        return None
    if not value.isdigit() or not 0 < int(value) < 65536:
        raise InputError(f"{ENV_PORT}={value!r}: expected a port number (1-65535)")
    return int(value)


def is_loopback(host: str) -> bool:
    if host.lower() in ("localhost", "localhost.", "ip6-localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


# --- delivery --------------------------------------------------------------------------------


def send_message(
    message: EmailMessage,
    settings: SmtpSettings,
    sender: str,
    recipients: Sequence[str],
    log: Callable[[str], None] = lambda _line: None,
) -> Delivery:
    """Hand ``message`` to the server for every recipient, or raise :class:`SendError`.

    A recipient the server refuses makes the whole send fail (the caller keeps the
    marker where it was, so the next digest repeats what this one said).
    """
    where = settings.where
    try:
        context = ssl.create_default_context(cafile=settings.cafile)
    except (OSError, ssl.SSLError) as exc:
        raise SendError(f"cannot load CA file {settings.cafile}: {_reason(exc)}") from None
    try:
        client, encryption = _connect(settings, context)
        with client:
            encryption = _secure(client, settings, context, encryption, log)
            if settings.user:
                if encryption == "none" and not is_loopback(settings.host):
                    raise SendError(
                        f"{where}: refusing to send the SMTP password over an "
                        "unencrypted connection (use --smtp-tls starttls or tls)"
                    )
                client.login(settings.user, settings.password or "")
            refused = client.send_message(message, from_addr=sender, to_addrs=list(recipients))
            if refused:
                raise SendError(f"{where}: {_refused(refused)}")
    except SendError:
        raise
    except (smtplib.SMTPException, OSError) as exc:
        raise SendError(f"{where}: {_failure(exc, settings)}") from None
    return Delivery(where, encryption, tuple(recipients))


def _connect(settings: SmtpSettings, context: ssl.SSLContext) -> tuple[smtplib.SMTP, str]:
    """The connection (implicit TLS or plain) and its encryption so far."""
    if settings.tls is TlsMode.TLS:
        client = smtplib.SMTP_SSL(
            settings.host, settings.port, timeout=settings.timeout, context=context
        )
        return client, "TLS"
    return smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout), "none"


def _secure(
    client: smtplib.SMTP,
    settings: SmtpSettings,
    context: ssl.SSLContext,
    encryption: str,
    log: Callable[[str], None],
) -> str:
    """EHLO, then STARTTLS when asked for or offered; the encryption in the end."""
    client.ehlo_or_helo_if_needed()
    if settings.tls not in (TlsMode.AUTO, TlsMode.STARTTLS):
        return encryption
    if client.has_extn("starttls"):
        client.starttls(context=context)
        client.ehlo()
        return "STARTTLS"
    if settings.tls is TlsMode.STARTTLS:
        raise SendError(
            f"{settings.where}: the server does not offer STARTTLS (--smtp-tls starttls)"
        )
    log(f"{settings.where} does not offer STARTTLS: sending without encryption")
    return encryption


def _failure(exc: BaseException, settings: SmtpSettings) -> str:
    """What went wrong talking to the server, in one line (after ``host:port: ``)."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return _refused(exc.recipients)
    if isinstance(exc, smtplib.SMTPSenderRefused):
        return f"sender {exc.sender} refused: {exc.smtp_code} {_text(exc.smtp_error)}"
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return f"login as {settings.user} refused: {exc.smtp_code} {_text(exc.smtp_error)}"
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return _reason(exc)
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"server said {exc.smtp_code} {_text(exc.smtp_error)}"
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return f"connection closed by the server ({_reason(exc) or 'no reason given'})"
    if isinstance(exc, smtplib.SMTPException):
        return _reason(exc)
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"TLS certificate not trusted ({exc.verify_message}); give the CA with --smtp-cafile"
    if isinstance(exc, ssl.SSLError):
        return f"TLS failed: {_reason(exc)}"
    if isinstance(exc, TimeoutError):
        return f"timed out after {settings.timeout:g} s"
    if isinstance(exc, socket.gaierror):
        return f"cannot resolve {settings.host}: {exc.strerror}"
    assert isinstance(exc, OSError)
    return exc.strerror or _reason(exc)


def _refused(refused: Mapping[str, tuple[int, bytes | str]]) -> str:
    items = [f"{rcpt} ({code} {_text(text)})" for rcpt, (code, text) in refused.items()]
    return f"recipient{'s' if len(items) != 1 else ''} refused: {', '.join(items)}"


def _text(value: bytes | str) -> str:
    text = value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
    return " ".join(text.split())


def _reason(exc: BaseException) -> str:
    return " ".join(str(exc).split())
