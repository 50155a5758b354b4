"""Ingest reports straight from an IMAP mailbox: committed first, moved or flagged after.

``imaps://USER@HOST[:PORT]/FOLDER`` is implicit TLS (port 993), ``imap://…`` is
STARTTLS (port 143); the certificate is verified against the system's CAs or
``ca_file``. Plain text needs ``insecure``. The password comes from a file only its
owner can read or from the environment, never from the URL or argv, and is
redacted from every message this module makes.

Each message is fetched with ``BODY.PEEK[]`` (so it stays unseen), read by the
same reader as files, and each report in it is committed on its own. Only when
every report of the message is stored (or was already) is the message marked
done in the store, under its mailbox, ``UIDVALIDITY`` and UID, and then moved to
``archive_folder`` or flagged ``\\Seen``. A message that failed moves to
``error_folder`` when one is given, else it stays put and the next run retries it.
So a crash at any point loses nothing and stores nothing twice: a report committed
before the crash is a duplicate when its message is read again, and a message
marked done but not yet moved is moved without being read again. A new
``UIDVALIDITY`` makes every message new (duplicates keep that harmless).

A dropped connection is re-opened (a bounded number of times, with a growing
pause) and the run goes on with the messages left.
"""

from __future__ import annotations

import contextlib
import os
import socket
import ssl
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from dmarc_audit.errors import InputError
from dmarc_audit.reports.ingest import (
    FileOutcome,
    FileStatus,
    ReportOutcome,
    ReportStatus,
    ingest_one,
)

if TYPE_CHECKING:
    from dmarc_audit.reports.store import Store

ENV_USER = "DMARC_AUDIT_IMAP_USER"
ENV_PASSWORD = "DMARC_AUDIT_IMAP_PASSWORD"
ENV_PASSWORD_FILE = "DMARC_AUDIT_IMAP_PASSWORD_FILE"
DEFAULT_TIMEOUT = 60.0
RECONNECTS = 3
"""Times a dropped connection is re-opened in one run."""
RECONNECT_PAUSE = 1.0
"""Seconds before the first reconnect; doubled before each next one."""
MAX_MESSAGE_BYTES = 256 << 20
"""Messages larger than this are not fetched (the reader's cap for one message)."""
SEEN = b"\\Seen"
DELETED = b"\\Deleted"


class Security(str, Enum):
    TLS = "tls"
    """Implicit TLS from the first byte (``imaps://``)."""
    STARTTLS = "starttls"
    """STARTTLS before login, or fail (``imap://``)."""
    INSECURE = "insecure"
    """``imap://`` with ``insecure``: STARTTLS when offered, else plain text."""


@dataclass(frozen=True, slots=True)
class ImapSettings:
    """Where the mailbox is and how to treat its messages. ``password`` is never shown."""

    host: str
    port: int
    user: str
    folder: str
    security: Security
    password: str = field(default="", repr=False)
    ca_file: str | None = None
    timeout: float = DEFAULT_TIMEOUT
    unseen: bool = False
    archive_folder: str | None = None
    error_folder: str | None = None

    @property
    def mailbox(self) -> str:
        """The mailbox's name in output and in the store: ``imap://user@host:port/folder``."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"imap://{self.user}@{host.lower()}:{self.port}/{self.folder}"

    def message_source(self, uid: int) -> str:
        """``imap://user@host:port/INBOX;UID=42`` (RFC 5092 style)."""
        return f"{self.mailbox};UID={uid}"

    def redact(self, text: str) -> str:
        """``text`` with the password (if it appears at all) replaced by ``***``."""
        if self.password and len(self.password) >= 1:
            text = text.replace(self.password, "***")
        return text


def is_imap_url(text: str) -> bool:
    return text.lower().startswith(("imap://", "imaps://"))


@dataclass(frozen=True, slots=True)
class ImapFlags:
    """What the command line said; None means "not given"."""

    password_file: str | None = None
    ca_file: str | None = None
    insecure: bool = False
    timeout: float | None = None
    unseen: bool = False
    archive_folder: str | None = None
    error_folder: str | None = None


def parse_settings(
    url: str, flags: ImapFlags = ImapFlags(), environ: Mapping[str, str] | None = None
) -> ImapSettings:
    """Settings from ``imap[s]://USER@HOST[:PORT]/FOLDER``, flags and the environment.

    Raises :class:`InputError` (one line, no password in it) for anything wrong.
    """
    from dmarc_audit.secretfile import read_password_file

    env = os.environ if environ is None else environ
    scheme, _, rest = url.partition("://")
    scheme = scheme.lower()
    if scheme not in ("imap", "imaps"):
        raise InputError(f"{url}: expected imap://USER@HOST/FOLDER or imaps://…")
    netloc, _, path = rest.partition("/")
    userinfo, at, hostport = netloc.rpartition("@")
    shown = f"{scheme}://{hostport}/{path}"
    if ":" in userinfo:
        raise InputError(
            f"{scheme}://…@{hostport}/{path}: the URL must not carry a password (argv is "
            f"visible to every user); set {ENV_PASSWORD} or use --imap-password-file"
        )
    user = unquote(userinfo) if at else env.get(ENV_USER, "")
    if not user:
        raise InputError(f"{shown}: no user: write imap[s]://USER@HOST/FOLDER or set {ENV_USER}")
    try:
        split = urlsplit(f"//{hostport}")
        host, port = split.hostname or "", split.port
    except ValueError as exc:
        raise InputError(f"{shown}: {exc}") from None
    if not host:
        raise InputError(f"{shown}: no host name")
    if flags.insecure and scheme == "imaps":
        raise InputError("--imap-insecure applies to imap:// only (imaps:// is always TLS)")
    security = (
        Security.TLS
        if scheme == "imaps"
        else (Security.INSECURE if flags.insecure else Security.STARTTLS)
    )
    if port is None:
        port = 993 if security is Security.TLS else 143
    folder = unquote(path.rstrip("/")) or "INBOX"
    if flags.password_file:
        password = read_password_file(flags.password_file, "--imap-password-file")
    elif env.get(ENV_PASSWORD_FILE):
        password = read_password_file(env[ENV_PASSWORD_FILE], ENV_PASSWORD_FILE)
    elif env.get(ENV_PASSWORD):
        password = env[ENV_PASSWORD]
    else:
        raise InputError(
            f"{shown}: no IMAP password: set {ENV_PASSWORD} or {ENV_PASSWORD_FILE}, "
            "or give --imap-password-file"
        )
    if flags.ca_file is not None and not os.path.isfile(flags.ca_file):
        raise InputError(f"--ca-file {flags.ca_file}: file not found")
    for option, name in (
        ("--archive-folder", flags.archive_folder),
        ("--error-folder", flags.error_folder),
    ):
        if name is not None and (not name.strip() or name == folder):
            raise InputError(f"{option} {name!r}: must name another folder than {folder!r}")
    return ImapSettings(
        host=host,
        port=port,
        user=user,
        folder=folder,
        security=security,
        password=password,
        ca_file=flags.ca_file,
        timeout=flags.timeout if flags.timeout is not None else DEFAULT_TIMEOUT,
        unseen=flags.unseen,
        archive_folder=flags.archive_folder,
        error_folder=flags.error_folder,
    )


# --- results -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MailboxResult:
    """What one run did to one mailbox (the messages themselves are in ``messages``)."""

    mailbox: str
    messages: tuple[FileOutcome, ...] = ()
    already_done: int = 0
    """Messages found marked done in the store and not read again."""
    finished: int = 0
    """Of those, messages whose move or flag was left undone by an earlier run."""
    reconnects: int = 0
    error: str | None = None
    """Why the run stopped before the end of the folder (None: it reached the end)."""
    warnings: tuple[str, ...] = ()
    """Moves or flags that failed for messages already stored (the next run retries)."""
    seconds: float = 0.0

    def to_json(self) -> dict[str, object]:
        return {
            "mailbox": self.mailbox,
            "messages": len(self.messages),
            "failed": sum(1 for m in self.messages if m.status is FileStatus.FAILED),
            "already_done": self.already_done,
            "finished": self.finished,
            "reconnects": self.reconnects,
            "error": self.error,
            "warnings": list(self.warnings),
        }

    @property
    def failed(self) -> bool:
        """Some message failed, or the run did not reach the end of the folder."""
        return self.error is not None or any(m.status is FileStatus.FAILED for m in self.messages)

    def summary_line(self) -> str:
        read = len(self.messages)
        failed = sum(1 for m in self.messages if m.status is FileStatus.FAILED)
        parts = [f"{read:,} message{'s' if read != 1 else ''} read"]
        if failed:
            parts.append(f"{failed:,} failed")
        if self.already_done:
            parts.append(f"{self.already_done:,} already ingested")
        if self.finished:
            parts.append(f"{self.finished:,} left over from an earlier run moved or flagged")
        if self.reconnects:
            parts.append(f"{self.reconnects} reconnect{'s' if self.reconnects != 1 else ''}")
        line = f"{self.mailbox}: " + ", ".join(parts)
        if self.error:
            line += f"; stopped: {self.error}"
        return line


class ImapLoginError(Exception):
    """The server could not be reached, or refused TLS or the login: nothing was read."""


class _Disconnected(Exception):
    """The connection dropped; reconnect and go on."""


# --- the run -------------------------------------------------------------------------------

OnReport = Callable[[ReportOutcome], None]
OnMessage = Callable[[FileOutcome], None]


def ingest_mailbox(
    store: Store,
    settings: ImapSettings,
    *,
    read_options: object | None = None,
    on_report: OnReport | None = None,
    on_message: OnMessage | None = None,
    reconnects: int = RECONNECTS,
    pause: float = RECONNECT_PAUSE,
) -> MailboxResult:
    """Ingest the folder's reports; see the module docstring.

    Raises :class:`ImapLoginError` when the first connection or login fails.
    """
    import imapclient.exceptions as imap_errors

    started = time.perf_counter()
    run = _MailboxRun(store, settings, read_options, on_report, on_message)
    run.connect()  # a failure here is the caller's: wrong password, no server, bad TLS
    attempts = 0
    try:
        while True:
            try:
                run.step()
                break
            except _Stop as exc:
                run.error = settings.redact(str(exc))
                break
            except imap_errors.IMAPClientError as exc:  # a NO or BAD the run cannot go past
                run.error = settings.redact(f"the server said: {_text(exc)}")
                break
            except _Disconnected as exc:
                run.close()
                if attempts >= reconnects:
                    run.error = f"connection lost ({exc}); run again to continue"
                    break
                time.sleep(pause * (2**attempts))
                attempts += 1
                try:
                    run.connect()
                except ImapLoginError as again:
                    run.error = f"reconnect failed: {again}; run again to continue"
                    break
    finally:
        run.close()
    return MailboxResult(
        settings.mailbox,
        tuple(run.messages),
        run.already_done,
        run.finished,
        attempts,
        run.error,
        tuple(run.warnings),
        time.perf_counter() - started,
    )


class _MailboxRun:
    def __init__(
        self,
        store: Store,
        settings: ImapSettings,
        read_options: object | None,
        on_report: OnReport | None,
        on_message: OnMessage | None,
    ) -> None:
        self.store = store
        self.settings = settings
        self.read_options = read_options
        self.on_report = on_report
        self.on_message = on_message
        self.client: Any = None
        self.messages: list[FileOutcome] = []
        self.handled: set[int] = set()
        """UIDs this run finished with (read, or found done and tidied)."""
        self.already_done = 0
        self.finished = 0
        self.error: str | None = None
        self.warnings: list[str] = []
        self.uidvalidity: int | None = None

    # --- connection ------------------------------------------------------------

    def connect(self) -> None:
        s = self.settings
        try:
            self.client = open_client(s)
        except ImapLoginError as exc:
            raise ImapLoginError(s.redact(str(exc))) from None

    def close(self) -> None:
        client, self.client = self.client, None
        if client is None:
            return
        try:
            client.logout()
        except Exception:
            with contextlib.suppress(Exception):
                client.shutdown()

    def _call(self, what: str, fn: Callable[..., Any], *args: Any) -> Any:
        """One IMAP command; a dropped connection becomes :class:`_Disconnected`."""
        import imapclient.exceptions as imap_errors

        try:
            return fn(*args)
        except (imap_errors.IMAPClientAbortError, OSError, EOFError) as exc:
            raise _Disconnected(self.settings.redact(f"{what}: {_text(exc)}")) from None

    # --- one pass over the folder ----------------------------------------------

    def step(self) -> None:
        import imapclient.exceptions as imap_errors

        s, client = self.settings, self.client
        for folder in (s.archive_folder, s.error_folder):
            if folder:
                self._ensure_folder(folder)
        try:
            selected = self._call("SELECT", client.select_folder, s.folder)
        except imap_errors.IMAPClientError as exc:
            raise _Stop(f"cannot open folder {s.folder!r}: {_text(exc)}") from None
        uidvalidity = int(selected.get(b"UIDVALIDITY", 0))
        if self.uidvalidity is not None and uidvalidity != self.uidvalidity:
            self.handled.clear()  # the UIDs of before mean nothing now
        self.uidvalidity = uidvalidity
        everything = set(self._call("SEARCH", client.search, ["ALL"]))
        wanted = (
            set(self._call("SEARCH", client.search, ["UNSEEN"])) if s.unseen else set(everything)
        )
        done = done_uids(self.store, s.mailbox, uidvalidity)
        forget_uids(self.store, s.mailbox, uidvalidity, done - everything)
        self._tidy(sorted((done & everything) - self.handled), wanted)
        todo = sorted(wanted - done - self.handled)
        if not todo:
            return
        sizes = self._call("FETCH", client.fetch, todo, ["RFC822.SIZE"])
        for uid in todo:
            size = int(sizes.get(uid, {}).get(b"RFC822.SIZE", 0))
            self._message(uid, size)

    def _tidy(self, uids: list[int], wanted: set[int]) -> None:
        """Messages marked done but still here: finish their move or flag."""
        s = self.settings
        if not uids:
            return
        if s.archive_folder:
            for uid in uids:
                self.handled.add(uid)
                self.already_done += 1
                moved = self._moved(
                    FileOutcome(s.message_source(uid), FileStatus.INGESTED), uid, s.archive_folder
                )
                if moved.archive_error:
                    self.warnings.append(f"{moved.path}: {moved.archive_error}")
                else:
                    self.finished += 1
            return
        flags = self._call("FETCH", self.client.fetch, uids, ["FLAGS"])
        for uid in uids:
            self.handled.add(uid)
            if uid in wanted:
                self.already_done += 1
            if SEEN not in flags.get(uid, {}).get(b"FLAGS", ()):
                self._call("STORE", self.client.add_flags, [uid], [SEEN])
                self.finished += 1

    def _message(self, uid: int, size: int) -> None:
        s = self.settings
        source = s.message_source(uid)
        if size > MAX_MESSAGE_BYTES:
            outcome = ReportOutcome(
                source,
                ReportStatus.FAILED,
                error=f"message of {size:,} bytes is larger than the cap of "
                f"{MAX_MESSAGE_BYTES:,}; not fetched",
            )
            done = FileOutcome(source, FileStatus.FAILED, (outcome,))
            if self.on_report:
                self.on_report(outcome)
        else:
            data = self._fetch(uid)
            if data is None:  # gone meanwhile (another ingest moved it): nothing to do
                self.handled.add(uid)
                return
            done = ingest_one(self.store, data, source, self.read_options, self.on_report)
        assert self.uidvalidity is not None
        if done.status is FileStatus.INGESTED:
            mark_done(self.store, s.mailbox, self.uidvalidity, uid)
            if s.archive_folder:
                done = self._moved(done, uid, s.archive_folder)
            else:
                self._call("STORE", self.client.add_flags, [uid], [SEEN])
                done = _replace(done, archived_to="flagged \\Seen")
        elif s.error_folder:
            done = self._moved(done, uid, s.error_folder)
        self.handled.add(uid)
        self.messages.append(done)
        if self.on_message:
            self.on_message(done)

    def _fetch(self, uid: int) -> bytes | None:
        response = self._call("FETCH", self.client.fetch, [uid], ["BODY.PEEK[]"])
        item = response.get(uid)
        if not item:
            return None
        data = item.get(b"BODY[]")
        return bytes(data) if data is not None else b""

    def _moved(self, done: FileOutcome, uid: int, folder: str) -> FileOutcome:
        import imapclient.exceptions as imap_errors

        try:
            self._move(uid, folder)
        except imap_errors.IMAPClientError as exc:
            return _replace(done, archive_error=f"not moved to {folder!r}: {_text(exc)}")
        return _replace(done, archived_to=folder)

    def _move(self, uid: int, folder: str) -> None:
        client = self.client
        capabilities = self._call("CAPABILITY", client.capabilities)
        if b"MOVE" in capabilities:
            self._call("MOVE", client.move, [uid], folder)
            return
        self._call("COPY", client.copy, [uid], folder)
        self._call("STORE", client.add_flags, [uid], [DELETED])
        if b"UIDPLUS" in capabilities:  # never a plain EXPUNGE: it takes others' \Deleted too
            self._call("EXPUNGE", client.uid_expunge, [uid])

    def _ensure_folder(self, folder: str) -> None:
        import imapclient.exceptions as imap_errors

        if self._call("LIST", self.client.folder_exists, folder):
            return
        try:
            self._call("CREATE", self.client.create_folder, folder)
        except imap_errors.IMAPClientError as exc:
            if not self._call("LIST", self.client.folder_exists, folder):  # not a race
                raise _Stop(f"cannot create folder {folder!r}: {_text(exc)}") from None


class _Stop(Exception):
    """The folder cannot be worked on at all (it does not exist, cannot be created)."""


def open_client(settings: ImapSettings) -> Any:
    """A logged-in ``IMAPClient``; :class:`ImapLoginError` with one line when not."""
    import imapclient
    import imapclient.exceptions as imap_errors

    s = settings
    where = f"{s.host}:{s.port}"
    context = ssl.create_default_context(cafile=s.ca_file)
    try:
        client = imapclient.IMAPClient(
            s.host,
            s.port,
            ssl=s.security is Security.TLS,
            ssl_context=context,
            timeout=s.timeout,
        )
    except ssl.SSLCertVerificationError as exc:
        raise ImapLoginError(
            f"{where}: TLS certificate not trusted: {exc.verify_message}"
        ) from None
    except (OSError, imap_errors.IMAPClientError) as exc:
        raise ImapLoginError(f"{where}: cannot connect: {_text(exc)}") from None
    try:
        if s.security is not Security.TLS:
            if b"STARTTLS" in client.capabilities():
                client.starttls(context)
            elif s.security is Security.STARTTLS:
                raise ImapLoginError(
                    f"{where}: the server does not offer STARTTLS; use imaps:// "
                    "(or --imap-insecure to send the password in plain text)"
                )
        client.login(s.user, s.password)
    except ImapLoginError:
        _drop(client)
        raise
    except imap_errors.LoginError as exc:
        _drop(client)
        raise ImapLoginError(f"{where}: login as {s.user!r} refused: {_text(exc)}") from None
    except ssl.SSLCertVerificationError as exc:
        _drop(client)
        raise ImapLoginError(
            f"{where}: TLS certificate not trusted: {exc.verify_message}"
        ) from None
    except (OSError, EOFError, imap_errors.IMAPClientError) as exc:
        _drop(client)
        raise ImapLoginError(f"{where}: {_text(exc)}") from None
    return client


def _drop(client: Any) -> None:
    with contextlib.suppress(Exception):
        client.shutdown()


def _text(exc: BaseException) -> str:
    """One line from an IMAP or socket error (imaplib hands over bytes reprs)."""
    if isinstance(exc, socket.timeout | TimeoutError):
        return "timed out"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    args = exc.args[0] if exc.args else ""
    text = args.decode("utf-8", "replace") if isinstance(args, bytes) else str(args or exc)
    if text.startswith("b'") and text.endswith("'"):
        text = text[2:-1]
    return " ".join(text.split()) or type(exc).__name__


def _replace(done: FileOutcome, **changes: Any) -> FileOutcome:
    from dataclasses import replace

    return replace(done, **changes)


# --- progress in the store -----------------------------------------------------------------


def done_uids(store: Store, mailbox: str, uidvalidity: int) -> set[int]:
    """UIDs of the mailbox's messages whose reports are all committed."""
    rows = store.connection.execute(
        "SELECT uid FROM imap_messages WHERE mailbox = ? AND uidvalidity = ?",
        (mailbox, uidvalidity),
    )
    return {int(row[0]) for row in rows}


def mark_done(store: Store, mailbox: str, uidvalidity: int, uid: int) -> None:
    with store.transaction() as conn:
        conn.execute(
            "INSERT INTO imap_messages (mailbox, uidvalidity, uid, done_at) VALUES (?,?,?,?) "
            "ON CONFLICT (mailbox, uidvalidity, uid) DO NOTHING",
            (mailbox, uidvalidity, uid, int(time.time())),
        )


def forget_uids(store: Store, mailbox: str, uidvalidity: int, gone: Iterable[int]) -> None:
    """Drop the marks of messages no longer in the folder, and of an old UIDVALIDITY."""
    gone = list(gone)
    with store.transaction() as conn:
        conn.execute(
            "DELETE FROM imap_messages WHERE mailbox = ? AND uidvalidity != ?",
            (mailbox, uidvalidity),
        )
        for start in range(0, len(gone), 500):
            chunk = gone[start : start + 500]
            conn.execute(
                "DELETE FROM imap_messages WHERE mailbox = ? AND uidvalidity = ? "
                f"AND uid IN ({','.join('?' * len(chunk))})",
                (mailbox, uidvalidity, *chunk),
            )
