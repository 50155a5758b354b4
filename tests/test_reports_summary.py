"""Summaries on constructed data: figures, failing-source reasons, the readiness verdict."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from dmarc_audit.errors import InputError
from dmarc_audit.reports.classify import (
    Reason,
    SourceContext,
    Verdict,
    aligned,
    classify_record,
    diagnose,
    fix_for,
    provider_for,
)
from dmarc_audit.reports.store import Store
from dmarc_audit.reports.summary import (
    CSV_COLUMNS,
    SCHEMA_VERSION,
    PeriodFilter,
    PolicySeen,
    PtrInfo,
    ReadyVerdict,
    build_summary,
    csv_rows,
    lookup,
    next_step,
    parse_when,
    percent,
    suggest_record,
)
from tests.test_reports_store import DAY0, agg, dkim, rec, spf

OWN = "192.0.2.1"
ESP = "203.0.113.7"
SPOOFER = "198.51.100.9"
FORWARDER = "192.0.2.200"


def own_ok(count: int) -> object:
    return rec(OWN, count, auth=(dkim("shop.example"), spf("shop.example")))


def esp_fail(count: int) -> object:
    return rec(
        ESP,
        count,
        dkim_al="fail",
        spf_al="fail",
        auth=(dkim("newsletter-tool.example"), spf("bounce.newsletter-tool.example")),
    )


def spoofed(count: int) -> object:
    return rec(SPOOFER, count, dkim_al="fail", spf_al="fail", auth=(spf("shop.example", "fail"),))


def forwarded(count: int) -> object:
    return rec(
        FORWARDER,
        count,
        dkim_al="fail",
        spf_al="fail",
        auth=(dkim("shop.example", "fail"), spf("lists.example.org", "pass")),
    )


@pytest.fixture
def store(store_target: str) -> Iterator[Store]:
    """SQLite, then PostgreSQL: the summary reads both through the same SQL."""
    with Store(store_target) as s:
        yield s


def fill(
    store: Store,
    days: int,
    *,
    own: int = 1000,
    esp: int = 5,
    spoof: int = 50,
    fwd: int = 10,
    p: str = "none",
    pct: int | None = None,
    start: int = 0,
) -> None:
    for day in range(start, start + days):
        records = [own_ok(own)]
        if esp:
            records.append(esp_fail(esp))
        if spoof:
            records.append(spoofed(spoof))
        if fwd:
            records.append(forwarded(fwd))
        store.add(agg(records, report_id=f"g{day}", day=day, p=p, pct=pct))


# --- classification ----------------------------------------------------------


def classify(record: object, **context: bool) -> Verdict:
    return classify_record(
        record,
        "shop.example",
        "r",
        "r",  # type: ignore[arg-type]
        SourceContext(**context),
    )


def test_not_in_spf_needs_a_known_source_else_spoofing() -> None:
    record = rec(
        "203.0.113.5", 4, dkim_al="fail", spf_al="fail", auth=(spf("shop.example", "softfail"),)
    )
    known = classify(record, known=True)
    assert known.reason is Reason.NOT_IN_SPF
    assert known.detail == "SPF softfail for shop.example; no DKIM signature"
    assert classify(record).reason is Reason.SPOOFING
    # DKIM failing for a foreign domain is still "nothing aligned"
    unsigned = rec(
        "203.0.113.5",
        dkim_al="fail",
        spf_al="fail",
        auth=(spf("shop.example", "none"), dkim("other.example", "fail")),
    )
    assert classify(unsigned).reason is Reason.SPOOFING
    assert classify(unsigned, own=True).reason is Reason.NOT_IN_SPF


def test_no_auth_results_at_all() -> None:
    bare = rec("203.0.113.5", dkim_al="fail", spf_al="fail")
    assert classify(bare).reason is Reason.SPOOFING
    assert classify(bare).detail == "no SPF result; no DKIM signature"
    assert classify(bare, known=True).reason is Reason.NOT_IN_SPF


def test_esp_signing_with_its_own_domain() -> None:
    verdict = classify(
        rec(
            ESP,
            dkim_al="fail",
            spf_al="fail",
            auth=(dkim("sendgrid.net"), spf("em123.sendgrid.net")),
        )
    )
    assert verdict.reason is Reason.ESP_OWN_DOMAIN
    assert verdict.other_domain == "sendgrid.net"
    assert "DKIM pass d=sendgrid.net" in verdict.detail
    assert "SPF pass for em123.sendgrid.net" in verdict.detail
    fix = fix_for(verdict.reason, ESP, "shop.example", verdict.other_domain)
    assert fix.startswith("SendGrid (sendgrid.net) authenticates as itself")
    assert "CNAME" in fix


def test_esp_bouncing_with_its_own_domain_without_dkim() -> None:
    verdict = classify(rec(ESP, dkim_al="fail", spf_al="fail", auth=(spf("bounce.esp.example"),)))
    assert verdict.reason is Reason.ESP_OWN_DOMAIN
    assert verdict.other_domain == "bounce.esp.example"


def test_forwarding_is_an_own_signature_broken_in_transit() -> None:
    # SPF fails for us at the forwarder; our DKIM signature no longer verifies
    plain = classify(
        rec(
            FORWARDER,
            dkim_al="fail",
            spf_al="fail",
            auth=(dkim("shop.example", "fail"), spf("shop.example", "fail")),
        )
    )
    assert plain.reason is Reason.FORWARDING
    assert plain.detail == "SPF fail for shop.example; DKIM fail d=shop.example"
    # a list re-signs with its own domain and rewrites the envelope: still forwarding,
    # not "an ESP with its own domain"
    listed = classify(
        rec(
            FORWARDER,
            dkim_al="fail",
            spf_al="fail",
            auth=(
                dkim("shop.example", "fail"),
                dkim("lists.example.org"),
                spf("lists.example.org"),
            ),
        )
    )
    assert listed.reason is Reason.FORWARDING
    # the receiver said so
    noted = classify(
        rec(
            FORWARDER,
            dkim_al="fail",
            spf_al="fail",
            reasons=[("mailing_list", "")],
            auth=(spf("shop.example", "fail"),),
        )
    )
    assert noted.reason is Reason.FORWARDING


def test_broken_signature_from_our_own_server_is_not_forwarding() -> None:
    verdict = classify(
        rec(
            OWN,
            dkim_al="fail",
            spf_al="fail",
            auth=(dkim("shop.example", "fail"), spf("shop.example", "fail")),
        ),
        own=True,
    )
    assert verdict.reason is Reason.NOT_IN_SPF


def test_spf_error() -> None:
    verdict = classify(
        rec(OWN, dkim_al="fail", spf_al="fail", auth=(spf("shop.example", "permerror"),)),
        known=True,
    )
    assert verdict.reason is Reason.SPF_ERROR
    assert verdict.detail == "SPF permerror for shop.example"


def test_strict_alignment() -> None:
    assert aligned("mail.shop.example", "shop.example", "r")
    assert not aligned("mail.shop.example", "shop.example", "s")
    assert aligned("Shop.Example.", "shop.example", "s")
    assert aligned("a.shop.co.uk", "b.shop.co.uk", "r")
    assert not aligned("co.uk", "shop.co.uk", "r")
    assert not aligned("shop.example", "shopexample.com", "r")
    record = rec(OWN, dkim_al="fail", spf_al="fail", auth=(dkim("mail.shop.example"),))
    verdict = classify_record(record, "shop.example", "s", "r", SourceContext())
    assert verdict.reason is Reason.ESP_OWN_DOMAIN
    assert "strict alignment" in fix_for(verdict.reason, OWN, "shop.example", verdict.other_domain)


def test_providers() -> None:
    assert provider_for("mail-sor-f41.google.com") == "Google"
    assert provider_for("a48-93.smtp-out.amazonses.com.") == "Amazon SES"
    assert provider_for("mail-eopbgr.outbound.protection.outlook.com") == "Microsoft"
    assert provider_for("notgoogle.com") is None
    assert provider_for(None) is None


def test_diagnosis_takes_the_reason_behind_most_messages() -> None:
    esp = Verdict(Reason.ESP_OWN_DOMAIN, "DKIM pass d=esp.example", "esp.example")
    spoof = Verdict(Reason.SPOOFING, "SPF fail for shop.example; no DKIM signature")
    diag = diagnose(
        ESP, [(esp, 30, "shop.example"), (spoof, 3, "shop.example"), (esp, 2, "shop.example")]
    )
    assert diag is not None
    assert (diag.reason, diag.messages, diag.failing) == (Reason.ESP_OWN_DOMAIN, 32, 35)
    assert diag.breakdown == ((Reason.ESP_OWN_DOMAIN, 32), (Reason.SPOOFING, 3))
    assert "esp.example" in diag.fix
    assert diagnose(ESP, []) is None


# --- figures -------------------------------------------------------------------


def test_figures(store: Store) -> None:
    fill(store, 9)
    store.add(
        agg(
            [
                rec(OWN, 40, disposition="none", auth=(dkim("shop.example"),), spf_al="fail"),
                spoofed(7),
            ],
            org="Yahoo",
            report_id="y1",
            day=3,
        )
    )
    store.add(agg([own_ok(999)], report_id="other", domain="other.example"))
    s = build_summary(store, PeriodFilter(domain="shop.example"))
    t = s.totals
    assert s.reports == 10 and s.domains == ("shop.example",)
    assert t.messages == 9 * (1000 + 5 + 50 + 10) + 47
    assert t.dmarc_pass == 9000 + 40
    assert t.spf_aligned == 9000 and t.dkim_aligned == 9040
    assert [(r.org_name, r.reports, r.figures.messages) for r in s.reporters] == [
        ("google.com", 9, 9585),
        ("Yahoo", 1, 47),
    ]
    assert dict(s.dispositions) == {"none": t.messages}
    assert [x.source_ip for x in s.sources] == [OWN, SPOOFER, FORWARDER, ESP]
    own = s.sources[0]
    assert own.figures.messages == 9040 and own.diagnosis is None
    assert own.reporters == ("Yahoo", "google.com")
    assert [x.source_ip for x in s.top_failing] == [SPOOFER, FORWARDER, ESP]
    reasons = {x.source_ip: x.diagnosis.reason for x in s.top_failing if x.diagnosis}
    assert reasons == {
        SPOOFER: Reason.SPOOFING,
        FORWARDER: Reason.FORWARDING,
        ESP: Reason.ESP_OWN_DOMAIN,
    }
    assert s.new_sources is None  # no --since: nothing to compare with


def test_period_bounds_and_new_sources(store: Store) -> None:
    fill(store, 6, esp=0)
    store.add(agg([esp_fail(20)], org="Yahoo", report_id="late", day=7))
    since = DAY0 + timedelta(days=4)
    s = build_summary(store, PeriodFilter(since=since))
    assert s.reports == 3  # g4, g5, late
    assert s.first_begin == since
    assert [x.source_ip for x in s.new_sources or ()] == [ESP]
    assert {x.source_ip: x.new for x in s.sources}[OWN] is False
    s = build_summary(store, PeriodFilter(since=since, until=DAY0 + timedelta(days=5)))
    assert s.reports == 1 and s.new_sources == ()


def test_a_source_that_passed_before_is_known(store: Store) -> None:
    store.add(
        agg(
            [rec("192.0.2.50", 10, auth=(dkim("shop.example"),), spf_al="fail")],
            report_id="old",
            day=0,
        )
    )
    store.add(
        agg(
            [
                rec(
                    "192.0.2.50",
                    10,
                    dkim_al="fail",
                    spf_al="fail",
                    auth=(spf("shop.example", "fail"),),
                )
            ],
            report_id="new",
            day=5,
        )
    )
    s = build_summary(store, PeriodFilter(since=DAY0 + timedelta(days=5)))
    [source] = s.sources
    assert source.diagnosis is not None and source.diagnosis.reason is Reason.NOT_IN_SPF
    assert source.new is False


def test_reverse_dns_makes_sources_known(store: Store) -> None:
    fill(store, 8, esp=0, fwd=0)
    store.add(
        agg(
            [
                rec(
                    "192.0.2.77",
                    30,
                    dkim_al="fail",
                    spf_al="fail",
                    auth=(spf("shop.example", "fail"),),
                ),
                rec(
                    "209.85.220.41",
                    12,
                    dkim_al="fail",
                    spf_al="fail",
                    auth=(spf("shop.example", "fail"),),
                ),
            ],
            report_id="x",
            day=2,
        )
    )
    ptrs = {
        "192.0.2.77": PtrInfo("crm.shop.example", None, "records"),
        "209.85.220.41": PtrInfo("mail-sor-f41.google.com", "Google", "records"),
        SPOOFER: PtrInfo(None, None, "nxdomain"),
    }
    s = build_summary(store, PeriodFilter(), ptrs=ptrs)
    reasons = {x.source_ip: x.diagnosis.reason for x in s.sources if x.diagnosis}
    assert reasons == {
        "192.0.2.77": Reason.NOT_IN_SPF,
        "209.85.220.41": Reason.NOT_IN_SPF,
        SPOOFER: Reason.SPOOFING,
    }
    google = next(x for x in s.sources if x.source_ip == "209.85.220.41")
    assert google.provider == "Google" and s.resolved


# --- readiness --------------------------------------------------------------------


def test_ready_for_quarantine(store: Store) -> None:
    fill(store, 9)  # 9000 pass, 45 from the ESP failing, spoofing and forwarding excluded
    [r] = build_summary(store, PeriodFilter()).readiness
    assert r.verdict is ReadyVerdict.READY
    assert (r.current_policy, r.next_policy) == ("p=none", "quarantine")
    assert (r.known_messages, r.known_pass, r.spoofed, r.forwarded) == (9045, 9000, 450, 90)
    assert r.message == (
        "99.5% of mail from known senders passes aligned; ready for "
        "p=quarantine. Fix this source first."
    )
    assert [(f.source_ip, f.failing, f.reason) for f in r.fix_first] == [
        (ESP, 45, Reason.ESP_OWN_DOMAIN)
    ]
    assert r.record == "v=DMARC1; p=quarantine"
    assert r.record_note and "rua=" in r.record_note


def test_not_ready_names_the_sources_to_fix(store: Store) -> None:
    fill(store, 9, esp=30)  # 9000 / (9000 + 270 + 180)
    for day in range(9):
        store.add(
            agg(
                [
                    rec(
                        "192.0.2.9",
                        20,
                        dkim_al="fail",
                        spf_al="fail",
                        auth=(spf("shop.example", "permerror"),),
                    )
                ],
                org="Yahoo",
                report_id=f"y{day}",
                day=day,
            )
        )
    [r] = build_summary(store, PeriodFilter()).readiness
    assert r.verdict is ReadyVerdict.NOT_READY
    assert r.message.startswith(
        "only 95.2% of mail from known senders passes aligned "
        "(needs 98%); not ready for p=quarantine. Fix these 2 "
        "sources first."
    )
    assert [(f.source_ip, f.reason) for f in r.fix_first] == [
        (ESP, Reason.ESP_OWN_DOMAIN),
        ("192.0.2.9", Reason.SPF_ERROR),
    ]


def test_not_enough_data(store: Store) -> None:
    fill(store, 3)
    [r] = build_summary(store, PeriodFilter()).readiness
    assert r.verdict is ReadyVerdict.NOT_ENOUGH_DATA
    assert "3.0 days" in r.message
    store.add(agg([own_ok(10)], report_id="tiny", domain="tiny.example", days=10))
    tiny = build_summary(store, PeriodFilter(domain="tiny.example")).readiness[0]
    assert tiny.verdict is ReadyVerdict.NOT_ENOUGH_DATA and "10 messages" in tiny.message


def test_only_spoofed_mail(store: Store) -> None:
    fill(store, 9, own=0, esp=0, fwd=0, spoof=500)
    [r] = build_summary(store, PeriodFilter()).readiness
    assert r.verdict is ReadyVerdict.NOT_ENOUGH_DATA
    assert "look spoofed" in r.message and r.known_messages == 0


def test_quarantine_steps_to_reject_and_reject_is_the_end(store: Store) -> None:
    fill(store, 9, p="quarantine", esp=0)
    [r] = build_summary(store, PeriodFilter()).readiness
    assert (r.verdict, r.next_policy, r.record) == (
        ReadyVerdict.READY,
        "reject",
        "v=DMARC1; p=reject",
    )
    store.add(agg([own_ok(5)], report_id="later", day=20, p="reject"))
    [r] = build_summary(store, PeriodFilter()).readiness
    assert (r.verdict, r.next_policy, r.record) == (ReadyVerdict.AT_REJECT, None, None)
    assert r.current_policy == "p=reject"


def test_partial_policy_first_goes_to_100_percent(store: Store) -> None:
    fill(store, 9, p="quarantine", pct=25, esp=0)
    [r] = build_summary(store, PeriodFilter()).readiness
    assert r.current_policy == "p=quarantine pct=25"
    assert r.next_policy == "quarantine"
    assert r.record == "v=DMARC1; p=quarantine"


def test_published_record_keeps_its_rua(store: Store) -> None:
    fill(store, 9)
    published = {
        "shop.example": "v=DMARC1; p=none; pct=100; rua=mailto:d@shop.example; "
        "ruf=mailto:f@shop.example; fo=1"
    }
    [r] = build_summary(store, PeriodFilter(), published=published).readiness
    assert r.record == (
        "v=DMARC1; p=quarantine; rua=mailto:d@shop.example; ruf=mailto:f@shop.example; fo=1"
    )
    assert r.record_note is None


def test_next_step_and_record_from_the_reports() -> None:
    def seen(p: str | None, **kw: object) -> PolicySeen:
        values = {
            "sp": None,
            "np": None,
            "adkim": None,
            "aspf": None,
            "pct": None,
            "fo": None,
            "testing": None,
            **kw,
        }
        return PolicySeen(p, **values)  # type: ignore[arg-type]

    assert next_step(None) == "quarantine"
    assert next_step(seen("none")) == "quarantine"
    assert next_step(seen("quarantine")) == "reject"
    assert next_step(seen("quarantine", testing="y")) == "quarantine"
    assert next_step(seen("reject", pct=50)) == "reject"
    assert next_step(seen("reject")) is None
    record, note = suggest_record(
        "shop.example", "quarantine", seen("none", sp="none", adkim="s", aspf="r", fo="1"), None
    )
    assert record == "v=DMARC1; p=quarantine; sp=none; adkim=s; fo=1"
    assert note is not None
    # a published text that is not DMARC is not trusted
    record, note = suggest_record("shop.example", "reject", seen("quarantine"), "v=spf1 -all")
    assert record == "v=DMARC1; p=reject" and note is not None


# --- periods and output shapes ------------------------------------------------------


def test_parse_when() -> None:
    now = datetime(2024, 6, 10, 12, 0, tzinfo=UTC)
    assert parse_when("7d", "--since", now) == now - timedelta(days=7)
    assert parse_when("24h", "--since", now) == now - timedelta(hours=24)
    assert parse_when("2W", "--since", now) == now - timedelta(weeks=2)
    assert parse_when("2024-05-01", "--since", now) == datetime(2024, 5, 1, tzinfo=UTC)
    assert parse_when("2024-05-01", "--until", now, end_of_day=True) == datetime(
        2024, 5, 2, tzinfo=UTC
    )
    assert parse_when("2024-05-01T06:30:00Z", "--since", now) == datetime(
        2024, 5, 1, 6, 30, tzinfo=UTC
    )
    assert parse_when("2024-05-01T06:30", "--since", now) == datetime(2024, 5, 1, 6, 30, tzinfo=UTC)
    with pytest.raises(InputError, match="--since 'last week'"):
        parse_when("last week", "--since", now)


def test_percent_rounds_down() -> None:
    assert percent(0.97996) == "97.9%"
    assert percent(1.0) == "100.0%"
    assert percent(0.995) == "99.5%"
    assert percent(None) == "n/a"


def test_json_and_csv_shapes(store: Store) -> None:
    fill(store, 9)
    s = build_summary(store, PeriodFilter(domain="shop.example"))
    doc = s.to_json()
    assert doc["schema_version"] == SCHEMA_VERSION
    assert set(doc) == {
        "schema_version",
        "period",
        "totals",
        "dispositions",
        "reporters",
        "sources",
        "top_failing",
        "new_sources",
        "readiness",
        "resolved",
        "senders",
    }
    assert set(doc["totals"]) == {
        "messages",
        "dmarc_pass",
        "dmarc_pass_rate",
        "spf_aligned_pass",
        "spf_aligned_rate",
        "dkim_aligned_pass",
        "dkim_aligned_rate",
    }
    esp = next(x for x in doc["sources"] if x["source_ip"] == ESP)
    assert esp["failing"]["reason"] == "esp-own-domain"
    assert doc["readiness"][0]["ready"] is True
    out = io.StringIO()
    writer = csv.DictWriter(out, CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(csv_rows(s))
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert [r["source_ip"] for r in rows] == [OWN, SPOOFER, FORWARDER, ESP]
    assert rows[0]["reason"] == "" and rows[3]["reason"] == "esp-own-domain"
    assert rows[3]["failing"] == "45" and rows[0]["dmarc_pass_rate"] == "1.0"


# --- --resolve through the project's resolver (zone files, offline) -------------------


def test_lookup_ptr_and_dmarc_through_the_resolver(tmp_path: Path) -> None:
    from dmarc_audit.cli.common import run_async
    from dmarc_audit.dns.setup import DnsOptions, build_resolver

    reverse = tmp_path / "reverse.zone"
    reverse.write_text(
        "$ORIGIN 2.0.192.in-addr.arpa.\n$TTL 300\n"
        "@ SOA ns.shop.example. host.shop.example. 1 7200 3600 1209600 300\n"
        "@ NS ns.shop.example.\n1 PTR mail.shop.example.\n"
        "7 PTR o1.ptr1234.sendgrid.net.\n"
    )
    forward = tmp_path / "shop.zone"
    forward.write_text(
        "$ORIGIN shop.example.\n$TTL 300\n"
        "@ SOA ns.shop.example. host.shop.example. 1 7200 3600 1209600 300\n"
        "@ NS ns.shop.example.\n"
        '_dmarc TXT "v=DMARC1; p=none; rua=mailto:dmarc@shop.example"\n'
    )
    resolver = build_resolver(DnsOptions(zones=(str(reverse), str(forward)), offline=True))
    ptrs, published = run_async(
        lookup(resolver, ["192.0.2.1", "192.0.2.7", "192.0.2.99", "not-an-ip"], ["shop.example"])
    )
    assert ptrs["192.0.2.1"] == PtrInfo("mail.shop.example", None, "records")
    assert ptrs["192.0.2.7"] == PtrInfo("o1.ptr1234.sendgrid.net", "SendGrid", "records")
    assert ptrs["192.0.2.99"].name is None and ptrs["192.0.2.99"].outcome == "nxdomain"
    assert ptrs["not-an-ip"].outcome == "invalid address"
    assert published == {"shop.example": "v=DMARC1; p=none; rua=mailto:dmarc@shop.example"}
    assert {e.name for e in resolver.trace.entries} >= {
        "1.2.0.192.in-addr.arpa",
        "_dmarc.shop.example",
    }


def test_a_week_of_real_daily_reports_is_enough(store: Store) -> None:
    """Reporters close a day at begin + 86399 s: seven of them are seven days, not 6.99."""
    from dataclasses import replace

    for day in range(7):
        report = agg([own_ok(100)], report_id=f"d{day}", day=day)
        report.meta = replace(report.meta, end=report.meta.begin + timedelta(seconds=86399))
        store.add(report)
    [r] = build_summary(store, PeriodFilter()).readiness
    assert r.verdict is not ReadyVerdict.NOT_ENOUGH_DATA, r.message
