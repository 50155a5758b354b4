"""Known senders, named and classified: each provider pattern, each state, each contradiction.

A store is filled with eight days of reports for shop.example from senders whose
identity the test knows. Offline, the policy file's ``senders:`` and the reports'
authentication domains name them; with DNS (a loopback server holding the SPF
tree, reverse DNS and Team Cymru's origin-AS zone, or the same files as --zone)
the SPF include, the forward-confirmed PTR and the origin AS name the rest.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from dmarc_audit.config import load_config
from dmarc_audit.reports.classify import Reason
from dmarc_audit.reports.store import Store
from dmarc_audit.reports.summary import PeriodFilter, ReadyVerdict, build_summary
from dmarc_audit.senders.report import with_senders
from dmarc_audit.senders.table import SenderState
from tests.cli_helpers import run_cli
from tests.test_reports_store import agg, dkim, rec, spf

OWN = "192.0.2.1"
MAILCHIMP = "205.201.128.5"  # authorised by include:servers.mcsv.net
CRM = "198.18.0.5"  # authorised by include:_spf.crm.example (no provider entry)
SENDGRID = "203.0.113.7"  # DKIM d=sendgrid.net
SES = "203.0.113.8"  # envelope (SPF) domain amazonses.com only
ZENDESK = "198.51.100.20"  # PTR o1.mail.zendesk.com, forward-confirmed
FAKE_PTR = "198.51.100.21"  # PTR names zendesk.com but does not resolve back
SALESFORCE = "198.51.100.30"  # origin AS14340
LYON = "192.0.2.20"  # senders: Franchise Lyon 192.0.2.16/28
FORWARDER = "203.0.113.50"  # our DKIM broken in transit
LIST_SERVER = "198.51.100.40"  # PTR lists.example.org, re-signs as example.org
LIST_TAGGED = "203.0.113.60"  # a receiver said mailing_list for part of its mail
SPOOFER = "198.51.100.9"
NO_RESULTS = "198.51.100.50"
EMPTY_D = "198.51.100.60"  # a DKIM pass with an empty domain

DAYS = 8
SOA = "@ SOA ns.example. host.example. 1 7200 3600 1209600 300\n@ NS ns.example.\n"
POLICY = "senders:\n  Franchise Lyon: 192.0.2.16/28\n"


def _records():
    fail = {"dkim_al": "fail", "spf_al": "fail"}
    own_spf_fail = spf("shop.example", "fail")
    return [
        rec(OWN, 1000, auth=(dkim("shop.example"), spf("shop.example"))),
        rec(
            MAILCHIMP,
            200,
            spf_al="fail",
            auth=(dkim("shop.example", selector="k2"), spf("mcsv.net")),
        ),
        rec(CRM, 100, spf_al="fail", auth=(dkim("shop.example"), spf("crm.example"))),
        rec(SENDGRID, 300, **fail, auth=(dkim("sendgrid.net"), spf("em1.sendgrid.net"))),
        rec(SES, 150, **fail, auth=(spf("eu-west-1.amazonses.com"),)),
        rec(ZENDESK, 80, **fail, auth=(dkim("customer.example", "fail"), own_spf_fail)),
        rec(FAKE_PTR, 30, **fail, auth=(own_spf_fail,)),
        rec(SALESFORCE, 60, **fail, auth=(own_spf_fail,)),
        rec(LYON, 40, **fail, auth=(own_spf_fail,)),
        rec(FORWARDER, 70, **fail, auth=(dkim("shop.example", "fail"), spf("fwd.example"))),
        rec(LIST_SERVER, 25, **fail, auth=(dkim("example.org"), spf("lists.example.org"))),
        rec(LIST_TAGGED, 15, **fail, auth=(own_spf_fail,), reasons=(("mailing_list", ""),)),
        rec(LIST_TAGGED, 30, **fail, auth=(own_spf_fail,)),
        rec(SPOOFER, 50, **fail, auth=(own_spf_fail,)),
        rec(NO_RESULTS, 20, **fail),
        rec(EMPTY_D, 10, **fail, auth=(dkim(""), own_spf_fail)),
    ]


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "reports.sqlite3"
    with Store(path) as store:
        for day in range(DAYS):
            store.add(agg(_records(), report_id=f"g{day}", day=day))
    return path


@pytest.fixture
def policy(tmp_path: Path) -> Path:
    path = tmp_path / "dmarc-audit.yaml"
    path.write_text(POLICY)
    return path


def _zones(tmp_path: Path) -> list[Path]:
    files = {
        "shop.zone": "$ORIGIN shop.example.\n$TTL 300\n" + SOA + '@ TXT "v=spf1 ip4:192.0.2.0/28 '
        'include:servers.mcsv.net include:_spf.crm.example -all"\n'
        '_dmarc TXT "v=DMARC1; p=none; rua=mailto:dmarc@shop.example"\n',
        "mcsv.zone": "$ORIGIN mcsv.net.\n$TTL 300\n"
        + SOA
        + 'servers TXT "v=spf1 ip4:205.201.128.0/20 -all"\n',
        "crm.zone": "$ORIGIN crm.example.\n$TTL 300\n"
        + SOA
        + '_spf TXT "v=spf1 ip4:198.18.0.0/24 -all"\n',
        "zendesk.zone": "$ORIGIN zendesk.com.\n$TTL 300\n"
        + SOA
        + 'mail TXT "v=spf1 ip4:192.161.144.0/20 -all"\n'
        + f"o1.mail A {ZENDESK}\nfake.mail A 192.0.2.99\n",
        "org.zone": "$ORIGIN example.org.\n$TTL 300\n" + SOA + f"lists A {LIST_SERVER}\n",
        "reverse.zone": "$ORIGIN 100.51.198.in-addr.arpa.\n$TTL 300\n"
        + SOA
        + "20 PTR o1.mail.zendesk.com.\n21 PTR fake.mail.zendesk.com.\n"
        + "40 PTR lists.example.org.\n",
        "cymru.zone": "$ORIGIN asn.cymru.com.\n$TTL 300\n"
        + SOA
        + '30.100.51.198.origin TXT "14340 | 198.51.100.0/24 | US | arin | 2005-01-01"\n'
        + 'AS14340 TXT "14340 | US | arin | 2005-01-01 | SALESFORCE - Salesforce.com, Inc., US"\n',
    }
    paths = []
    for name, text in files.items():
        path = tmp_path / name
        path.write_text(text)
        paths.append(path)
    return paths


def _offline(db: Path, policy: Path):
    with Store(db) as store:
        return with_senders(
            store, build_summary(store, PeriodFilter()), load_config(policy).senders
        )


def _by_ip(rows) -> dict:
    return {ip: row for row in rows for ip in row["ips"]}


# --- offline -------------------------------------------------------------------------


def test_offline_names_from_the_policy_file_and_auth_domains(db: Path, policy: Path) -> None:
    summary = _offline(db, policy)
    rows = {r.name: r for r in summary.senders}
    sendgrid = rows["SendGrid"]
    assert sendgrid.ips == (SENDGRID,) and sendgrid.state is SenderState.NOT_ALIGNED
    assert sendgrid.evidence[0].detail == "DKIM signs d=sendgrid.net"
    assert "DKIM signs d=sendgrid.net; publish `s1._domainkey.shop.example. CNAME" in (
        sendgrid.fix or ""
    )
    ses = rows["Amazon SES"]
    assert ses.ips == (SES,) and ses.state is SenderState.NOT_ALIGNED
    assert ses.evidence[0].detail == "envelope domain eu-west-1.amazonses.com"
    assert "SPF passes for eu-west-1.amazonses.com only" in (ses.fix or "")
    assert "DKIM signs" not in (ses.fix or "")
    lyon = rows["Franchise Lyon"]
    assert lyon.ips == (LYON,) and lyon.state is SenderState.NOT_AUTHORISED
    assert lyon.record == "ip4:192.0.2.16/28"
    assert lyon.fix == (
        f"Franchise Lyon {LYON}: not in SPF of shop.example; add `ip4:192.0.2.16/28`"
    )
    # DKIM aligned with a provider's selector and nothing else: named, aligned
    assert rows["Mailchimp"].state is SenderState.ALIGNED
    assert rows["Mailchimp"].evidence[0].kind.value in ("auth-domain", "dkim-selector")
    # no evidence, no name
    unnamed = {r.state: r for r in summary.senders if not r.named}
    assert SPOOFER in unnamed[SenderState.SPOOFING].ips
    assert ZENDESK in unnamed[SenderState.SPOOFING].ips  # offline nothing names it
    assert unnamed[SenderState.UNKNOWN].ips == (NO_RESULTS,)
    assert FORWARDER in unnamed[SenderState.FORWARDING].ips
    assert OWN in unnamed[SenderState.ALIGNED].ips


def test_each_state_once_per_source(db: Path, policy: Path) -> None:
    summary = _offline(db, policy)
    seen = [ip for row in summary.senders for ip in row.ips]
    assert len(seen) == len(set(seen)) == len(summary.sources)
    assert {r.state for r in summary.senders} == set(SenderState)


# --- the contradictions ---------------------------------------------------------------


def test_part_tagged_forwarded_is_forwarding_everywhere(db: Path, policy: Path) -> None:
    """15 of its 45 failing messages were tagged mailing_list, the rest carry the same results."""
    summary = _offline(db, policy)
    source = next(s for s in summary.sources if s.source_ip == LIST_TAGGED)
    assert source.diagnosis is not None
    assert source.diagnosis.reason is Reason.FORWARDING
    assert source.diagnosis.breakdown == ((Reason.FORWARDING, 45 * DAYS),)
    row = next(r for r in summary.senders if LIST_TAGGED in r.ips)
    assert row.state is SenderState.FORWARDING
    [readiness] = summary.readiness
    assert LIST_TAGGED not in {f.source_ip for f in readiness.fix_first}
    forwarded = sum(
        s.figures.failing
        for s in summary.sources
        if s.source_ip in (LIST_TAGGED, FORWARDER, LIST_SERVER)
    )
    assert readiness.forwarded <= forwarded
    assert readiness.forwarded >= (45 + 70) * DAYS


def test_readiness_and_sender_table_agree(db: Path, policy: Path) -> None:
    summary = _offline(db, policy)
    [readiness] = summary.readiness
    state_of = {ip: row.state for row in summary.senders for ip in row.ips}
    for f in readiness.fix_first:
        assert state_of[f.source_ip] not in (SenderState.FORWARDING, SenderState.SPOOFING), f
    assert LYON in {f.source_ip for f in readiness.fix_first}  # the policy file says ours


def test_no_empty_dkim_domain_anywhere(db: Path, policy: Path) -> None:
    summary = _offline(db, policy)
    text = repr(summary.to_json())
    assert "d=;" not in text and "d= " not in text and "d='" not in text and 'd="' not in text
    empty = next(s for s in summary.sources if s.source_ip == EMPTY_D)
    assert empty.diagnosis is not None and "(no signing domain)" in empty.diagnosis.detail
    run = run_cli("reports", "summary", "--db", str(db), "--config", str(policy))
    assert run.code == 0, run.err
    assert "d= " not in run.out and "d=;" not in run.out and "d=\n" not in run.out


def test_readiness_says_the_span_not_the_count(tmp_path: Path) -> None:
    with Store(tmp_path / "r.sqlite3") as store:
        for day in range(6):
            report = agg([rec(OWN, 500)], report_id=f"d{day}", day=day)
            store.add(report)
        last = agg([rec(OWN, 500)], report_id="d6", day=6)
        last.meta = replace(last.meta, end=last.meta.begin.replace(hour=19, minute=12))
        store.add(last)
        [r] = build_summary(store, PeriodFilter()).readiness
    assert r.verdict is ReadyVerdict.NOT_ENOUGH_DATA
    assert r.message.startswith("6.8 days of data; 7 are needed to judge p=quarantine")
    assert "messages" not in r.message


def test_readiness_at_reject_never_says_n_a(tmp_path: Path) -> None:
    with Store(tmp_path / "r.sqlite3") as store:
        for day in range(8):
            store.add(
                agg(
                    [rec(SPOOFER, 50, dkim_al="fail", spf_al="fail")],
                    report_id=f"d{day}",
                    day=day,
                    p="reject",
                )
            )
        [r] = build_summary(store, PeriodFilter()).readiness
    assert r.verdict is ReadyVerdict.AT_REJECT
    assert "n/a" not in r.message
    assert r.message == "already at p=reject; no mail from known senders in this period."


def test_reporters_grouped_by_organisation(tmp_path: Path) -> None:
    names = [
        ("FastMail Pty Ltd", "reports@fastmaildmarc.com"),
        ("Fastmail Pty Ltd", "reports@fastmaildmarc.com"),
        ("Outlook.com", "dmarcreport@microsoft.com"),
        ("Enterprise Outlook", "dmarcreport@microsoft.com"),
        ("Microsoft Corporation", "DMARCREPORT@Microsoft.COM"),
        ("google.com", "noreply-dmarc-support@google.com"),
    ]
    with Store(tmp_path / "r.sqlite3") as store:
        for i, (org, email) in enumerate(names):
            report = agg([rec(OWN, 10 * (i + 1))], org=org, report_id=f"r{i}", day=i)
            report.meta = replace(report.meta, email=email)
            store.add(report)
        summary = build_summary(store, PeriodFilter())
    groups = {r.org_name: r for r in summary.reporters}
    assert set(groups) == {"Microsoft Corporation", "google.com", "Fastmail Pty Ltd"}
    microsoft = groups["Microsoft Corporation"]
    assert microsoft.reports == 3 and microsoft.figures.messages == 30 + 40 + 50
    assert microsoft.names == ("Microsoft Corporation", "Enterprise Outlook", "Outlook.com")
    fastmail = groups["Fastmail Pty Ltd"]
    assert fastmail.names == ("Fastmail Pty Ltd", "FastMail Pty Ltd")
    doc = summary.to_json()["reporters"]
    assert next(r for r in doc if r["org_name"] == "Fastmail Pty Ltd")["names"] == [
        "Fastmail Pty Ltd",
        "FastMail Pty Ltd",
    ]
    assert next(r for r in doc if r["org_name"] == "google.com")["email_domains"] == ["google.com"]


# --- with DNS: SPF tree, forward-confirmed PTR, origin AS -------------------------------


def test_named_from_dns_on_a_loopback_server(db: Path, policy: Path, tmp_path, dns_server) -> None:
    server = dns_server(*_zones(tmp_path), outside="nxdomain")
    run = run_cli(
        "reports",
        "summary",
        "--db",
        str(db),
        "--config",
        str(policy),
        "--resolve",
        "--nameserver",
        server.nameserver,
        "--format",
        "json",
    )
    assert run.code == 0, run.err
    doc = run.json()
    by_ip = _by_ip(doc["senders"])
    mailchimp = by_ip[MAILCHIMP]
    assert mailchimp["name"] == "Mailchimp" and mailchimp["state"] == "aligned"
    assert mailchimp["evidence"][0] == {
        "kind": "spf",
        "detail": "SPF include:servers.mcsv.net of shop.example authorises it",
    }
    crm = by_ip[CRM]
    assert crm["name"] == "SPF include:_spf.crm.example" and crm["state"] == "aligned"
    zendesk = by_ip[ZENDESK]
    assert zendesk["name"] == "Zendesk" and zendesk["state"] == "not-authorised"
    assert zendesk["evidence"] == [{"kind": "ptr", "detail": "reverse DNS o1.mail.zendesk.com"}]
    assert zendesk["fix"].startswith("if you send through Zendesk: not in SPF of shop.example")
    assert "include:mail.zendesk.com" in zendesk["fix"] and "ip4:" not in zendesk["fix"]
    assert "otherwise it is someone else's mail" in zendesk["fix"]
    # a PTR that does not resolve back to the IP names nothing
    assert by_ip[FAKE_PTR]["named"] is False
    salesforce = by_ip[SALESFORCE]
    assert salesforce["name"] == "Salesforce"
    assert salesforce["evidence"] == [
        {"kind": "asn", "detail": "origin AS14340 (SALESFORCE - Salesforce.com, Inc., US)"}
    ]
    assert "ip4:" not in salesforce["fix"]
    # a list server's PTR: forwarding, not spoofing or "not aligned"
    assert by_ip[LIST_SERVER]["name"] == "mailing list at example.org"
    assert by_ip[LIST_SERVER]["state"] == "forwarding"
    # a provider's IP failing DKIM for a third-party domain is never "authorize this IP"
    source = next(s for s in doc["sources"] if s["source_ip"] == ZENDESK)
    assert source["failing"]["reason"] == "not-in-spf"
    assert f"authorize {ZENDESK}" not in source["failing"]["fix"]
    assert "Zendesk customer's mail" in source["failing"]["fix"]
    # one classification: the table's sender to fix is the readiness's source to fix
    assert ZENDESK in {f["source_ip"] for f in doc["readiness"][0]["fix_first"]}
    assert SALESFORCE not in {f["source_ip"] for f in doc["readiness"][0]["fix_first"]}


def test_named_from_zone_files_offline(db: Path, policy: Path, tmp_path: Path) -> None:
    """--zone without --resolve: the SPF tree names senders; PTR and AS are not looked up."""
    args = [a for z in _zones(tmp_path) for a in ("--zone", str(z))]
    run = run_cli(
        "reports", "summary", "--db", str(db), "--config", str(policy), "--format", "json", *args
    )
    assert run.code == 0, run.err
    by_ip = _by_ip(run.json()["senders"])
    assert by_ip[MAILCHIMP]["evidence"][0]["kind"] == "spf"
    assert by_ip[CRM]["name"] == "SPF include:_spf.crm.example"
    assert by_ip[ZENDESK]["named"] is False and by_ip[SALESFORCE]["named"] is False
    lyon = by_ip[LYON]
    # the fix is checked against the posture: 3 lookups now, the ip4 adds none
    assert lyon["fix"].endswith("add `ip4:192.0.2.16/28` (SPF then needs 2 of 10 lookups)")
