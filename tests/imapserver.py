"""A real Dovecot IMAP server on 127.0.0.1 for the tests, from the Debian package.

Each :class:`ImapServer` gets its own directory: a throwaway config, a users file,
a TLS certificate signed by a CA made in the test, Maildirs, logs and sockets. It
listens on two free ports (IMAP with STARTTLS, and implicit-TLS IMAPS), and plain
text authentication is refused before TLS. Mail is delivered with ``APPEND`` over
a real connection (:meth:`ImapServer.append`). Start and stop are bounded in time.
"""

from __future__ import annotations

import grp
import os
import pwd
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"
DOVEADM = shutil.which("doveadm") or "/usr/bin/doveadm"
START_TIMEOUT = 15.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class Account:
    user: str
    password: str


class ImapServer:
    """``with ImapServer(pki, {"user": "password"}) as server: ...`` (``pki``: ``make_pki``)."""

    def __init__(self, pki, users: dict[str, str]) -> None:
        # Its own directory, searchable by Dovecot's unprivileged processes (a pytest
        # tmp_path sits under a 0700 directory); removed by stop().
        self.dir = Path(tempfile.mkdtemp(prefix="dmarc-audit-dovecot-"))
        self.dir.chmod(0o755)
        self.pki = pki
        self.users = dict(users)
        self.host = "127.0.0.1"
        self.imap_port = free_port()
        self.imaps_port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.config = self.dir / "dovecot.conf"
        self.log = self.dir / "dovecot.log"

    # --- lifecycle ---------------------------------------------------------

    def start(self) -> ImapServer:
        if not os.path.exists(DOVECOT):
            raise RuntimeError(
                "dovecot is not installed: run scripts/install-test-deps.sh "
                "(Debian package dovecot-imapd)"
            )
        self._write_config()
        self.process = subprocess.Popen(
            [DOVECOT, "-F", "-c", str(self.config)],
            stdout=subprocess.DEVNULL,
            stderr=open(self.dir / "dovecot.stderr", "wb"),  # noqa: SIM115
        )
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"dovecot exited at start: {self.diagnostics()}")
            if self._accepts(self.imap_port) and self._accepts(self.imaps_port):
                return self
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"dovecot did not listen within {START_TIMEOUT} s: {self.diagnostics()}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> ImapServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def diagnostics(self) -> str:
        parts = []
        for name in ("dovecot.stderr", "dovecot.log"):
            path = self.dir / name
            if path.exists():
                parts.append(path.read_text(errors="replace")[-3000:])
        return "\n".join(parts)

    def _accepts(self, port: int) -> bool:
        try:
            with socket.create_connection((self.host, port), timeout=0.5):
                return True
        except OSError:
            return False

    def _write_config(self) -> None:
        run = self.dir / "run"
        state = self.dir / "state"
        mail = self.dir / "mail"
        for d in (run, state, mail):
            d.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            # Dovecot refuses mail access as root: the mailboxes belong to "nobody".
            mail_uid, mail_gid = pwd.getpwnam("nobody").pw_uid, grp.getgrnam("nogroup").gr_gid
            internal, login = "dovecot", "dovenull"
            os.chown(mail, mail_uid, mail_gid)
        else:
            mail_uid, mail_gid = os.geteuid(), os.getegid()
            internal = login = pwd.getpwuid(mail_uid).pw_name
        users = self.dir / "users"
        users.write_text("".join(f"{u}:{{PLAIN}}{p}\n" for u, p in self.users.items()))
        users.chmod(0o644)
        self.config.write_text(
            f"""
base_dir = {run}
state_dir = {state}
instance_name = dmarc-audit-test-{self.imap_port}
log_path = {self.log}
protocols = imap
listen = 127.0.0.1
default_internal_user = {internal}
default_login_user = {login}
first_valid_uid = {mail_uid}
last_valid_uid = {mail_uid}
first_valid_gid = 0
ssl = yes
ssl_cert = <{self.pki.cert_file}
ssl_key = <{self.pki.key_file}
ssl_min_protocol = TLSv1.2
disable_plaintext_auth = yes
auth_mechanisms = plain login
mail_location = maildir:{mail}/%u
mail_uid = {mail_uid}
mail_gid = {mail_gid}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {users}
}}
userdb {{
  driver = static
  args = uid={mail_uid} gid={mail_gid} home={mail}/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {self.imap_port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {self.imaps_port}
    ssl = yes
  }}
}}
service stats {{
  unix_listener stats-reader {{
    mode = 0666
  }}
  unix_listener stats-writer {{
    mode = 0666
  }}
}}
"""
        )

    # --- mail --------------------------------------------------------------

    def client(self, user: str):
        """A logged-in ``imapclient.IMAPClient`` over implicit TLS (for setting up tests)."""
        import imapclient

        context = ssl.create_default_context(cafile=str(self.pki.ca_file))
        client = imapclient.IMAPClient(
            self.host, self.imaps_port, ssl=True, ssl_context=context, timeout=10
        )
        client.login(user, self.users[user])
        return client

    def append(self, user: str, messages: list[bytes], folder: str = "INBOX") -> None:
        """Deliver ``messages`` into ``folder`` (created if missing) with IMAP APPEND."""
        client = self.client(user)
        try:
            if not client.folder_exists(folder):
                client.create_folder(folder)
            for message in messages:
                client.append(folder, message)
        finally:
            client.logout()

    def folder_uids(self, user: str, folder: str = "INBOX") -> dict[int, tuple[bytes, ...]]:
        """``{uid: flags}`` of the messages in ``folder`` (empty when it does not exist)."""
        client = self.client(user)
        try:
            if not client.folder_exists(folder):
                return {}
            client.select_folder(folder, readonly=True)
            uids = client.search("ALL")
            if not uids:
                return {}
            return {uid: tuple(d[b"FLAGS"]) for uid, d in client.fetch(uids, ["FLAGS"]).items()}
        finally:
            client.logout()

    def kick(self, user: str) -> None:
        """Disconnect every session of ``user`` (``doveadm kick``), as a server restart would."""
        subprocess.run(
            [DOVEADM, "-c", str(self.config), "kick", user],
            check=True,
            capture_output=True,
            timeout=10,
        )
