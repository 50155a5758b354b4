"""MTA-STS (RFC 8461 §3.1), TLS-RPT (RFC 8460 §3) and BIMI records: parsers and DNS checks."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from dmarc_audit.audit import audit_mail_records
from dmarc_audit.dns.local import LocalRouter
from dmarc_audit.dns.types import Answer
from dmarc_audit.dns.yamlzone import YamlZoneSource
from dmarc_audit.domains import parse_domain
from dmarc_audit.findings import Finding, Severity, Status
from dmarc_audit.mailrecords.facts import MailRecordsPosture
from dmarc_audit.records.bimi import is_bimi_record, parse_bimi
from dmarc_audit.records.mtasts import is_sts_record, parse_sts
from dmarc_audit.records.tlsrpt import is_tlsrpt_record, parse_tlsrpt

STS = "v=STSv1; id=20240501T120000"
RPT = "v=TLSRPTv1; rua=mailto:tls@example.com"
BIMI = "v=BIMI1; l=https://brand.example.com/logo.svg; a=https://brand.example.com/vmc.pem"


class Recorder:
    """A resolver over YAML zone data that logs the questions asked."""

    def __init__(self, zonedata: dict[str, Any]) -> None:
        self.inner = LocalRouter([YamlZoneSource(zonedata)], closed_world=True)
        self.asked: list[tuple[str, str]] = []

    async def query(self, name: str, rdtype: str) -> Answer:
        self.asked.append((name, rdtype))
        return await self.inner.query(name, rdtype)


def zone(sts: Any = STS, rpt: Any = RPT, bimi: Any = BIMI) -> dict[str, Any]:
    """Zone data for example.com; a str is one TXT, a list is the entries as given."""
    data: dict[str, Any] = {}
    for name, value in (("_mta-sts", sts), ("_smtp._tls", rpt), ("default._bimi", bimi)):
        if value is None:
            continue
        data[f"{name}.example.com"] = [{"TXT": value}] if isinstance(value, str) else value
    return data


def run(zonedata: dict[str, Any], dmarc_enforced: bool | None = True) -> MailRecordsPosture:
    return asyncio.run(
        audit_mail_records(
            Recorder(zonedata), parse_domain("example.com"), dmarc_enforced=dmarc_enforced
        )
    )


def ids(findings: tuple[Finding, ...]) -> list[str]:
    return [f.id for f in findings]


def only(posture: MailRecordsPosture, check_id: str) -> Finding:
    assert ids(posture.findings) == [check_id]
    return posture.findings[0]


# --- parsers -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "v=STSv1; id=20160831085700Z;",
        "v=STSv1;id=a",
        "v=STSv1 ;\tid=" + "A1" * 16,
        "v=STSv1; id=abc; ext.name-1=some:value",
    ],
)
def test_sts_valid(text: str) -> None:
    record = parse_sts(text)
    assert record.valid, record.problems


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("v=STSv1; id=2024-05-01", "may contain only letters and digits"),
        ("v=STSv1; id=" + "a" * 33, "at most 32"),
        ("v=STSv1; id=", "id= is empty"),
        ("v=STSv1;", "id= is required"),
        ("v=STSv1", "id= is required"),
        ("v=stsv1; id=abc", "case-sensitive"),
        ("v=STSv1 id=abc", "expected ';'"),
        ("v=STSv1; ID=abc", "write 'id='"),
        ("v=STSv1; id=a; id=b", "given 2 times"),
        ("v=STSv1;; id=abc", "empty field"),
        ("v=STSv1; id = abc", "no spaces allowed"),
        ("v=STSv1; id=abc; x=a=b", "invalid value"),
        (" v=STSv1; id=abc", "whitespace before"),
        ("v=STSv2; id=abc", "must start with"),
    ],
)
def test_sts_invalid(text: str, problem: str) -> None:
    record = parse_sts(text)
    assert not record.valid
    assert any(problem in p.message for p in record.problems), record.problems


def test_sts_keeps_partial_parse_and_offsets() -> None:
    record = parse_sts("v=STSv1; id=2024-05-01; foo=bar")
    assert record.id == "2024-05-01"
    assert [f.name for f in record.extensions] == ["foo"]
    assert record.problems[0].offset == 9


@pytest.mark.parametrize(
    "text",
    [
        "v=TLSRPTv1; rua=mailto:tls@example.com",
        "v=TLSRPTv1;rua=mailto:a@example.com,https://reports.example.net/tls;",
        "v=TLSRPTv1; rua=mailto:a@example.com , mailto:b@example.org",
    ],
)
def test_tlsrpt_valid(text: str) -> None:
    assert parse_tlsrpt(text).valid


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("v=TLSRPTv1", "rua= is required"),
        ("v=TLSRPTv1; rua=tls@example.com", "write 'mailto:tls@example.com'"),
        ("v=TLSRPTv1; rua=http://reports.example.net/", "'http:' is not supported"),
        ("v=TLSRPTv1; rua=mailto:a@example.com,", "empty URI"),
        ("v=TLSRPTv1; rua=mailto:nobody", "does not hold a mail address"),
        ("v=TLSRPTv1; rua=https:/x", "has no host name"),
        ("v=TLSRPTv1; rua=mailto:a!b@example.com", "percent-encoded"),
        ("v=TLSRPTv1; rua=mailto:a@example.com; rua=mailto:b@example.com", "given 2 times"),
        ("v=tlsrptv1; rua=mailto:a@example.com", "case-sensitive"),
        ("v=TLSRPTv1; RUA=mailto:a@example.com", "write 'rua='"),
    ],
)
def test_tlsrpt_invalid(text: str, problem: str) -> None:
    record = parse_tlsrpt(text)
    assert any(problem in p.message for p in record.problems), record.problems


@pytest.mark.parametrize(
    "text",
    [
        BIMI,
        "v=BIMI1; l=https://brand.example.com/logo.svg;",
        "v=BIMI1;l=https://brand.example.com/logo.svgz;a=;avp=personal;lps=false",
        "v=BIMI1; l=; a=;",
        "v = BIMI1; l=https://brand.example.com/logo; x_future=1",
    ],
)
def test_bimi_valid(text: str) -> None:
    assert parse_bimi(text).valid, parse_bimi(text).problems


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("v=BIMI1; a=https://brand.example.com/vmc.pem", "l= is required"),
        ("v=BIMI1; l=http://brand.example.com/logo.svg", "https: URI"),
        ("v=BIMI1; l=https://brand.example.com/logo.png", "not a .png file"),
        ("v=BIMI1; l=https://a.example.com/1.svg,https://a.example.com/2.svg", "single URI"),
        ("v=BIMI1; l=https://localhost/logo.svg", "fully qualified"),
        ("v=BIMI1; l=https://brand.example.com/logo.svg; a=ftp://x.example.com/v.pem", "https:"),
        ("v=bimi1; l=https://brand.example.com/logo.svg", "case-sensitive"),
        ("v=BIMI2; l=https://brand.example.com/logo.svg", "v= must be BIMI1"),
        ("l=https://brand.example.com/logo.svg; v=BIMI1", "must be the first tag"),
        ("v=BIMI1; L=https://brand.example.com/logo.svg", "write 'l='"),
        ("v=BIMI1; l=; l=", "appears twice"),
        ("v=BIMI1; l=https://brand.example.com/logo.svg; avp=logo", "brand or personal"),
        ("v=BIMI1;; l=", "empty tag"),
    ],
)
def test_bimi_invalid(text: str, problem: str) -> None:
    record = parse_bimi(text)
    assert any(problem in p.message for p in record.problems), record.problems


def test_candidate_filters() -> None:
    assert is_sts_record(" V=STSv1; id=1") and not is_sts_record("v=spf1 -all")
    assert is_tlsrpt_record("v=TLSRPTv1;") and not is_tlsrpt_record("v=DKIM1; p=")
    assert is_bimi_record("v = bimi1; l=") and not is_bimi_record("v=BIMI2; l=")


def test_bimi_declination_and_evidence() -> None:
    declined = parse_bimi("v=BIMI1; l=; a=;")
    assert declined.declined and not declined.has_evidence
    record = parse_bimi(BIMI)
    assert not record.declined and record.has_evidence
    assert record.location == "https://brand.example.com/logo.svg"


# --- the clean case ----------------------------------------------------------------------


def test_well_configured_domain_has_no_findings() -> None:
    resolver = Recorder(zone())
    posture = asyncio.run(
        audit_mail_records(resolver, parse_domain("Example.com."), dmarc_enforced=True)
    )
    assert posture.findings == ()
    assert posture == MailRecordsPosture(STS, RPT, BIMI, ())
    assert posture.to_json() == {"mta_sts": STS, "tls_rpt": RPT, "bimi": BIMI}
    assert sorted(resolver.asked) == [
        ("_mta-sts.example.com", "TXT"),
        ("_smtp._tls.example.com", "TXT"),
        ("default._bimi.example.com", "TXT"),
    ]


def test_other_txt_records_at_the_names_are_ignored() -> None:
    posture = run(zone(sts=[{"TXT": "google-site-verification=x"}, {"TXT": STS}]))
    assert posture.findings == () and posture.mta_sts == STS


def test_cname_to_a_provider_record_is_fine() -> None:
    data = zone(sts=[{"CNAME": "sts.provider.example"}])
    data["sts.provider.example"] = [{"TXT": STS}]
    assert run(data).findings == ()


# --- MTA-STS -----------------------------------------------------------------------------


def test_mtasts_missing_is_info() -> None:
    posture = run(zone(sts=None, rpt=None))
    assert ids(posture.findings) == ["mtasts.missing", "tlsrpt.missing"]
    assert [f.severity for f in posture.findings] == [Severity.INFO, Severity.INFO]
    assert posture.mta_sts is None


def test_mtasts_missing_mentions_ignored_records() -> None:
    found = only(run(zone(sts="some other text")), "mtasts.missing")
    assert "1 other TXT record there ignored" in found.message


def test_mtasts_record_invalid_with_repaired_id() -> None:
    posture = run(zone(sts="v=STSv1; id=2024-05-01"))
    found = only(posture, "mtasts.record-invalid")
    assert found.severity is Severity.ERROR and found.status is Status.FAIL
    assert found.record == "v=STSv1; id=2024-05-01"
    assert found.suggested_record == '_mta-sts.example.com. TXT "v=STSv1; id=20240501"'
    assert posture.mta_sts == "v=STSv1; id=2024-05-01"


def test_mtasts_several_records() -> None:
    posture = run(zone(sts=[{"TXT": STS}, {"TXT": "v=STSv1; id=other"}]))
    found = only(posture, "mtasts.record-invalid")
    assert found.message.startswith("2 MTA-STS records")
    assert posture.mta_sts is None


def test_mtasts_lookup_failure_is_unknown() -> None:
    posture = run(zone(sts=["TIMEOUT"]))
    found = posture.findings[0]
    assert found.id == "dns.lookup-failed" and found.status is Status.UNKNOWN
    assert found.subject == "_mta-sts.example.com"
    assert "mtasts.missing" not in ids(posture.findings)


# --- TLS-RPT -----------------------------------------------------------------------------


def test_tlsrpt_missing_is_warning_with_mta_sts() -> None:
    found = only(run(zone(rpt=None)), "tlsrpt.missing")
    assert found.severity is Severity.WARNING


def test_tlsrpt_missing_is_warning_with_invalid_mta_sts() -> None:
    posture = run(zone(sts="v=STSv1", rpt=None))
    assert ids(posture.findings) == ["mtasts.record-invalid", "tlsrpt.missing"]
    assert posture.findings[1].severity is Severity.WARNING


def test_tlsrpt_missing_is_info_when_mta_sts_unknown() -> None:
    posture = run(zone(sts=["TIMEOUT"], rpt=None))
    assert ids(posture.findings) == ["dns.lookup-failed", "tlsrpt.missing"]
    assert posture.findings[1].severity is Severity.INFO
    assert "could not be checked" in posture.findings[1].message


def test_tlsrpt_invalid_suggests_mailto() -> None:
    posture = run(zone(rpt="v=TLSRPTv1; rua=tls@example.com"))
    found = only(posture, "tlsrpt.invalid")
    assert found.severity is Severity.ERROR
    assert (
        found.suggested_record
        == '_smtp._tls.example.com. TXT "v=TLSRPTv1; rua=mailto:tls@example.com"'
    )
    assert posture.tls_rpt == "v=TLSRPTv1; rua=tls@example.com"


def test_tlsrpt_several_records() -> None:
    posture = run(zone(rpt=[{"TXT": RPT}, {"TXT": "v=TLSRPTv1; rua=mailto:b@example.com"}]))
    assert only(posture, "tlsrpt.invalid").message.startswith("2 TLS-RPT records")
    assert posture.tls_rpt is None


def test_tlsrpt_lookup_failure_is_unknown() -> None:
    posture = run(zone(rpt=["TIMEOUT"]))
    found = only(posture, "dns.lookup-failed")
    assert found.status is Status.UNKNOWN and found.subject == "_smtp._tls.example.com"


# --- BIMI --------------------------------------------------------------------------------


def test_no_bimi_record_is_no_finding() -> None:
    posture = run(zone(bimi=None), dmarc_enforced=False)
    assert posture.findings == () and posture.bimi is None


def test_bimi_record_invalid() -> None:
    posture = run(zone(bimi="v=BIMI1; l=http://brand.example.com/logo.svg; a="))
    found = only(posture, "bimi.record-invalid")
    assert found.severity is Severity.ERROR and "https" in found.message


def test_bimi_several_records() -> None:
    second = "v=BIMI1; l=https://brand.example.com/other.svg; a=https://b.example.com/v.pem"
    posture = run(zone(bimi=[{"TXT": BIMI}, {"TXT": second}]))
    assert only(posture, "bimi.record-invalid").message.startswith("2 BIMI records")


@pytest.mark.parametrize(
    "record",
    [
        "v=BIMI1; l=https://brand.example.com/logo.svg",
        "v=BIMI1; l=https://brand.example.com/logo.svg; a=",
    ],
)
def test_bimi_no_certificate(record: str) -> None:
    found = only(run(zone(bimi=record)), "bimi.no-certificate")
    assert found.severity is Severity.INFO and found.record == record


def test_bimi_dmarc_not_enforced() -> None:
    found = only(run(zone(), dmarc_enforced=False), "bimi.dmarc-not-enforced")
    assert found.severity is Severity.ERROR and found.subject == "example.com"


def test_bimi_dmarc_unknown_gives_no_finding() -> None:
    assert run(zone(), dmarc_enforced=None).findings == ()


def test_bimi_declination_is_quiet() -> None:
    assert run(zone(bimi="v=BIMI1; l=; a=;"), dmarc_enforced=False).findings == ()


def test_bimi_lookup_failure_is_unknown() -> None:
    found = only(run(zone(bimi=["TIMEOUT"]), dmarc_enforced=False), "dns.lookup-failed")
    assert found.status is Status.UNKNOWN and found.subject == "default._bimi.example.com"


# --- dns.dangling-cname ------------------------------------------------------------------


@pytest.mark.parametrize("which", ["sts", "rpt", "bimi"])
def test_dangling_cname(which: str) -> None:
    posture = run(zone(**{which: [{"CNAME": "gone.provider.example"}]}))
    found = only(posture, "dns.dangling-cname")
    assert found.severity is Severity.ERROR
    assert "gone.provider.example" in found.message


def test_cname_to_name_without_txt_is_missing_not_dangling() -> None:
    data = zone(sts=[{"CNAME": "sts.provider.example"}], rpt=None)
    data["sts.provider.example"] = [{"A": "192.0.2.1"}]
    assert ids(run(data).findings) == ["mtasts.missing", "tlsrpt.missing"]
