"""The message itself (subject, text, HTML, chart) and the SMTP settings, without a server."""

from __future__ import annotations

import asyncio
import datetime as dt
import io
from dataclasses import replace
from pathlib import Path

import pytest
from test_digest_support import DOMAIN, make_store, png_size, write_zones

from dmarc_audit.audit import audit_domains
from dmarc_audit.digest.build import Digest, DomainDigest, build_digest
from dmarc_audit.digest.chart import render_chart
from dmarc_audit.digest.compose import (
    _short_key,
    compose_message,
    delta_text,
    html_body,
    policy_note,
    subject,
    text_body,
)
from dmarc_audit.digest.figures import DayFigures, Period
from dmarc_audit.digest.send import (
    SmtpFlags,
    SmtpSettings,
    TlsMode,
    is_loopback,
    resolve_settings,
)
from dmarc_audit.digest.snapshot import FindingFact
from dmarc_audit.dns.setup import DnsOptions, build_resolver
from dmarc_audit.domains import parse_domain
from dmarc_audit.errors import InputError
from dmarc_audit.findings import Severity, Status
from dmarc_audit.report import AuditOptions
from dmarc_audit.reports.store import Store
from dmarc_audit.secretfile import read_password_file

UTC = dt.UTC
NOW = dt.datetime(2024, 6, 17, 6, 0, tzinfo=UTC)
PERIOD = Period(dt.datetime(2024, 6, 10, tzinfo=UTC), dt.datetime(2024, 6, 17, tzinfo=UTC))


def audit(zones: list[str], *domains: str):
    resolver = build_resolver(DnsOptions(zones=tuple(zones), offline=True))
    return asyncio.run(
        audit_domains(resolver, [parse_domain(d) for d in domains or (DOMAIN,)], AuditOptions())
    )


@pytest.fixture
def digest(tmp_path: Path) -> Digest:
    db = make_store(tmp_path / "r.sqlite3")
    with Store(db, create=False) as store:
        return build_digest(
            store, audit(write_zones(tmp_path / "z", 1)), PERIOD, ["ops@example.com"], NOW
        )


# --- subject -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("delta", "text"), [(-1.4, "\u22121.4"), (0.3, "+0.3"), (0.0, "±0.0"), (None, "")]
)
def test_delta_text(delta: float | None, text: str) -> None:
    assert delta_text(delta) == text


def test_subject_headline(digest: Digest) -> None:
    assert (
        subject(digest) == "dmarc-audit weekly: shop.example 95.3% pass (\u22122.7), 1 new sender"
    )


def test_subject_with_several_domains(tmp_path: Path) -> None:
    db = make_store(tmp_path / "r.sqlite3")
    zones = write_zones(tmp_path / "z", 1)
    with Store(db, create=False) as store:
        two = build_digest(
            store, audit(zones, DOMAIN, "esp.example"), PERIOD, ["ops@example.com"], NOW
        )
        three = build_digest(
            store, audit(zones, DOMAIN, "esp.example", "example"), PERIOD, ["ops@example.com"], NOW
        )
    assert subject(two) == (
        "dmarc-audit weekly: shop.example 95.3% pass (\u22122.7), "
        "esp.example no reports, 1 new sender"
    )
    assert subject(three) == "dmarc-audit weekly: 3 domains 95.3% pass (\u22122.7), 1 new sender"


def test_subject_counts_new_findings_and_unchecked(digest: Digest) -> None:
    d = digest.domains[0]
    new = (FindingFact("spf.pass-all", Severity.ERROR, Status.FAIL, DOMAIN, "+all"),)
    changed = replace(digest, domains=(replace(d, changes=replace(d.changes, new=new)),))
    assert subject(changed).endswith("1 new sender, 1 new error")
    monthly = replace(digest, period=Period(PERIOD.until - dt.timedelta(days=30), PERIOD.until))
    assert subject(monthly).startswith("dmarc-audit monthly: ")


def test_period_describe_and_label() -> None:
    assert PERIOD.describe() == "2024-06-10 → 2024-06-16 (7 days, UTC)"
    assert PERIOD.label == "weekly"
    day = Period(PERIOD.since, PERIOD.since + dt.timedelta(days=1))
    assert (day.label, day.describe()) == ("daily", "2024-06-10 (1 day, UTC)")
    odd = Period(PERIOD.since + dt.timedelta(hours=6), PERIOD.until)
    assert odd.describe().startswith("2024-06-10 06:00 → ")
    assert Period(PERIOD.since, PERIOD.since + dt.timedelta(days=14)).label == "14-day"
    assert len(PERIOD.days()) == 7 and PERIOD.previous.until == PERIOD.since


# --- bodies --------------------------------------------------------------------------------


def test_text_and_html_carry_the_same_facts(digest: Digest) -> None:
    text = text_body(digest)
    html = html_body(digest, {DOMAIN: "chart-1@shop.example"})
    facts = [
        "7,500 messages (+5.0% vs 7,140)",
        "95.3% DMARC pass (\u22122.7 vs 98.0%)",
        "1 new sender",
        "not ready for p=quarantine",
        "198.51.100.4",
        "203.0.113.7",
        "dmarc.policy-none",
        "2024-06-10 → 2024-06-16 (7 days, UTC)",
    ]
    for fact in facts:
        assert fact in text, fact
        assert fact in html.replace("&quot;", '"'), fact
    assert '<img src="cid:chart-1@shop.example"' in html
    assert 'alt="Daily messages and DMARC pass rate for shop.example: 06-10 1,050 95.2%' in html


def test_html_escapes_what_dns_says(digest: Digest) -> None:
    d = digest.domains[0]
    evil = FindingFact(
        "spf.syntax-error",
        Severity.ERROR,
        Status.FAIL,
        DOMAIN,
        "<script>alert(1)</script>",
        record='v=spf1 "<b>"',
    )
    s = replace(d.snapshot, findings=(evil,))
    from dmarc_audit.digest.posture import posture_of

    bad = replace(digest, domains=(replace(d, snapshot=s, posture=posture_of(s)),))
    html = html_body(bad, {})
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;b&gt;" in html


def test_message_structure(digest: Digest) -> None:
    msg = compose_message(digest, "dmarc-audit@shop.example")
    assert msg.get_content_type() == "multipart/alternative"
    plain, related = msg.get_payload()
    assert plain.get_content_type() == "text/plain"
    assert related.get_content_type() == "multipart/related"
    html, image = related.get_payload()
    assert html.get_content_type() == "text/html"
    assert image.get_content_type() == "image/png"
    assert f"cid:{image['Content-ID'][1:-1]}" in html.get_content()
    assert msg["Message-ID"].endswith("@shop.example>")
    no_charts = compose_message(digest, "dmarc-audit@shop.example", charts=False)
    assert [p.get_content_type() for p in no_charts.walk()] == [
        "multipart/alternative",
        "text/plain",
        "text/html",
    ]


# --- chart ---------------------------------------------------------------------------------


def test_chart_is_a_png_pillow_can_read() -> None:
    from PIL import Image

    days = [
        DayFigures(dt.date(2024, 6, 10) + dt.timedelta(days=i), n, p)
        for i, (n, p) in enumerate([(1050, 1000), (0, 0), (1080, 1030), (20, 5)])
    ]
    png = render_chart(DOMAIN, days)
    assert png_size(png) == (1200, 440)
    with Image.open(io.BytesIO(png)) as image:
        image.load()
        assert image.format == "PNG" and image.size == (1200, 440)
    empty = render_chart(DOMAIN, [DayFigures(dt.date(2024, 6, 10), 0, 0)])
    assert png_size(empty) == (1200, 440)


def test_chart_needs_no_display(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    assert render_chart(DOMAIN, [DayFigures(dt.date(2024, 6, 10), 10, 9)])[:4] == b"\x89PNG"


# --- SMTP settings -------------------------------------------------------------------------


def test_settings_precedence(tmp_path: Path) -> None:
    env = {
        "DMARC_AUDIT_SMTP_HOST": "relay.example",
        "DMARC_AUDIT_SMTP_PORT": "2525",
        "DMARC_AUDIT_SMTP_TLS": "starttls",
        "DMARC_AUDIT_SMTP_USER": "env-user",
        "DMARC_AUDIT_SMTP_PASSWORD": "env-secret",
    }
    s = resolve_settings(SmtpFlags(), env)
    assert (s.host, s.port, s.tls, s.user, s.password) == (
        "relay.example",
        2525,
        TlsMode.STARTTLS,
        "env-user",
        "env-secret",
    )
    assert "env-secret" not in repr(s)
    s = resolve_settings(SmtpFlags(host="smtp.example", port=587, tls=TlsMode.NONE), env)
    assert (s.host, s.port, s.tls) == ("smtp.example", 587, TlsMode.NONE)
    assert resolve_settings(SmtpFlags(tls=TlsMode.TLS), {}).port == 465
    assert resolve_settings(SmtpFlags(), {}) == SmtpSettings()


def test_password_file(tmp_path: Path) -> None:
    secret = tmp_path / "pw"
    secret.write_text("from-file\nignored\n")
    secret.chmod(0o600)
    env = {"DMARC_AUDIT_SMTP_USER": "u", "DMARC_AUDIT_SMTP_PASSWORD": "from-env"}
    assert resolve_settings(SmtpFlags(password_file=str(secret)), env).password == "from-file"
    assert read_password_file(str(secret), "--smtp-password-file") == "from-file"
    secret.chmod(0o604)
    with pytest.raises(InputError, match="readable by group or others"):
        read_password_file(str(secret), "--smtp-password-file")
    with pytest.raises(InputError, match="No such file"):
        read_password_file(str(tmp_path / "missing"), "--smtp-password-file")
    empty = tmp_path / "empty"
    empty.write_text("")
    empty.chmod(0o600)
    with pytest.raises(InputError, match="empty"):
        read_password_file(str(empty), "--smtp-password-file")


def test_user_colon_password_flag_is_refused() -> None:
    with pytest.raises(InputError, match="must not carry a password"):
        resolve_settings(SmtpFlags(user="me:secret"), {})


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("localhost", True),
        ("127.0.0.1", True),
        ("127.1.2.3", True),
        ("::1", True),
        ("[::1]", True),
        ("192.0.2.1", False),
        ("smtp.example.com", False),
    ],
)
def test_is_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


# --- the published policy, read from the parsed record ----------------------------------------


def _with_dmarc(digest: Digest, text: str) -> DomainDigest:
    d = digest.domains[0]
    records = tuple(
        (key, replace(record, text=text) if key == "dmarc" else record)
        for key, record in d.snapshot.records
    )
    return replace(d, snapshot=replace(d.snapshot, records=records))


def test_policy_note_when_dns_publishes_another_policy(digest: Digest) -> None:
    d = digest.domains[0]
    assert d.figures is not None
    seen = {r.current_policy.split(" ")[0] for r in d.figures.summary.readiness if r.current_policy}
    assert seen == {"p=none"}
    assert policy_note(_with_dmarc(digest, "v=DMARC1; p=none; rua=mailto:d@shop.example")) is None
    note = policy_note(_with_dmarc(digest, "v=DMARC1; p=reject"))
    assert note is not None and "now publishes p=reject" in note and "saw p=none" in note


@pytest.mark.parametrize(
    "text",
    [
        "v=DMARC1; P=reject",
        "v=DMARC1; p = reject ",
        "v=DMARC1;p=REJECT;",
        "v=DMARC1;\tp=reject; rua=mailto:d@shop.example",
    ],
)
def test_policy_note_reads_the_tag_as_receivers_do(digest: Digest, text: str) -> None:
    note = policy_note(_with_dmarc(digest, text))
    assert note is not None and "now publishes p=reject" in note


@pytest.mark.parametrize(
    "text", ["v=DMARC1; p=bogus", "v=DMARC1; rua=mailto:d@shop.example", "v=spf1 p=reject"]
)
def test_policy_note_is_silent_without_a_policy_receivers_accept(digest: Digest, text: str) -> None:
    assert policy_note(_with_dmarc(digest, text)) is None


def test_short_key_cuts_only_a_long_p_value() -> None:
    key = "A" * 20 + "B" * 30 + "C" * 12
    assert _short_key(f"v=DKIM1; k=rsa; p={key}") == f"v=DKIM1; k=rsa; p={'A' * 16}…{'C' * 12}"
    assert _short_key(f"v=DKIM1; p = {key} ;t=y") == f"v=DKIM1; p = {'A' * 16}…{'C' * 12} ;t=y"
    assert _short_key("v=DKIM1; p=short") == "v=DKIM1; p=short"
    assert _short_key(f"v=DKIM1; P={key}") == f"v=DKIM1; P={key}"  # DKIM names are case-sensitive
