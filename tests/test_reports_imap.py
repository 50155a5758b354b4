"""``reports ingest imap[s]://…`` against a real Dovecot on 127.0.0.1 (tests/imapserver.py).

The server speaks TLS with a certificate from a CA made in the test, on an IMAPS
port and an IMAP port with STARTTLS; mail is delivered into it with APPEND.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import zipfile
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest
from imapserver import ImapServer

from dmarc_audit.reports.imap import (
    ImapFlags,
    ImapLoginError,
    ingest_mailbox,
    parse_settings,
)
from dmarc_audit.reports.store import Store
from tests.cli_helpers import ROOT, Run, run_cli
from tests.test_cli_reports import aggregate_xml
from tests.test_digest_support import Pki, make_pki

USER, PASSWORD = "dmarc", "correct-Horse-7"
CORPUS = ROOT / "tests" / "data" / "reports" / "corpus"
OWN, OTHER = "192.0.2.1", "198.51.100.9"


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture
def server(pki: Pki) -> Iterator[ImapServer]:
    with ImapServer(pki, {USER: PASSWORD}) as running:
        yield running


def imaps_url(server: ImapServer, folder: str = "INBOX") -> str:
    return f"imaps://{USER}@{server.host}:{server.imaps_port}/{folder}"


def ingest(server: ImapServer, db: Path, *args: str, url: str | None = None, **env: str) -> Run:
    run = run_cli(
        "reports",
        "ingest",
        "--db",
        str(db),
        url or imaps_url(server),
        "--ca-file",
        str(server.pki.ca_file),
        *args,
        env={"DMARC_AUDIT_IMAP_PASSWORD": PASSWORD, **env},
    )
    assert PASSWORD not in run.out and PASSWORD not in run.err  # redacted everywhere
    assert "Traceback" not in run.err
    return run


# --- messages --------------------------------------------------------------------------------


def mail(subject: str, body: str = "Reports attached.\n") -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = "noreply-dmarc@google.com"
    msg["To"] = "dmarc@shop.example"
    msg["Subject"] = subject
    msg.set_content(body)
    return msg


def zipped(name: str, data: bytes) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr(name, data)
    return buf.getvalue()


def zip_attachment(report_id: str) -> bytes:
    msg = mail(f"Report domain: shop.example Report-ID: {report_id}")
    xml = aggregate_xml(report_id, [(OWN, 10, "pass", "pass"), (OTHER, 3, "fail", "fail")])
    msg.add_attachment(
        zipped(f"google.com!shop.example!{report_id}.xml", xml.encode()),
        maintype="application",
        subtype="zip",
        filename=f"google.com!shop.example!{report_id}.zip",
    )
    return msg.as_bytes()


def inline_report(report_id: str) -> bytes:
    """The report is the message body itself (text/xml), as some reporters send it."""
    msg = EmailMessage()
    msg["From"] = "dmarc@yahoo.example"
    msg["To"] = "dmarc@shop.example"
    msg["Subject"] = f"Report Domain: shop.example Report-ID: {report_id}"
    xml = aggregate_xml(report_id, [(OWN, 4, "pass", "pass")], org="Yahoo")
    msg.set_content(xml.encode(), maintype="text", subtype="xml", disposition="inline")
    return msg.as_bytes()


def tls_report() -> bytes:
    msg = mail("Report Domain: shop.example Submitter: mail.ru")
    data = (CORPUS / "smtp_tls" / "mail.ru.json").read_bytes()
    msg.add_attachment(
        gzip.compress(data),
        maintype="application",
        subtype="tlsrpt+gzip",
        filename="mail.ru!shop.example!1.json.gz",
    )
    return msg.as_bytes()


def failure_report() -> bytes:
    return (CORPUS / "forensic" / "dmarc_ruf_report_linkedin.eml").read_bytes()


def not_a_report() -> bytes:
    return mail("Lunch on Friday?", "Shall we?\n").as_bytes()


def broken_next_to_good(report_id: str) -> bytes:
    msg = mail(f"Two reports, one damaged ({report_id})")
    good = aggregate_xml(report_id, [(OWN, 6, "pass", "pass")], org="Mail.example")
    broken = gzip.compress(aggregate_xml("cut", [(OWN, 1, "pass", "pass")]).encode())[:60]
    msg.add_attachment(broken, maintype="application", subtype="gzip", filename="broken.xml.gz")
    msg.add_attachment(good.encode(), maintype="text", subtype="xml", filename="good.xml")
    return msg.as_bytes()


def totals(db: Path | str) -> tuple[int, int, int, int]:
    with Store(db, create=False) as store:
        t = store.totals()
    return t.aggregate_reports, t.messages, t.failure_reports, t.tls_reports


# --- the tests ---------------------------------------------------------------------------


def test_reports_are_stored_then_archived_failures_moved_aside(
    server: ImapServer, tmp_path: Path
) -> None:
    server.append(
        USER,
        [
            zip_attachment("z1"),
            inline_report("y1"),
            tls_report(),
            failure_report(),
            not_a_report(),
            broken_next_to_good("m1"),
        ],
    )
    db = tmp_path / "r.sqlite3"
    run = ingest(
        server, db, "--archive-folder", "Archive", "--error-folder", "Errors", "--format", "json"
    )
    assert run.code == 1, run.err  # two messages failed
    doc = run.json()
    assert doc["totals"]["stored"] == 5  # z1, y1, the TLS report, the failure report, m1
    messages = {Path(f["path"]).name: f for f in doc["files"]}
    assert len(messages) == 6
    statuses = sorted(f["status"] for f in doc["files"])
    assert statuses == ["failed", "failed", "ingested", "ingested", "ingested", "ingested"]
    for f in doc["files"]:
        assert f["path"].startswith(f"imap://{USER}@127.0.0.1:{server.imaps_port}/INBOX;UID=")
        assert f["archived_to"] == ("Archive" if f["status"] == "ingested" else "Errors")
    assert doc["mailboxes"][0]["messages"] == 6 and doc["mailboxes"][0]["error"] is None
    # the damaged attachment is named with its position; the good one next to it is stored
    assert "broken.xml.gz" in run.err and "failed" in run.err
    assert totals(db) == (3, 23, 1, 1)
    assert server.folder_uids(USER, "INBOX") == {}
    assert len(server.folder_uids(USER, "Archive")) == 4
    assert len(server.folder_uids(USER, "Errors")) == 2

    again = ingest(server, db, "--archive-folder", "Archive", "--error-folder", "Errors")
    assert again.code == 0, again.err
    assert "0 messages read" in again.err
    assert totals(db) == (3, 23, 1, 1)


def test_starttls_flags_seen_and_a_rerun_reads_nothing_again(
    server: ImapServer, tmp_path: Path
) -> None:
    server.append(USER, [zip_attachment("s1"), zip_attachment("s2"), not_a_report()])
    db = tmp_path / "r.sqlite3"
    url = f"imap://{USER}@127.0.0.1:{server.imap_port}/INBOX"
    run = ingest(server, db, "--verbose", url=url)
    assert run.code == 1  # the message that is not a report stays, unseen, for a look
    assert "2 reports stored" in run.err and "3 messages read, 1 failed" in run.err
    flags = server.folder_uids(USER)
    assert sorted(b"\\Seen" in f for f in flags.values()) == [False, True, True]

    again = ingest(server, db, url=url)
    assert "1 message read, 1 failed, 2 already ingested" in again.err
    assert "0 reports stored" in again.err
    assert totals(db)[0] == 2

    # someone marks everything unread: the ingested messages are flagged again, not re-read
    client = server.client(USER)
    client.select_folder("INBOX")
    client.remove_flags(client.search("ALL"), [b"\\Seen"])
    client.logout()
    third = ingest(server, db, "--unseen", url=url)
    assert "2 left over from an earlier run moved or flagged" in third.err
    assert "0 reports stored, 0 duplicates" in third.err


def test_only_unseen_messages_with_unseen(server: ImapServer, tmp_path: Path) -> None:
    server.append(USER, [zip_attachment("u1"), zip_attachment("u2")])
    client = server.client(USER)
    client.select_folder("INBOX")
    first = min(client.search("ALL"))
    client.add_flags([first], [b"\\Seen"])
    client.logout()
    db = tmp_path / "r.sqlite3"
    run = ingest(server, db, "--unseen", "--format", "json")
    assert run.code == 0, run.err
    assert [f["path"].rsplit("=", 1)[1] for f in run.json()["files"]] == [str(first + 1)]


def test_wrong_password_is_one_line_exit_2(server: ImapServer, tmp_path: Path) -> None:
    wrong = "not-the-Password-9"
    run = ingest(server, tmp_path / "r.sqlite3", DMARC_AUDIT_IMAP_PASSWORD=wrong)
    assert run.code == 2
    lines = run.err.strip().splitlines()
    assert lines[0].startswith(f"dmarc-audit: error: imap://{USER}@127.0.0.1:")
    assert "login as 'dmarc' refused" in lines[0]
    assert wrong not in run.err


def test_untrusted_certificate_is_refused(server: ImapServer, tmp_path: Path) -> None:
    run = run_cli(
        "reports",
        "ingest",
        "--db",
        str(tmp_path / "r.sqlite3"),
        imaps_url(server),
        env={"DMARC_AUDIT_IMAP_PASSWORD": PASSWORD},
    )
    assert run.code == 2
    assert "TLS certificate not trusted" in run.err and "Traceback" not in run.err


def test_password_from_a_private_file_only(server: ImapServer, tmp_path: Path) -> None:
    server.append(USER, [zip_attachment("f1")])
    secret = tmp_path / "imap-password"
    secret.write_text(PASSWORD + "\n")
    secret.chmod(0o644)
    db = tmp_path / "r.sqlite3"
    run = ingest(server, db, "--imap-password-file", str(secret), DMARC_AUDIT_IMAP_PASSWORD="")
    assert run.code == 2 and "chmod 600" in run.err
    secret.chmod(0o600)
    run = ingest(server, db, "--imap-password-file", str(secret), DMARC_AUDIT_IMAP_PASSWORD="")
    assert run.code == 0, run.err
    assert totals(db)[0] == 1


@pytest.mark.parametrize(
    ("url", "fragment"),
    [
        (f"imaps://{USER}:{PASSWORD}@127.0.0.1/INBOX", "must not carry a password"),
        ("imaps://127.0.0.1/INBOX", "no user"),
    ],
)
def test_bad_urls_are_refused_without_echoing_secrets(
    tmp_path: Path, url: str, fragment: str
) -> None:
    run = run_cli(
        "reports", "ingest", "--db", str(tmp_path / "r.sqlite3"), url,
        env={"DMARC_AUDIT_IMAP_PASSWORD": "x", "DMARC_AUDIT_IMAP_USER": ""},
    )  # fmt: skip
    assert run.code == 2 and fragment in run.err
    assert PASSWORD not in run.err
    assert len(run.err.strip().splitlines()) == 1


def settings(server: ImapServer, **flags: object):
    return parse_settings(
        imaps_url(server),
        ImapFlags(ca_file=str(server.pki.ca_file), **flags),  # type: ignore[arg-type]
        {"DMARC_AUDIT_IMAP_PASSWORD": PASSWORD},
    )


def test_a_disconnect_mid_folder_loses_nothing_and_stores_nothing_twice(
    server: ImapServer, store_target: str
) -> None:
    """On SQLite and PostgreSQL: the progress marks (imap_messages) are store SQL too."""
    server.append(USER, [zip_attachment(f"d{i}") for i in range(5)])
    db = store_target
    s = settings(server, archive_folder="Archive")
    seen: list[str] = []

    def kick_after_two(done) -> None:
        seen.append(done.path)
        if len(seen) == 2:
            server.kick(USER)

    with Store(db) as store:
        first = ingest_mailbox(store, s, on_message=kick_after_two, reconnects=0)
    assert first.error is not None and "connection lost" in first.error
    assert PASSWORD not in first.error
    assert len(first.messages) == 2
    assert totals(db)[0] == 2
    assert len(server.folder_uids(USER, "INBOX")) == 3

    with Store(db) as store:
        second = ingest_mailbox(store, s)
    assert second.error is None and len(second.messages) == 3
    assert totals(db)[0] == 5
    assert server.folder_uids(USER, "INBOX") == {}
    assert len(server.folder_uids(USER, "Archive")) == 5


def test_a_dropped_connection_is_reopened(server: ImapServer, tmp_path: Path) -> None:
    server.append(USER, [zip_attachment(f"r{i}") for i in range(4)])
    db = tmp_path / "r.sqlite3"
    kicked: list[bool] = []

    def kick_once(done) -> None:
        if not kicked:
            kicked.append(True)
            server.kick(USER)

    with Store(db) as store:
        result = ingest_mailbox(
            store, settings(server, archive_folder="Archive"), on_message=kick_once, pause=0.1
        )
    assert result.error is None and result.reconnects == 1
    # the message in flight when the server dropped us may have been committed but not
    # yet moved: after the reconnect it is "already done" (moved, not stored again)
    assert len(result.messages) + result.already_done == 4 and totals(db)[0] == 4
    assert server.folder_uids(USER, "INBOX") == {}


class Crash(BaseException):
    """Stands for the process dying (kill -9, power cut) right after a commit."""


def test_a_crash_after_a_commit_loses_nothing(server: ImapServer, tmp_path: Path) -> None:
    server.append(USER, [zip_attachment("c1"), zip_attachment("c2")])
    db = tmp_path / "r.sqlite3"
    s = settings(server, archive_folder="Archive")

    def crash(outcome) -> None:
        if outcome.status.value == "stored":
            raise Crash

    with Store(db) as store, pytest.raises(Crash):
        ingest_mailbox(store, s, on_report=crash)
    assert totals(db)[0] == 1  # committed before the crash, the message not moved
    assert len(server.folder_uids(USER, "INBOX")) == 2

    with Store(db) as store:
        result = ingest_mailbox(store, s)
    assert [r.status.value for m in result.messages for r in m.reports] == [
        "duplicate",
        "stored",
    ]
    assert totals(db)[0] == 2
    assert len(server.folder_uids(USER, "Archive")) == 2


def test_a_new_uidvalidity_reads_the_folder_again_harmlessly(
    server: ImapServer, store_target: str
) -> None:
    server.append(USER, [zip_attachment("v1")], folder="Reports")
    db = store_target
    s = parse_settings(
        imaps_url(server, "Reports"),
        ImapFlags(ca_file=str(server.pki.ca_file)),
        {"DMARC_AUDIT_IMAP_PASSWORD": PASSWORD},
    )
    with Store(db) as store:
        assert len(ingest_mailbox(store, s).messages) == 1
        old = store.connection.execute("SELECT uidvalidity FROM imap_messages").fetchall()
    client = server.client(USER)
    client.delete_folder("Reports")
    client.logout()
    for _ in range(30):  # Dovecot's UIDVALIDITY is the creation time: let a second pass
        server.append(USER, [zip_attachment("v1")], folder="Reports")
        client = server.client(USER)
        new = client.select_folder("Reports")[b"UIDVALIDITY"]
        if new != old[0][0]:
            client.logout()
            break
        client.delete_folder("Reports")
        client.logout()
        import time

        time.sleep(0.2)
    with Store(db) as store:
        result = ingest_mailbox(store, s)
        marks = store.connection.execute("SELECT uidvalidity FROM imap_messages").fetchall()
    assert len(result.messages) == 1
    assert result.messages[0].reports[0].status.value == "duplicate"
    assert marks == [(new,)]
    assert totals(db)[0] == 1


def test_login_failure_raises_one_line(server: ImapServer, tmp_path: Path) -> None:
    s = parse_settings(
        imaps_url(server),
        ImapFlags(ca_file=str(server.pki.ca_file)),
        {"DMARC_AUDIT_IMAP_PASSWORD": "wrong-Password-1"},
    )
    with Store(tmp_path / "r.sqlite3") as store, pytest.raises(ImapLoginError) as info:
        ingest_mailbox(store, s)
    assert "\n" not in str(info.value) and "wrong-Password-1" not in str(info.value)


def test_settings_never_show_the_password(server: ImapServer) -> None:
    s = settings(server)
    assert PASSWORD not in repr(s) and PASSWORD not in s.mailbox
    assert json.dumps(s.mailbox)


def test_imap_options_need_a_mailbox(tmp_path: Path) -> None:
    f = tmp_path / "a.xml"
    f.write_text(aggregate_xml("a", [(OWN, 1, "pass", "pass")]))
    run = run_cli("reports", "ingest", "--db", str(tmp_path / "r"), str(f), "--error-folder", "E")
    assert run.code == 2 and "--error-folder applies to an imap://" in run.err
    assert os.path.exists(f)
