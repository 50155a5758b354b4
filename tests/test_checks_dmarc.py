"""DMARC rules: each id fires when it should, stays quiet when it should, and lookup
failures give ``unknown`` instead of "missing". Fixes are written out."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from dmarc_audit.audit import audit_dmarc
from dmarc_audit.catalog import CATALOG
from dmarc_audit.checks import dmarc as rules
from dmarc_audit.checks.dmarc import record_findings
from dmarc_audit.dmarc import DmarcMode, ReportUri, parse_dmarc
from dmarc_audit.dmarc.facts import report_host
from dmarc_audit.dmarc.suggest import suggest_dmarc_record
from dmarc_audit.dns.local import LocalRouter
from dmarc_audit.dns.types import Answer
from dmarc_audit.dns.yamlzone import YamlZoneSource
from dmarc_audit.domains import parse_domain
from dmarc_audit.findings import Finding, Severity, Status

R7489, R9989 = DmarcMode.RFC7489, DmarcMode.RFC9989
GOOD = "v=DMARC1; p=reject; rua=mailto:dmarc@example.com"


class Recording:
    def __init__(self, zone: dict[str, Any]) -> None:
        self.inner = LocalRouter([YamlZoneSource(zone)], closed_world=True)
        self.asked: list[str] = []

    async def query(self, name: str, rdtype: str) -> Answer:
        self.asked.append(f"{name} {rdtype}")
        return await self.inner.query(name, rdtype)


def txt(*records: str) -> list[dict[str, Any]]:
    return [{"TXT": r} for r in records]


def audit(
    zone: dict[str, Any], domain: str = "example.com", mode: DmarcMode = R9989, **options: Any
) -> tuple[Any, list[Finding], Recording]:
    resolver = Recording(zone)
    discovery, findings = asyncio.run(audit_dmarc(resolver, parse_domain(domain), mode, **options))
    return discovery, findings, resolver


def ids(findings: list[Finding]) -> set[str]:
    return {f.id for f in findings}


def loud(findings: list[Finding]) -> list[Finding]:
    return [f for f in findings if f.severity is not Severity.INFO]


def one(findings: list[Finding], check_id: str) -> Finding:
    matching = [f for f in findings if f.id == check_id]
    assert len(matching) == 1, (check_id, [f.id for f in findings])
    return matching[0]


EXISTS = [{"A": "192.0.2.1"}]

# --- clean cases: nothing above info ---------------------------------------------


@pytest.mark.parametrize("mode", list(DmarcMode), ids=[m.value for m in DmarcMode])
@pytest.mark.parametrize(
    ("zone", "domain"),
    [
        pytest.param(
            {
                "_dmarc.example.com": txt(
                    "v=DMARC1; p=reject; sp=quarantine; np=reject; "
                    "psd=n; rua=mailto:dmarc@example.com"
                )
            },
            "example.com",
            id="np-and-psd-n",
        ),
        pytest.param(
            {
                "_dmarc.example.com": [{"CNAME": "example-com._dmarc.provider.example"}],
                "example-com._dmarc.provider.example": txt(GOOD),
            },
            "example.com",
            id="cname-to-valid-record",
        ),
        pytest.param(
            {
                "_dmarc.example.com": txt(GOOD),
                "mail.example.com": EXISTS,
                "_dmarc.mail.example.com": txt("v=DMARC1; p=reject; rua=mailto:d@example.com"),
            },
            "mail.example.com",
            id="rua-at-parent-org-domain",
        ),
        pytest.param(
            {"_dmarc.example.com": txt("v=DMARC1; p=reject; rua=mailto:d@reports.example.com")},
            "example.com",
            id="rua-at-own-subdomain",
        ),
        pytest.param(
            {"_dmarc.example.com": txt(GOOD), "mail.example.com": EXISTS},
            "mail.example.com",
            id="inheriting-subdomain",
        ),
        pytest.param(
            {"_dmarc.example.com": txt(GOOD), "_dmarc.a.b.example.com": txt(GOOD)},
            "a.b.example.com",
            id="deep-subdomain-own-record",
        ),
        pytest.param(
            {
                "_dmarc.example.com": txt("v=DMARC1; p=reject; rua=mailto:r@dmarc.example.net"),
                "example.com._report._dmarc.dmarc.example.net": txt("v=DMARC1"),
            },
            "example.com",
            id="authorized-external-rua",
        ),
        pytest.param(
            {
                "_dmarc.example.com": txt(
                    "v=DMARC1; p=reject; rua=mailto:r@dmarc.example.net;"
                    " ruf=mailto:f@dmarc.example.net"
                ),
                "*._report._dmarc.dmarc.example.net": txt("v=DMARC1;"),
            },
            "example.com",
            id="wildcard-authorized-external-rua-and-ruf",
        ),
    ],
)
def test_clean_cases_raise_nothing_above_info(
    zone: dict[str, Any], domain: str, mode: DmarcMode
) -> None:
    discovery, findings, _ = audit(zone, domain, mode)
    assert discovery.status == "found"
    assert loud(findings) == []
    assert ids(findings) <= {"dmarc.inherited"}


def test_inheriting_subdomain_is_info_only_and_explained() -> None:
    zone = {"_dmarc.example.com": txt(GOOD), "mail.example.com": EXISTS}
    _, findings, _ = audit(zone, "mail.example.com")
    item = one(findings, "dmarc.inherited")
    assert item.severity is Severity.INFO and item.subject == "mail.example.com"
    assert "sp (not set, so p=reject)" in item.message


def test_same_organisation_destinations_are_not_looked_up() -> None:
    zone = {"_dmarc.example.com": txt("v=DMARC1; p=reject; rua=mailto:d@reports.example.com")}
    _, _, resolver = audit(zone)
    assert not [q for q in resolver.asked if "_report._dmarc" in q]


# --- DNS-level rules ------------------------------------------------------------------


def test_missing_is_an_error_for_sending_domains_and_a_warning_otherwise() -> None:
    _, findings, _ = audit({"example.com": EXISTS})
    item = one(findings, "dmarc.missing")
    assert item.severity is Severity.ERROR and item.status is Status.FAIL
    assert item.suggested_record == "v=DMARC1; p=none; rua=mailto:dmarc-reports@example.com"
    assert "_dmarc.example.com TXT" in item.remediation
    _, parked, _ = audit({"example.com": EXISTS}, sends_mail=False)
    item = one(parked, "dmarc.missing")
    assert item.severity is Severity.WARNING
    assert item.suggested_record == "v=DMARC1; p=reject; rua=mailto:dmarc-reports@example.com"


def test_missing_for_a_subdomain_suggests_the_org_domain() -> None:
    _, findings, _ = audit({}, "mail.example.com")
    item = one(findings, "dmarc.missing")
    assert (
        "_dmarc.example.com" in item.remediation and "covers mail.example.com" in item.remediation
    )
    assert "dmarc.tree-walk-vs-psl" not in ids(findings)


@pytest.mark.parametrize("mode", list(DmarcMode), ids=[m.value for m in DmarcMode])
def test_lookup_failure_is_unknown_never_missing(mode: DmarcMode) -> None:
    discovery, findings, _ = audit({"_dmarc.example.com": ["TIMEOUT"]}, mode=mode)
    assert discovery.status == "unknown"
    assert "dmarc.missing" not in ids(findings)
    item = one(findings, "dns.lookup-failed")
    assert item.status is Status.UNKNOWN and item.subject == "_dmarc.example.com"
    assert "timeout" in item.message


def test_failure_on_the_parent_is_unknown_for_a_subdomain() -> None:
    discovery, findings, _ = audit({"_dmarc.example.com": ["TIMEOUT"]}, "mail.example.com")
    assert discovery.status == "unknown" and "dmarc.missing" not in ids(findings)
    assert one(findings, "dns.lookup-failed").status is Status.UNKNOWN


def test_multiple_records_error_names_the_record_to_keep() -> None:
    zone = {"_dmarc.example.com": txt("v=DMARC1; p=reject", "v=DMARC1; p=none")}
    for mode in DmarcMode:
        _, findings, _ = audit(zone, mode=mode)
        item = one(findings, "dmarc.multiple-records")
        assert item.severity is Severity.ERROR and len(item.evidence) == 2
        assert item.suggested_record and parse_dmarc(item.suggested_record).valid
        assert "dmarc.missing" not in ids(findings)


def test_multiple_records_then_org_record_under_rfc9989() -> None:
    zone = {
        "_dmarc.example.com": txt(GOOD),
        "_dmarc.mail.example.com": txt("v=DMARC1; p=none", "v=DMARC1; p=reject"),
    }
    discovery, findings, _ = audit(zone, "mail.example.com")
    assert discovery.found_at == "organizational"
    assert one(findings, "dmarc.multiple-records").subject == "_dmarc.mail.example.com"


def test_malformed_record_at_dmarc_is_version_invalid_not_missing() -> None:
    zone = {"_dmarc.example.com": txt("v=DMARC1, p=reject", "site-verification=abc")}
    _, findings, _ = audit(zone)
    item = one(findings, "dmarc.version-invalid")
    assert item.subject == "_dmarc.example.com" and item.record == "v=DMARC1, p=reject"
    assert item.suggested_record == "v=DMARC1; p=reject; rua=mailto:dmarc-reports@example.com"
    assert "dmarc.missing" not in ids(findings)


def test_verification_tokens_at_dmarc_are_left_alone() -> None:
    zone = {"_dmarc.example.com": txt("site-verification=abc", GOOD)}
    _, findings, _ = audit(zone)
    assert findings == []


def test_wrong_location_error_when_nothing_at_dmarc_warning_when_a_leftover() -> None:
    apex = {"example.com": txt("v=spf1 -all", "v=DMARC1; p=reject")}
    _, findings, _ = audit(apex)
    item = one(findings, "dmarc.wrong-location")
    assert item.severity is Severity.ERROR and "Move it" in item.remediation
    assert "_dmarc.example.com TXT" in item.remediation
    _, findings, _ = audit({**apex, "_dmarc.example.com": txt(GOOD)})
    assert one(findings, "dmarc.wrong-location").severity is Severity.WARNING
    _, findings, _ = audit({"example.com": txt("v=spf1 -all"), "_dmarc.example.com": txt(GOOD)})
    assert "dmarc.wrong-location" not in ids(findings)


def test_apex_lookup_failure_is_reported_unknown() -> None:
    zone = {"example.com": ["TIMEOUT"], "_dmarc.example.com": txt(GOOD)}
    discovery, findings, _ = audit(zone)
    assert discovery.status == "found"
    assert one(findings, "dns.lookup-failed").subject == "example.com"


def test_dangling_cname() -> None:
    zone = {"_dmarc.example.com": [{"CNAME": "example-com.gone-provider.example"}]}
    _, findings, _ = audit(zone)
    item = one(findings, "dns.dangling-cname")
    assert item.severity is Severity.ERROR and "gone-provider" in item.message
    assert item.subject == "_dmarc.example.com"


def test_tree_walk_vs_psl_with_psd_n() -> None:
    zone = {
        "_dmarc.b.example.com": txt("v=DMARC1; p=reject; psd=n; rua=mailto:d@b.example.com"),
        "_dmarc.example.com": txt(GOOD),
    }
    for mode in DmarcMode:
        _, findings, _ = audit(zone, "a.b.example.com", mode)
        item = one(findings, "dmarc.tree-walk-vs-psl")
        assert "b.example.com by the RFC 9989 tree walk" in item.message
        assert "keep psd=n" in item.remediation


def test_tree_walk_vs_psl_when_only_the_subdomain_publishes() -> None:
    zone = {"_dmarc.mail.example.com": txt("v=DMARC1; p=reject; rua=mailto:d@mail.example.com")}
    _, findings, _ = audit(zone, "mail.example.com")
    item = one(findings, "dmarc.tree-walk-vs-psl")
    assert "Publish a DMARC record at _dmarc.example.com" in item.remediation


def test_no_tree_walk_vs_psl_when_the_walk_failed() -> None:
    zone = {"_dmarc.mail.example.com": txt(GOOD), "_dmarc.example.com": ["TIMEOUT"]}
    discovery, findings, _ = audit(zone, "mail.example.com")
    assert discovery.status == "found"
    assert "dmarc.tree-walk-vs-psl" not in ids(findings)
    assert one(findings, "dns.lookup-failed").status is Status.UNKNOWN


# --- external report destinations ------------------------------------------------


def test_unauthorized_external_destination() -> None:
    zone = {
        "_dmarc.example.com": txt(
            "v=DMARC1; p=reject; rua=mailto:d@example.com,mailto:r@reports.example.net"
        )
    }
    _, findings, resolver = audit(zone)
    item = one(findings, "dmarc.rua-external-unauthorized")
    assert item.severity is Severity.ERROR
    assert "example.com._report._dmarc.reports.example.net" in item.remediation
    assert item.suggested_record == "v=DMARC1;"
    assert "example.com._report._dmarc.reports.example.net TXT" in resolver.asked
    assert "*._report._dmarc.reports.example.net TXT" in resolver.asked
    assert len(item.evidence) == 2


def test_authorization_record_must_start_with_dmarc1() -> None:
    zone = {
        "_dmarc.example.com": txt("v=DMARC1; p=reject; rua=mailto:r@reports.example.net"),
        "example.com._report._dmarc.reports.example.net": txt("ok"),
    }
    _, findings, _ = audit(zone)
    assert "dmarc.rua-external-unauthorized" in ids(findings)


def test_authorization_uses_the_domain_where_the_record_lives() -> None:
    zone = {
        "_dmarc.example.com": txt("v=DMARC1; p=reject; rua=mailto:r@reports.example.net"),
        "example.com._report._dmarc.reports.example.net": txt("v=DMARC1"),
        "mail.example.com": EXISTS,
    }
    _, findings, _ = audit(zone, "mail.example.com")
    assert ids(findings) == {"dmarc.inherited"}


def test_destination_views_disagree_under_rfc9989() -> None:
    """The parent has no DMARC record: the tree walk puts it in another organisation."""
    zone = {"_dmarc.mail.example.com": txt("v=DMARC1; p=reject; rua=mailto:d@example.com")}
    _, findings, _ = audit(zone, "mail.example.com")
    item = one(findings, "dmarc.rua-external-unauthorized")
    assert item.severity is Severity.WARNING and "other spec's view" in item.message
    assert "RFC 9989 tree walk" in item.message
    _, findings, _ = audit(zone, "mail.example.com", R7489)
    assert "dmarc.rua-external-unauthorized" not in ids(findings)


def test_authorization_lookup_failure_is_unknown() -> None:
    zone = {
        "_dmarc.example.com": txt("v=DMARC1; p=reject; rua=mailto:r@reports.example.net"),
        "example.com._report._dmarc.reports.example.net": ["TIMEOUT"],
    }
    _, findings, _ = audit(zone)
    assert "dmarc.rua-external-unauthorized" not in ids(findings)
    item = one(findings, "dns.lookup-failed")
    assert item.status is Status.UNKNOWN and "_report._dmarc" in item.subject


@pytest.mark.parametrize(
    ("uri", "host"),
    [
        ("mailto:d@Example.COM", "example.com"),
        ("mailto:a%2Cb@example.com?subject=x", "example.com"),
        ("mailto:nobody", None),
        ("https://user@r.example.net:8443/path", "r.example.net"),
        ("urn:x:y", None),
    ],
)
def test_report_host(uri: str, host: str | None) -> None:
    assert report_host(ReportUri(uri)) == host


# --- record rules beyond the conformance table ---------------------------------------


def test_policy_none_for_a_subdomain_inheriting_sp_none() -> None:
    zone = {
        "_dmarc.example.com": txt("v=DMARC1; p=reject; sp=none; rua=mailto:d@example.com"),
        "mail.example.com": EXISTS,
    }
    _, findings, _ = audit(zone, "mail.example.com")
    assert "gets policy none" in one(findings, "dmarc.policy-none").message
    assert "dmarc.sp-weaker" in ids(findings)


def test_testing_mode_is_not_also_policy_none() -> None:
    found = ids(
        record_findings("v=DMARC1; p=quarantine; t=y; rua=mailto:d@example.com", "example.com")
    )
    assert found == {"dmarc.testing-mode"}


def test_psd_misuse_only_off_public_suffixes() -> None:
    record = "v=DMARC1; p=reject; psd=y; rua=mailto:d@example.com"
    assert "dmarc.psd-misuse" in ids(record_findings(record, "example.com"))
    assert "dmarc.psd-misuse" not in ids(record_findings(record, "gov"))


def test_psd_misuse_on_a_parent_is_reported_to_its_subdomains() -> None:
    zone = {
        "_dmarc.example.com": txt("v=DMARC1; p=reject; psd=y; rua=mailto:d@example.com"),
        "mail.example.com": EXISTS,
    }
    discovery, findings, _ = audit(zone, "mail.example.com")
    assert discovery.found_at == "psd"
    assert one(findings, "dmarc.psd-misuse").subject == "_dmarc.example.com"


def test_public_suffix_records_are_not_audited_as_the_users() -> None:
    zone = {"_dmarc.gov": txt("v=DMARC1; p=reject; psd=y; pct=50")}
    _, findings, _ = audit(zone, "agency.gov")
    assert ids(findings) == {"dmarc.inherited"}


def test_record_findings_carry_the_record_and_the_fix() -> None:
    findings = record_findings("v=DMARC1; p=none; pct=50; foo=bar", "example.com")
    assert ids(findings) == {
        "dmarc.policy-none",
        "dmarc.pct-partial",
        "dmarc.removed-tag",
        "dmarc.unknown-tag",
        "dmarc.no-rua",
    }
    for item in findings:
        assert item.record == "v=DMARC1; p=none; pct=50; foo=bar"
        assert item.subject == "_dmarc.example.com"
        assert (
            item.suggested_record == "v=DMARC1; p=quarantine; rua=mailto:dmarc-reports@example.com"
        )
        assert 'Publish: _dmarc.example.com TXT "v=DMARC1; p=quarantine;' in item.remediation
        assert item.references == CATALOG[item.id].references


def test_messages_say_which_spec_when_only_one_applies() -> None:
    (item,) = [
        f
        for f in record_findings("v=DMARC1; rua=mailto:d@example.com; p=reject", "example.com")
        if f.id == "dmarc.syntax-lenient"
    ]
    assert item.message.startswith("RFC 7489 receivers:")
    (item,) = [
        f
        for f in record_findings(
            "v=DMARC1; p=reject; ri=60; rua=mailto:d@example.com", "example.com"
        )
        if f.id == "dmarc.removed-tag"
    ]
    assert item.message.startswith("RFC 9989 receivers:")


def test_invalid_sp_message_explains_the_fallback() -> None:
    item = one(
        record_findings("v=DMARC1; p=reject; sp=bogus; rua=mailto:d@example.com", "example.com"),
        "dmarc.subdomain-policy-invalid",
    )
    assert "act as p=none" in item.message


def test_no_rua_points_at_a_swallowed_tag() -> None:
    item = one(
        record_findings("v=DMARC1; p=reject rua=mailto:d@example.com", "example.com"),
        "dmarc.no-rua",
    )
    assert "';'" in item.message


def test_non_mailto_ruf_is_reported_with_its_tag() -> None:
    findings = record_findings(GOOD + "; ruf=https://r.example.com/f", "example.com")
    assert "ruf destination" in one(findings, "dmarc.rua-non-mailto").message


# --- every id is implemented and documented ---------------------------------------------


def test_every_dmarc_id_is_produced_by_some_scenario() -> None:
    seen: set[str] = set()
    for record in (
        "v=dmarc1",
        "v=DMARC1; p=none; p=reject",
        "v=DMARC1; rua=mailto:d@x.example",
        "v=DMARC1; p=x",
        "v=DMARC1; p=reject; sp=x",
        "v=DMARC1; p=reject; adkim=x",
        "v=DMARC1; p=none; sp=none; pct=5; t=y; psd=y; fo=1; foo=1;;",
        "V=DMARC1; P=REJECT",
        "v=DMARC1; p=reject; sp=none; rua=d@x.example,https://x.example/r",
        "v=DMARC1; p=reject; adkim=s",
    ):
        seen |= ids(record_findings(record, "example.com"))
    for zone, domain in (
        ({"_dmarc.example.com": txt(GOOD, GOOD), "example.com": txt(GOOD)}, "example.com"),
        ({"_dmarc.example.com": txt(GOOD)}, "mail.example.com"),
        (
            {"_dmarc.mail.example.com": txt("v=DMARC1; p=reject; rua=mailto:a@b.example")},
            "mail.example.com",
        ),
        ({"_dmarc.x.example": [{"CNAME": "gone.example"}]}, "x.example"),
        ({"_dmarc.example": ["TIMEOUT"]}, "x.example"),
    ):
        seen |= ids(audit(zone, domain)[1])
    wanted = {i for i in CATALOG if i.startswith("dmarc.")} | {
        "dns.dangling-cname",
        "dns.lookup-failed",
        "align.strict-mode",
    }
    assert wanted <= seen, wanted - seen


def test_every_rule_is_documented_and_listed_once() -> None:
    everything = rules.RECORD_RULES + rules.DNS_RULES
    assert len(set(everything)) == len(everything)
    for rule in everything:
        assert rule.__doc__ and rule.__name__.startswith("check_")


# --- suggested records ------------------------------------------------------------------


RUA = "rua=mailto:d@example.com"


@pytest.mark.parametrize(
    ("record", "suggested"),
    [
        (f"v=DMARC1; p=none; {RUA}", f"v=DMARC1; p=quarantine; {RUA}"),
        (f"v=DMARC1; p=quarantine; {RUA}", f"v=DMARC1; p=reject; {RUA}"),
        (f"v=DMARC1; p=reject; {RUA}", f"v=DMARC1; p=reject; {RUA}"),
        (f"v=DMARC1; p=quarantine; pct=20; {RUA}", f"v=DMARC1; p=quarantine; {RUA}"),
        (f"v=DMARC1; p=reject; t=y; {RUA}", f"v=DMARC1; p=reject; {RUA}"),
        (f"v=DMARC1; p=none; pct=50; t=y; {RUA}", f"v=DMARC1; p=quarantine; {RUA}"),
        (f"v=DMARC1; p=rejct; {RUA}", f"v=DMARC1; p=reject; {RUA}"),
        (
            "v=DMARC1; p=none; sp=none; np=reject; adkim=s; aspf=x; psd=y; rua=d@example.com!10m",
            f"v=DMARC1; p=quarantine; np=reject; adkim=s; {RUA}",
        ),
        (
            "v=DMARC1; p=reject; ruf=mailto:f@example.com; fo=0:1:d",
            "v=DMARC1; p=reject; rua=mailto:dmarc-reports@example.com; "
            "ruf=mailto:f@example.com; fo=1:d",
        ),
        (f"v=DMARC1; p=reject {RUA}", f"v=DMARC1; p=reject; {RUA}"),
        ("v=spf1 -all", "v=DMARC1; p=none; rua=mailto:dmarc-reports@example.com"),
    ],
)
def test_suggest_dmarc_record(record: str, suggested: str) -> None:
    assert suggest_dmarc_record(parse_dmarc(record), "example.com") == suggested


def test_suggestion_without_a_record_and_for_parked_domains() -> None:
    assert (
        suggest_dmarc_record(None, "example.com")
        == "v=DMARC1; p=none; rua=mailto:dmarc-reports@example.com"
    )
    assert (
        suggest_dmarc_record(
            parse_dmarc("v=DMARC1; p=none; sp=none"), "example.com", sends_mail=False
        )
        == "v=DMARC1; p=reject; rua=mailto:dmarc-reports@example.com"
    )


def test_suggestion_keeps_psd_y_on_a_public_suffix() -> None:
    assert "psd=y" in suggest_dmarc_record(parse_dmarc("v=DMARC1; p=reject; psd=y"), "gov")
