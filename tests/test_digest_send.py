"""``digest`` end to end: a real SMTP server on 127.0.0.1 receives the message.

Reports are stored with the store API (two weeks of shop.example), posture comes from
zone files (``--zone … --offline``), and the command runs in a child process.
"""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pytest
from test_digest_support import (
    DOMAIN,
    ESP,
    NEW_SENDER,
    SmtpServer,
    make_pki,
    make_store,
    parts,
    png_size,
    run_digest,
    write_zones,
    zone_args,
)

from dmarc_audit.reports.store import Store
from dmarc_audit.reports.summary import PeriodFilter, build_summary, percent

PERIOD = ["--since", "7d", "--until", "2024-06-16"]


def base_args(db: Path, zones: list[str], port: int, *to: str) -> list[str]:
    recipients: list[str] = []
    for addr in to or ("ops@example.com",):
        recipients += ["--to", addr]
    return [
        *recipients,
        "--db",
        str(db),
        *PERIOD,
        "--domain",
        DOMAIN,
        "--offline",
        *zone_args(zones),
        "--smtp-host",
        "127.0.0.1",
        "--smtp-port",
        str(port),
        "--from",
        "dmarc-audit@shop.example",
    ]


def markers(db: Path) -> list[tuple]:
    with sqlite3.connect(db) as conn:
        return conn.execute(
            "SELECT list_key, last_snapshot, period_end FROM digest_markers"
        ).fetchall()


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return make_store(tmp_path / "reports.sqlite3")


@pytest.fixture
def zones_v1(tmp_path: Path) -> list[str]:
    return write_zones(tmp_path / "zones", 1)


def test_digest_arrives_with_text_html_and_inline_chart(db: Path, zones_v1: list[str]) -> None:
    with SmtpServer() as server:
        run = run_digest(
            *base_args(db, zones_v1, server.port, "ops@example.com", "sec@example.com"), "--verbose"
        )
    assert run.code == 0, run.err
    assert run.out == ""
    assert len(server.received) == 1
    got = server.received[0]
    assert got.mail_from == "dmarc-audit@shop.example"
    assert sorted(got.rcpt_tos) == ["ops@example.com", "sec@example.com"]
    msg = got.message

    # headers
    assert msg["From"] == "dmarc-audit@shop.example"
    assert msg["To"] == "ops@example.com, sec@example.com"
    assert msg["Auto-Submitted"] == "auto-generated"
    assert msg["Date"] and re.fullmatch(r"<[^@<>]+@shop\.example>", msg["Message-ID"])
    assert msg["Subject"] == (
        "dmarc-audit weekly: shop.example 95.3% pass (\u22122.7), 1 new sender"
    )

    # structure: alternative(text, related(html, png))
    assert [t for t, _ in parts(msg)] == [
        "multipart/alternative",
        "text/plain",
        "multipart/related",
        "text/html",
        "image/png",
    ]
    text = msg.get_body(("plain",)).get_content()
    html = msg.get_body(("html",)).get_content()
    image = next(p for p in msg.walk() if p.get_content_type() == "image/png")
    cid = image["Content-ID"]
    assert cid.startswith("<") and cid.endswith(">")
    assert f'src="cid:{cid[1:-1]}"' in html
    assert image.get_content_disposition() == "inline"
    png = image.get_content()
    assert png_size(png) == (1200, 440)

    # the figures are the store's
    with Store(db, create=False) as store:
        from datetime import UTC, datetime

        summary = build_summary(
            store,
            PeriodFilter(
                DOMAIN, datetime(2024, 6, 10, tzinfo=UTC), datetime(2024, 6, 17, tzinfo=UTC)
            ),
        )
    totals = summary.totals
    assert (totals.messages, totals.dmarc_pass) == (7500, 7150)
    for body in (text, html):
        assert "7,500 messages" in body
        assert f"{percent(totals.pass_rate)} DMARC pass" in body
        assert "vs 98.0%" in body  # the previous week
        assert NEW_SENDER in body
        assert ESP in body
        assert "authenticates with its own domain" in body
        assert "2024-06-10 → 2024-06-16 (7 days, UTC)" in body
    assert "350 failing of 350" in text
    assert "  2024-06-12      1,080        95.3%" in text  # the daily table
    # posture now, and the first digest has nothing to compare with
    assert "Posture now: 0 errors, 1 warning, 3 info" in text
    assert "First digest for this list" in text
    assert "dmarc.policy-none" in text and "publish: _dmarc.shop.example TXT" in text
    assert "sent to ops@example.com, sec@example.com via 127.0.0.1:" in run.err


def test_second_digest_shows_changes_since_the_first(
    db: Path, tmp_path: Path, zones_v1: list[str]
) -> None:
    zones_v2 = write_zones(tmp_path / "zones", 2)
    with SmtpServer() as server:
        first = run_digest(*base_args(db, zones_v1, server.port))
        assert first.code == 0, first.err
        ((key, last, _end),) = markers(db)
        assert key == "ops@example.com" and last >= 1
        second = run_digest(*base_args(db, zones_v2, server.port))
        assert second.code == 0, second.err
    text = server.received[1].message.get_body(("plain",)).get_content()
    assert "Changes since " in text
    assert "+ new   error    spf.pass-all" in text
    assert "- fixed warning  dmarc.policy-none" in text
    assert "SPF record changed at shop.example:" in text
    assert "was: v=spf1 ip4:192.0.2.10 include:_spf.esp.example ~all" in text
    assert "now: v=spf1 ip4:192.0.2.10 include:_spf.esp.example +all" in text
    assert "DMARC record changed at _dmarc.shop.example:" in text
    assert (
        "note: _dmarc.shop.example now publishes p=quarantine; the reports in this period "
        "saw p=none"
    ) in text
    assert server.received[1].message["Subject"].endswith("1 new sender, 1 new error, 1 fixed")
    assert markers(db)[0][1] > last


def test_rejected_recipient_exits_1_and_keeps_the_marker(
    db: Path, tmp_path: Path, zones_v1: list[str]
) -> None:
    zones_v2 = write_zones(tmp_path / "zones", 2)
    pki = make_pki(tmp_path)
    tls = ["--smtp-cafile", str(pki.ca_file)]
    with SmtpServer(context=pki.server_context()) as server:
        assert run_digest(*base_args(db, zones_v1, server.port), *tls).code == 0
    before = markers(db)
    with SmtpServer(context=pki.server_context(), reject_rcpt=["ops@example.com"]) as server:
        run = run_digest(*base_args(db, zones_v2, server.port), *tls)
    assert run.code == 1
    assert run.out == ""
    assert run.err.count("\n") == 1, run.err  # one line, for cron to mail
    assert re.fullmatch(
        r"dmarc-audit: error: digest not sent: 127\.0\.0\.1:\d+: recipient "
        r"refused: ops@example\.com \(550 5\.1\.1 <ops@example\.com>: mailbox "
        r"unavailable\)\n",
        run.err,
    )
    assert server.received == []
    assert markers(db) == before
    # the next digest still compares with the first one: the change was not hidden
    with SmtpServer() as server:
        assert run_digest(*base_args(db, zones_v2, server.port)).code == 0
    assert (
        "+ new   error    spf.pass-all"
        in server.received[0].message.get_body(("plain",)).get_content()
    )


def test_server_down_exits_1_with_one_line(db: Path, zones_v1: list[str]) -> None:
    from test_digest_support import free_port

    run = run_digest(*base_args(db, zones_v1, free_port()), "--smtp-timeout", "5")
    assert run.code == 1
    assert re.fullmatch(
        r"dmarc-audit: error: digest not sent: 127\.0\.0\.1:\d+: "
        r"Connection refused\n",
        run.err,
    )
    assert markers(db) == []


def test_starttls_is_used_when_offered(db: Path, tmp_path: Path, zones_v1: list[str]) -> None:
    pki = make_pki(tmp_path)
    with SmtpServer(context=pki.server_context()) as server:
        quiet = run_digest(*base_args(db, zones_v1, server.port), "--smtp-cafile", str(pki.ca_file))
        run = run_digest(
            *base_args(db, zones_v1, server.port), "--smtp-cafile", str(pki.ca_file), "-v"
        )
    assert quiet.code == 0 and quiet.err == ""  # nothing for cron to mail
    assert run.code == 0, run.err
    assert [r.tls for r in server.received] == [True, True]
    assert "(encrypted with STARTTLS)" in run.err


def test_untrusted_certificate_fails_rather_than_falling_back(
    db: Path, tmp_path: Path, zones_v1: list[str]
) -> None:
    pki = make_pki(tmp_path)
    with SmtpServer(context=pki.server_context()) as server:
        run = run_digest(*base_args(db, zones_v1, server.port))
    assert run.code == 1
    assert "TLS certificate not trusted" in run.err
    assert "--smtp-cafile" in run.err
    assert server.received == []


def test_plain_when_starttls_is_not_offered_and_said_on_stderr(
    db: Path, zones_v1: list[str]
) -> None:
    with SmtpServer() as server:
        run = run_digest(*base_args(db, zones_v1, server.port), "-v")
    assert run.code == 0
    assert server.received[0].tls is False
    assert re.search(
        r"warning: 127\.0\.0\.1:\d+ does not offer STARTTLS: sending without "
        r"encryption",
        run.err,
    )
    assert "(unencrypted)" in run.err


def test_starttls_required_but_not_offered(db: Path, zones_v1: list[str]) -> None:
    with SmtpServer() as server:
        run = run_digest(*base_args(db, zones_v1, server.port), "--smtp-tls", "starttls")
    assert run.code == 1
    assert "does not offer STARTTLS (--smtp-tls starttls)" in run.err
    assert server.received == []


def test_implicit_tls(db: Path, tmp_path: Path, zones_v1: list[str]) -> None:
    pki = make_pki(tmp_path)
    with SmtpServer(context=pki.server_context(), implicit=True) as server:
        run = run_digest(
            *base_args(db, zones_v1, server.port),
            "--smtp-tls",
            "tls",
            "--smtp-cafile",
            str(pki.ca_file),
            "-v",
        )
    assert run.code == 0, run.err
    assert server.received[0].tls is True
    assert "(over TLS)" in run.err


def test_login_with_password_from_environment(
    db: Path, tmp_path: Path, zones_v1: list[str]
) -> None:
    pki = make_pki(tmp_path)
    with SmtpServer(context=pki.server_context(), users={"digest": "s3cret"}) as server:
        run = run_digest(
            *base_args(db, zones_v1, server.port),
            "--smtp-cafile",
            str(pki.ca_file),
            env={"DMARC_AUDIT_SMTP_USER": "digest", "DMARC_AUDIT_SMTP_PASSWORD": "s3cret"},
        )
    assert run.code == 0, run.err
    assert server.received[0].login == "digest"
    assert "s3cret" not in run.err


def test_login_with_password_file(db: Path, tmp_path: Path, zones_v1: list[str]) -> None:
    pki = make_pki(tmp_path)
    secret = tmp_path / "smtp-password"
    secret.write_text("s3cret\n")
    secret.chmod(0o600)
    with SmtpServer(context=pki.server_context(), users={"digest": "s3cret"}) as server:
        run = run_digest(
            *base_args(db, zones_v1, server.port),
            "--smtp-cafile",
            str(pki.ca_file),
            "--smtp-user",
            "digest",
            "--smtp-password-file",
            str(secret),
        )
    assert run.code == 0, run.err
    assert server.received[0].login == "digest"


def test_wrong_password_exits_1(db: Path, tmp_path: Path, zones_v1: list[str]) -> None:
    pki = make_pki(tmp_path)
    with SmtpServer(context=pki.server_context(), users={"digest": "s3cret"}) as server:
        run = run_digest(
            *base_args(db, zones_v1, server.port),
            "--smtp-cafile",
            str(pki.ca_file),
            env={"DMARC_AUDIT_SMTP_USER": "digest", "DMARC_AUDIT_SMTP_PASSWORD": "wrong"},
        )
    assert run.code == 1
    assert "login as digest refused: 535" in run.err
    assert markers(db) == []


def test_smtp_settings_from_environment(db: Path, zones_v1: list[str]) -> None:
    with SmtpServer() as server:
        args = base_args(db, zones_v1, server.port)
        i = args.index("--smtp-host")
        del args[i : i + 4]  # host and port come from the environment instead
        run = run_digest(
            *args,
            env={
                "DMARC_AUDIT_SMTP_HOST": "127.0.0.1",
                "DMARC_AUDIT_SMTP_PORT": str(server.port),
                "DMARC_AUDIT_SMTP_TLS": "auto",
            },
        )
    assert run.code == 0, run.err
    assert len(server.received) == 1


def test_password_never_goes_out_unencrypted_to_a_remote_server(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """In process: the server is on loopback, so pretend it is not."""
    from email.message import EmailMessage

    from dmarc_audit.digest import send

    monkeypatch.setattr(send, "is_loopback", lambda host: False)
    msg = EmailMessage()
    msg["Subject"] = "x"
    msg.set_content("x")
    with SmtpServer() as server:
        settings = send.SmtpSettings(
            "127.0.0.1", server.port, send.TlsMode.AUTO, "digest", "s3cret", timeout=5
        )
        with pytest.raises(
            send.SendError,
            match="refusing to send the SMTP password over an unencrypted connection",
        ):
            send.send_message(msg, settings, "a@shop.example", ["ops@example.com"])
    assert server.received == []
