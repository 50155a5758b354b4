"""Shared pytest fixtures. DNS: a real server on loopback (see tests/dnsserver.py)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from dnsserver import DnsServer
from pgserver import PgServer

ZONES_DIR = Path(__file__).parent / "data" / "zones"


def zone_spec(spec: str | os.PathLike[str]) -> str:
    """``FILE[@origin]``; a bare file name is looked up in tests/data/zones."""
    text, origin = str(spec), ""
    if "@" in text:
        text, _, origin = text.rpartition("@")
        origin = "@" + origin
    path = Path(text)
    if not path.is_absolute() and not path.exists() and (ZONES_DIR / path).exists():
        path = ZONES_DIR / path
    return f"{path}{origin}"


@pytest.fixture
def zones_dir() -> Path:
    """The fixture master files (tests/data/zones)."""
    return ZONES_DIR


@pytest.fixture
def dns_server() -> Iterator[Callable[..., DnsServer]]:
    """Start DNS servers on 127.0.0.1; each one is stopped after the test.

    ``dns_server(*zones, delay_ms=0, servfail=(), blackhole=(), silent=False,
    outside="refused", udp_limit=None)`` returns a running :class:`DnsServer`;
    ``zones`` are ``FILE[@origin]`` (bare names are looked up in tests/data/zones).
    The test fails if a server raised while answering (``server.errors``).
    """
    servers: list[DnsServer] = []

    def start(*zones: str | os.PathLike[str], **options: object) -> DnsServer:
        server = DnsServer([zone_spec(z) for z in zones], **options)  # type: ignore[arg-type]
        servers.append(server)
        return server.start()

    yield start
    for server in servers:
        server.stop()
    for server in servers:
        assert not server.errors, f"DNS server {server.nameserver} failed: {server.errors}"


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    """One real PostgreSQL server for the session (tests/pgserver.py).

    Clients read its password from the ``chmod 600`` file in ``PGPASSFILE``, set
    here for this process and every process it starts.
    """
    before = os.environ.get("PGPASSFILE")
    with PgServer() as server:
        os.environ["PGPASSFILE"] = str(server.passfile)
        try:
            yield server
        finally:
            if before is None:
                os.environ.pop("PGPASSFILE", None)
            else:
                os.environ["PGPASSFILE"] = before


@pytest.fixture(params=["sqlite", "postgresql"])
def store_target(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Where a test's report store lives: a SQLite file, then a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return str(tmp_path / "reports.sqlite3")
    server: PgServer = request.getfixturevalue("pg_server")
    return server.new_database()
