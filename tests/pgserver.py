"""A real PostgreSQL server on 127.0.0.1 for the tests, from the Debian packages.

:class:`PgServer` runs ``initdb`` in a fresh directory (owned by the ``postgres``
user when the tests run as root: the server refuses to run as root), starts it
with ``pg_ctl`` on a free loopback port with its unix socket in that directory,
and requires a password (SCRAM) over TCP. Clients find the password in a
``chmod 600`` ``PGPASSFILE`` that the server object writes; nothing passes it on a
command line. :meth:`PgServer.new_database` gives each test its own database.
Start and stop are bounded in time; a missing server binary is an error.
"""

from __future__ import annotations

import glob
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

START_TIMEOUT = 30
USER = "dmarc"
PASSWORD = "pg-test-secret-8d41"


def find_bindir() -> Path:
    """Where ``initdb`` and ``pg_ctl`` are (PATH, else the newest /usr/lib/postgresql/N/bin)."""
    found = shutil.which("initdb")
    if found:
        return Path(os.path.realpath(found)).parent
    versions = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda p: (
            int(Path(p).parent.parent.name) if Path(p).parent.parent.name.isdigit() else 0
        ),
    )
    if not versions:
        raise RuntimeError(
            "PostgreSQL is not installed (no initdb): run scripts/install-test-deps.sh"
        )
    return Path(versions[-1]).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PgServer:
    """``with PgServer() as pg: url = pg.new_database()``."""

    def __init__(self, *, durable: bool = False) -> None:
        self.durable = durable
        """fsync on (benchmarks); the tests turn it off."""
        self.bindir = find_bindir()
        self.dir = Path(tempfile.mkdtemp(prefix="dmarc-audit-pg-"))
        self.dir.chmod(0o755)
        self.data = self.dir / "data"
        self.log = self.dir / "server.log"
        self.host = "127.0.0.1"
        self.port = free_port()
        self.passfile = self.dir / "client.pgpass"
        self._as_user: list[str] = []
        self._owner: tuple[int, int] | None = None
        if os.geteuid() == 0:
            entry = pwd.getpwnam("postgres")
            self._as_user = ["runuser", "-u", "postgres", "--"]
            self._owner = (entry.pw_uid, entry.pw_gid)
        self._names = itertools.count(1)

    def url(self, database: str, user: str = USER) -> str:
        return f"postgresql://{user}@{self.host}:{self.port}/{database}"

    def _run(self, *argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*self._as_user, *argv],
            capture_output=True,
            text=True,
            timeout=START_TIMEOUT + 10,
            check=False,
            stdin=subprocess.DEVNULL,
        )

    def start(self) -> PgServer:
        server_pw = self.dir / "initdb.pw"
        server_pw.write_text(PASSWORD + "\n")
        server_pw.chmod(0o600)
        if self._owner:
            os.chown(self.dir, *self._owner)
            os.chown(server_pw, *self._owner)
        done = self._run(
            str(self.bindir / "initdb"),
            "-D",
            str(self.data),
            "-U",
            USER,
            "--auth=scram-sha-256",
            f"--pwfile={server_pw}",
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
            "--no-sync",
        )
        server_pw.unlink()
        if done.returncode != 0:
            raise RuntimeError(f"initdb failed: {done.stderr.strip() or done.stdout.strip()}")
        options = (
            f"-c listen_addresses={self.host} -p {self.port} -k {self.dir} -c max_connections=40"
        )
        if not self.durable:
            options += " -c fsync=off -c full_page_writes=off"
        started = self._run(
            str(self.bindir / "pg_ctl"),
            "-D",
            str(self.data),
            "-l",
            str(self.log),
            "-w",
            "-t",
            str(START_TIMEOUT),
            "-o",
            options,
            "start",
        )
        if started.returncode != 0:
            log = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
            raise RuntimeError(f"pg_ctl start failed: {started.stderr.strip()}\n{log}")
        self.passfile.write_text(f"{self.host}:{self.port}:*:{USER}:{PASSWORD}\n")
        self.passfile.chmod(0o600)
        return self

    def stop(self) -> None:
        if self.data.exists():
            self._run(
                str(self.bindir / "pg_ctl"),
                "-D",
                str(self.data),
                "-m",
                "fast",
                "-w",
                "-t",
                str(START_TIMEOUT),
                "stop",
            )
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> PgServer:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def admin(self, sql: str, database: str = "postgres") -> None:
        """Run one statement as the superuser (autocommit)."""
        import psycopg

        with psycopg.connect(
            self.url(database), password=PASSWORD, autocommit=True, connect_timeout=10
        ) as conn:
            conn.execute(sql)  # type: ignore[arg-type]

    def new_database(self) -> str:
        """A fresh, empty database; returns its URL (no password in it)."""
        name = f"t{next(self._names)}"
        self.admin(f"CREATE DATABASE {name}")
        return self.url(name)
