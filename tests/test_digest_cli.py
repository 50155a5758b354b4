"""``digest`` usage errors, ``--dry-run``, "could not check" posture and ``--since last``.

Usage errors exit 2 with one line and touch nothing; DNS that cannot be reached still
gives a digest (exit 0) that says so.
"""

from __future__ import annotations

import email
import email.policy
import sqlite3
from pathlib import Path

import pytest
from test_digest_support import (
    DOMAIN,
    ROOT,
    SmtpServer,
    make_store,
    run_cli,
    run_digest,
    write_zones,
    zone_args,
)

PERIOD = ["--since", "7d", "--until", "2024-06-16"]


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return make_store(tmp_path / "reports.sqlite3")


def snapshot_count(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT COUNT(*) FROM snapshots").fetchone()[0]


def marker_rows(db: Path) -> list[tuple]:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT * FROM digest_markers").fetchall()


def read_eml(path: Path) -> email.message.EmailMessage:
    return email.message_from_bytes(path.read_bytes(), policy=email.policy.default)  # type: ignore[return-value]


def one_error(run, *needles: str) -> None:
    assert run.code == 2, run.err
    assert run.out == ""
    lines = run.err.strip().splitlines()
    assert len(lines) == 1, run.err
    assert lines[0].startswith("dmarc-audit: error: ")
    for needle in needles:
        assert needle in lines[0]


# --- passwords never on the command line -------------------------------------------------


def test_password_option_is_refused(db: Path) -> None:
    run = run_digest(
        "--to",
        "ops@example.com",
        "--db",
        str(db),
        "--smtp-user",
        "digest",
        "--smtp-password",
        "hunter2",
        "--offline",
    )
    one_error(
        run, "--smtp-password is refused", "DMARC_AUDIT_SMTP_PASSWORD", "--smtp-password-file"
    )
    assert "hunter2" not in run.err
    assert snapshot_count(db) == 0


def test_user_with_password_is_refused(db: Path) -> None:
    run = run_digest(
        "--to", "ops@example.com", "--db", str(db), "--smtp-user", "digest:hunter2", "--offline"
    )
    one_error(run, "--smtp-user must not carry a password")
    assert "hunter2" not in run.err


def test_host_with_credentials_is_refused(db: Path) -> None:
    run = run_digest(
        "--to",
        "ops@example.com",
        "--db",
        str(db),
        "--smtp-host",
        "digest:hunter2@smtp.example.com",
        "--offline",
    )
    one_error(run, "--smtp-host", "credentials never go in the host")


def test_password_file_readable_by_others_is_refused(db: Path, tmp_path: Path) -> None:
    secret = tmp_path / "pw"
    secret.write_text("hunter2\n")
    secret.chmod(0o644)
    run = run_digest(
        "--to",
        "ops@example.com",
        "--db",
        str(db),
        "--smtp-user",
        "digest",
        "--smtp-password-file",
        str(secret),
        "--offline",
    )
    one_error(run, "readable by group or others (mode 0644)", f"chmod 600 {secret}")
    secret.chmod(0o640)
    run = run_digest(
        "--to",
        "ops@example.com",
        "--db",
        str(db),
        "--offline",
        env={"DMARC_AUDIT_SMTP_USER": "digest", "DMARC_AUDIT_SMTP_PASSWORD_FILE": str(secret)},
    )
    one_error(run, "DMARC_AUDIT_SMTP_PASSWORD_FILE", "mode 0640")
    assert snapshot_count(db) == 0


def test_user_without_password(db: Path) -> None:
    run = run_digest(
        "--to",
        "ops@example.com",
        "--db",
        str(db),
        "--offline",
        env={"DMARC_AUDIT_SMTP_USER": "digest"},
    )
    one_error(run, "has no password")


@pytest.mark.parametrize(
    ("args", "env", "needle"),
    [
        ([], {}, "no recipients"),
        (["--to", "not-an-address"], {}, "not an e-mail address"),
        (["--to", "ops@example.com", "--output", "x.eml"], {}, "add --dry-run"),
        (["--to", "ops@example.com", "--since", "soon"], {}, "--since 'soon'"),
        (
            ["--to", "ops@example.com", "--since", "2024-06-20", "--until", "2024-06-10"],
            {},
            "is not before",
        ),
        (
            ["--to", "ops@example.com"],
            {"DMARC_AUDIT_SMTP_PORT": "smtp"},
            "DMARC_AUDIT_SMTP_PORT='smtp'",
        ),
        (["--to", "ops@example.com"], {"DMARC_AUDIT_SMTP_TLS": "ssl"}, "DMARC_AUDIT_SMTP_TLS"),
        (["--to", "ops@example.com", "--domain", "bad..name"], {}, "bad..name"),
    ],
)
def test_usage_errors(db: Path, args: list[str], env: dict[str, str], needle: str) -> None:
    run = run_digest(*args, "--db", str(db), "--offline", env=env)
    one_error(run, needle)
    assert snapshot_count(db) == 0


def test_missing_store_is_not_created(tmp_path: Path) -> None:
    missing = tmp_path / "nothing.sqlite3"
    run = run_digest("--to", "ops@example.com", "--db", str(missing), "--offline")
    one_error(run, "no report store at")
    assert not missing.exists()


# --- dry run -------------------------------------------------------------------------------


def test_dry_run_writes_the_message_and_keeps_the_marker(db: Path, tmp_path: Path) -> None:
    zones = write_zones(tmp_path / "zones", 1)
    out = tmp_path / "digest.eml"
    run = run_digest(
        "--to",
        "ops@example.com",
        "--db",
        str(db),
        *PERIOD,
        "--domain",
        DOMAIN,
        "--offline",
        *zone_args(zones),
        "--dry-run",
        "--output",
        str(out),
    )
    assert run.code == 0, run.err
    assert run.out == ""
    assert "wrote the digest to" in run.err
    msg = read_eml(out)
    assert msg["To"] == "ops@example.com"
    assert msg.get_body(("html",)) is not None
    assert marker_rows(db) == []
    assert snapshot_count(db) == 1  # the audit run is kept all the same

    to_stdout = run_digest(
        "--to",
        "ops@example.com",
        "--db",
        str(db),
        *PERIOD,
        "--domain",
        DOMAIN,
        "--offline",
        *zone_args(zones),
        "--dry-run",
    )
    assert to_stdout.code == 0
    assert email.message_from_bytes(to_stdout.out_bytes)["Subject"].startswith(
        "dmarc-audit weekly: shop.example"
    )


# --- DNS that cannot be reached ------------------------------------------------------------


def assert_could_not_check(msg: email.message.EmailMessage) -> None:
    text = msg.get_body(("plain",)).get_content()
    html = msg.get_body(("html",)).get_content()
    assert "Posture now: could not check:" in text
    assert "could not check</b>" in html
    assert "not compared (DNS could not be checked)" in text
    assert msg["Subject"].endswith("posture could not be checked")
    assert "7,500 messages" in text  # the report figures are there all the same


def test_offline_without_zones_is_sent_as_could_not_check(db: Path) -> None:
    with SmtpServer() as server:
        run = run_digest(
            "--to",
            "ops@example.com",
            "--db",
            str(db),
            *PERIOD,
            "--domain",
            DOMAIN,
            "--offline",
            "--smtp-host",
            "127.0.0.1",
            "--smtp-port",
            str(server.port),
        )
    assert run.code == 0, run.err
    assert "shop.example: posture could not be checked" in run.err
    assert_could_not_check(server.received[0].message)
    assert len(marker_rows(db)) == 1


def test_blackholed_dns_is_sent_as_could_not_check(db: Path, dns_server) -> None:
    silent = dns_server(silent=True)
    with SmtpServer() as server:
        run = run_digest(
            "--to",
            "ops@example.com",
            "--db",
            str(db),
            *PERIOD,
            "--domain",
            DOMAIN,
            "--nameserver",
            silent.nameserver,
            "--timeout",
            "0.2",
            "--smtp-host",
            "127.0.0.1",
            "--smtp-port",
            str(server.port),
        )
    assert run.code == 0, run.err
    assert_could_not_check(server.received[0].message)
    text = server.received[0].message.get_body(("plain",)).get_content()
    assert "timeout" in text


def test_could_not_check_hides_no_change(db: Path, tmp_path: Path) -> None:
    """v1 is mailed; DNS is down for the next one; the one after that shows v1 → v2."""

    def digest(*extra: str) -> str:
        with SmtpServer() as server:
            run = run_digest(
                "--to",
                "ops@example.com",
                "--db",
                str(db),
                *PERIOD,
                "--domain",
                DOMAIN,
                "--offline",
                "--smtp-host",
                "127.0.0.1",
                "--smtp-port",
                str(server.port),
                *extra,
            )
            assert run.code == 0, run.err
        return server.received[0].message.get_body(("plain",)).get_content()

    digest(*zone_args(write_zones(tmp_path / "z", 1)))
    assert "could not check" in digest()
    text = digest(*zone_args(write_zones(tmp_path / "z", 2)))
    assert "+ new   error    spf.pass-all" in text
    assert "SPF record changed" in text


# --- --since last --------------------------------------------------------------------------


def test_since_last_starts_where_the_last_digest_ended(db: Path, tmp_path: Path) -> None:
    zones = zone_args(write_zones(tmp_path / "zones", 1))
    common = ["--to", "ops@example.com", "--db", str(db), "--domain", DOMAIN, "--offline", *zones]
    with SmtpServer() as server:
        first = run_digest(
            *common,
            "--since",
            "2024-06-03",
            "--until",
            "2024-06-09",
            "--smtp-host",
            "127.0.0.1",
            "--smtp-port",
            str(server.port),
        )
        assert first.code == 0, first.err
        second = run_digest(
            *common,
            "--since",
            "last",
            "--until",
            "2024-06-16",
            "--smtp-host",
            "127.0.0.1",
            "--smtp-port",
            str(server.port),
        )
        assert second.code == 0, second.err
    text = server.received[1].message.get_body(("plain",)).get_content()
    assert "2024-06-10 → 2024-06-16 (7 days, UTC)" in text
    again = run_digest(*common, "--since", "last", "--until", "2024-06-16", "--dry-run")
    one_error(again, "already covers up to 2024-06-17 00:00 UTC")


# --- the docs' walk-through: the bundled sample reports -------------------------------------


def test_sample_reports_walkthrough(tmp_path: Path) -> None:
    store = tmp_path / "try.sqlite3"
    ingest = run_cli("reports", "ingest", "fixtures/reports/aggregate/", "--db", str(store))
    assert ingest.code == 0, ingest.err
    assert "5 reports stored" in ingest.err
    out = tmp_path / "digest.eml"
    run = run_digest(
        "--db",
        str(store),
        "--domain",
        "example.com",
        "--since",
        "2024-06-10",
        "--until",
        "2024-06-16",
        "--offline",
        "--to",
        "you@example.com",
        "--dry-run",
        "--output",
        str(out),
        cwd=ROOT,
    )
    assert run.code == 0, run.err
    text = read_eml(out).get_body(("plain",)).get_content()
    assert "3,047 messages" in text
    assert "  2024-06-13      3,047" in text


def test_resolve(db: Path, tmp_path: Path) -> None:
    zones = zone_args(write_zones(tmp_path / "zones", 1))
    common = [
        "--to",
        "ops@example.com",
        "--db",
        str(db),
        *PERIOD,
        "--domain",
        DOMAIN,
        "--resolve",
        "--dry-run",
    ]
    run = run_digest(*common, "--offline", *zones)
    assert run.code == 0, run.err
    assert "198.51.100.4" in run.out  # PTR lookups were offline: sources shown bare
    down = run_digest(*common, "--offline")
    assert down.code == 0, down.err
    assert "DNS could not be reached; --resolve skipped" in down.err
