"""Every ``policy.*`` rule: a case where it fires, one where it must not, and "unknown".

Each test audits one domain over in-memory YAML zone data (a closed world, no network)
with a policy written as YAML, exactly as ``check --config`` would.
"""

from __future__ import annotations

import asyncio
import copy
from pathlib import Path
from typing import Any

from dmarc_audit.audit import audit_domains
from dmarc_audit.catalog import CATALOG
from dmarc_audit.checks.policy import spf_terms
from dmarc_audit.config import parse_config
from dmarc_audit.dns.cache import CachingResolver
from dmarc_audit.dns.local import LocalRouter
from dmarc_audit.dns.yamlzone import YamlZoneSource
from dmarc_audit.domains import parse_domain
from dmarc_audit.findings import Finding, Severity, Status
from dmarc_audit.report import AuditOptions, DomainReport

KEY = (
    "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAljRqspmM9W4ljwSWO6M2AhKyCyzww5Adut0TOylQOwJ"
    "WHQuw89fYq3DkJn1leq5fcHI9aDHYOCjn21SJjjoeKpTZHXGHYryT9n+zAmUgA4SSUmrClxU42gm9SQVvFI9bMr"
    "RGqlIqJ7i7qcl2xbx6+8Rk8Wq7Lc4VXBw9nGpZz1AAmTUU2uQyKIYaJgWXDlnk9z+FTH/8m9zkh8aH+7sK0mmWH"
    "SdTB/0wB6K9f3CIQqkpoDqWtS/SuFg9k3UmcUgptFOvP8vEBBFiukZsblERbLpcPGo+h3JYfBDB/Rl7TOA4mZov4"
    "vLWCo2PSpPNH7ul+QcQtOfnZlZxWdrZQtspHQIDAQAB"
)

SPF = "v=spf1 mx ip4:192.0.2.0/28 include:_spf.mailer.example -all"
DMARC = "v=DMARC1; p=reject; sp=quarantine; rua=mailto:dmarc@shop.example"

BASE: dict[str, list[Any]] = {
    "shop.example": [{"TXT": SPF}, {"MX": [10, "mx1.shop.example"]}, {"A": "192.0.2.10"}],
    "mx1.shop.example": [{"A": "192.0.2.25"}],
    "_dmarc.shop.example": [{"TXT": DMARC}],
    "s1._domainkey.shop.example": [{"TXT": f"v=DKIM1; k=rsa; p={KEY}"}],
    "_mta-sts.shop.example": [{"TXT": "v=STSv1; id=20260101"}],
    "_smtp._tls.shop.example": [{"TXT": "v=TLSRPTv1; rua=mailto:tls@shop.example"}],
    "_spf.mailer.example": [{"TXT": "v=spf1 ip4:198.51.100.0/25 ~all"}],
    "spf.crm.example": [{"TXT": "v=spf1 include:a.crm.example include:b.crm.example ~all"}],
    "a.crm.example": [{"TXT": "v=spf1 ip4:203.0.113.0/28 ~all"}],
    "b.crm.example": [{"TXT": "v=spf1 ip4:203.0.113.16/28 ~all"}],
}


def zone(changes: dict[str, list[Any] | None]) -> dict[str, list[Any]]:
    """BASE with names replaced (a list) or removed (None)."""
    data = copy.deepcopy(BASE)
    for name, records in changes.items():
        if records is None:
            data.pop(name, None)
        else:
            data[name] = records
    return data


def audit(
    policy: str,
    data: dict[str, list[Any]] | None = None,
    domain: str = "shop.example",
    **options: Any,
) -> DomainReport:
    config = parse_config(f"domains:\n  {domain}:\n" + _indent(policy), Path("p.yaml"))
    resolver = CachingResolver(LocalRouter([YamlZoneSource(data or BASE)], closed_world=True))
    policies = {p.domain.ascii: p for p in config.domains}
    reports = asyncio.run(
        audit_domains(
            resolver,
            [parse_domain(domain)],
            AuditOptions(**{"fetch": False, **options}),  # in memory: no HTTPS server here
            policies=policies,
        )
    )
    return reports[0]


def _indent(text: str) -> str:
    return "".join(f"    {line}\n" for line in text.strip().splitlines())


def policy_findings(report: DomainReport, check_id: str | None = None) -> list[Finding]:
    return [
        f
        for f in report.findings
        if f.id.startswith("policy.") and (check_id is None or f.id == check_id)
    ]


def one(report: DomainReport, check_id: str) -> Finding:
    found = policy_findings(report, check_id)
    assert len(found) == 1, [f.id for f in report.findings]
    return found[0]


def test_every_policy_id_is_in_the_catalog_with_error_default() -> None:
    ids = [i for i in CATALOG if i.startswith("policy.")]
    assert len(ids) == 11
    assert all(CATALOG[i].severity is Severity.ERROR for i in ids)


def test_a_compliant_domain_has_no_policy_findings() -> None:
    report = audit("""
sends_mail: true
dkim_selectors: [s1]
dmarc: {min_policy: reject, min_subdomain_policy: quarantine, require_rua: true,
        alignment: relaxed}
spf: {max_lookups: 3, required_includes: [_spf.mailer.example],
      allowed_includes: [_spf.mailer.example], allowed_ips: [192.0.2.0/24],
      required_ips: [192.0.2.8/30]}
mta_sts_mode: enforce
""")
    assert policy_findings(report) == []
    assert not [f for f in report.findings if f.severity is not Severity.INFO]


# --- DMARC -----------------------------------------------------------------------------------


def test_dmarc_too_weak_fires_for_p_below_the_minimum() -> None:
    data = zone(
        {
            "_dmarc.shop.example": [
                {"TXT": "v=DMARC1; p=none; sp=quarantine; rua=mailto:dmarc@shop.example"}
            ]
        }
    )
    f = one(audit("dmarc: {min_policy: quarantine}", data), "policy.dmarc-too-weak")
    assert f.severity is Severity.ERROR and f.status is Status.FAIL
    assert f.subject == "_dmarc.shop.example"
    assert "receivers apply p=none, at least quarantine is required" in f.message
    assert f.suggested_record == (
        '_dmarc.shop.example. TXT "v=DMARC1; p=quarantine; '
        'sp=quarantine; rua=mailto:dmarc@shop.example"'
    )


def test_dmarc_too_weak_fires_for_sp_and_for_testing_mode() -> None:
    sp = audit("dmarc: {min_subdomain_policy: reject}")
    assert (
        "sp=quarantine for subdomains, at least reject" in one(sp, "policy.dmarc-too-weak").message
    )
    testing = zone({"_dmarc.shop.example": [{"TXT": DMARC + "; t=y"}]})
    f = one(audit("dmarc: {min_policy: reject}", testing), "policy.dmarc-too-weak")
    assert "p=quarantine (t=y lowers it)" in f.message
    assert f.suggested_record is not None and "t=y" not in f.suggested_record


def test_dmarc_too_weak_fires_for_pct_under_rfc7489() -> None:
    data = zone({"_dmarc.shop.example": [{"TXT": DMARC + "; pct=50"}]})
    f = one(
        audit("dmarc: {min_policy: quarantine}", data, dmarc_mode="rfc7489"),
        "policy.dmarc-too-weak",
    )
    assert "pct=50" in f.message
    assert f.suggested_record is not None and "pct" not in f.suggested_record


def test_dmarc_too_weak_and_rua_fire_without_a_record() -> None:
    report = audit(
        "dmarc: {min_policy: reject, require_rua: true}", zone({"_dmarc.shop.example": None})
    )
    weak = one(report, "policy.dmarc-too-weak")
    assert "no DMARC record applies" in weak.message
    assert weak.suggested_record == (
        '_dmarc.shop.example. TXT "v=DMARC1; p=reject; rua=mailto:dmarc-reports@shop.example"'
    )
    one(report, "policy.dmarc-rua-required")


def test_dmarc_requirements_met_are_quiet() -> None:
    report = audit(
        "dmarc: {min_policy: quarantine, min_subdomain_policy: quarantine, require_rua: true}"
    )
    assert policy_findings(report) == []
    none_ok = zone(
        {"_dmarc.shop.example": [{"TXT": "v=DMARC1; p=none; rua=mailto:d@shop.example"}]}
    )
    assert policy_findings(audit("dmarc: {min_policy: none}", none_ok)) == []


def test_dmarc_inherited_from_the_organizational_domain_counts() -> None:
    data = zone({"news.shop.example": [{"A": "192.0.2.11"}]})
    report = audit("dmarc: {min_policy: quarantine}", data, domain="news.shop.example")
    assert policy_findings(report, "policy.dmarc-too-weak") == []  # sp=quarantine applies
    stricter = audit("dmarc: {min_policy: reject}", data, domain="news.shop.example")
    f = one(stricter, "policy.dmarc-too-weak")
    assert f.subject == "_dmarc.shop.example"


def test_dmarc_rua_required_fires_and_is_quiet() -> None:
    data = zone({"_dmarc.shop.example": [{"TXT": "v=DMARC1; p=reject"}]})
    f = one(audit("dmarc: {require_rua: true}", data), "policy.dmarc-rua-required")
    assert f.suggested_record == (
        '_dmarc.shop.example. TXT "v=DMARC1; p=reject; rua=mailto:dmarc-reports@shop.example"'
    )
    assert policy_findings(audit("dmarc: {require_rua: false}", data)) == []


def test_dmarc_alignment() -> None:
    strict = audit("dmarc: {alignment: strict}")
    f = one(strict, "policy.dmarc-alignment")
    assert "adkim=r (relaxed), required strict" in f.message
    assert "aspf=r (relaxed), required strict" in f.message
    assert f.suggested_record is not None and "adkim=s; aspf=s" in f.suggested_record
    data = zone({"_dmarc.shop.example": [{"TXT": DMARC + "; adkim=s"}]})
    assert policy_findings(audit("dmarc: {dkim_alignment: strict, spf_alignment: r}", data)) == []
    relaxed = one(audit("dmarc: {alignment: relaxed}", data), "policy.dmarc-alignment")
    assert "adkim=s (strict), required relaxed" in relaxed.message
    assert "aspf" not in relaxed.message


def test_dmarc_rules_are_unknown_when_the_lookup_fails() -> None:
    data = zone({"_dmarc.shop.example": ["TIMEOUT"]})
    report = audit("dmarc: {min_policy: reject, require_rua: true, alignment: strict}", data)
    found = policy_findings(report)
    assert {f.id for f in found} == {
        "policy.dmarc-too-weak",
        "policy.dmarc-rua-required",
        "policy.dmarc-alignment",
    }
    assert all(f.status is Status.UNKNOWN and f.severity is Severity.WARNING for f in found)


# --- SPF -------------------------------------------------------------------------------------


def test_spf_over_budget_fires_and_is_quiet_at_the_budget() -> None:
    data = zone(
        {
            "shop.example": [
                {"TXT": SPF.replace("-all", "include:spf.crm.example -all")},
                {"MX": [10, "mx1.shop.example"]},
            ]
        }
    )
    report = audit("spf: {max_lookups: 4}", data)
    f = one(report, "policy.spf-over-budget")
    assert report.spf is not None and report.spf.lookups == 5
    assert "needs 5 DNS lookups; the policy file's budget is 4" in f.message
    assert "include:spf.crm.example: 3" in f.evidence
    assert policy_findings(audit("spf: {max_lookups: 5}", data)) == []


def test_spf_over_budget_is_unknown_on_temperror() -> None:
    data = zone({"_spf.mailer.example": ["TIMEOUT"]})
    f = one(audit("spf: {max_lookups: 8}", data), "policy.spf-over-budget")
    assert f.status is Status.UNKNOWN and f.severity is Severity.WARNING
    # over the budget even though a lookup failed: the count is at least this high
    assert one(audit("spf: {max_lookups: 1}", data), "policy.spf-over-budget").status is Status.FAIL


def test_spf_include_not_allowed() -> None:
    data = zone({"shop.example": [{"TXT": SPF.replace("-all", "include:spf.crm.example -all")}]})
    f = one(
        audit("spf: {allowed_includes: [_spf.mailer.example]}", data),
        "policy.spf-include-not-allowed",
    )
    assert "includes spf.crm.example" in f.message
    quiet = audit("spf: {allowed_includes: [_spf.mailer.example, spf.crm.example]}", data)
    assert policy_findings(quiet) == []
    # required includes are always allowed; nested includes are the provider's business
    assert (
        policy_findings(
            audit(
                "spf: {required_includes: [_spf.mailer.example, "
                "spf.crm.example], allowed_includes: []}",
                data,
            )
        )
        == []
    )


def test_spf_includes_behind_a_redirect_count() -> None:
    data = zone(
        {
            "shop.example": [{"TXT": "v=spf1 redirect=_spf.shop.example"}],
            "_spf.shop.example": [{"TXT": "v=spf1 include:spf.crm.example -all"}],
        }
    )
    report = audit("spf: {allowed_includes: [_spf.mailer.example]}", data)
    one(report, "policy.spf-include-not-allowed")
    assert report.spf is not None
    terms = spf_terms(report.spf)
    assert terms is not None and terms.includes == ("spf.crm.example",)


def test_spf_include_required_missing() -> None:
    data = zone({"shop.example": [{"TXT": "v=spf1 mx -all"}]})
    f = one(
        audit("spf: {required_includes: [_spf.mailer.example]}", data),
        "policy.spf-include-required-missing",
    )
    assert "lacks required include:_spf.mailer.example" in f.message
    assert policy_findings(audit("spf: {required_includes: [_spf.mailer.example]}")) == []
    no_spf = zone({"shop.example": [{"MX": [10, "mx1.shop.example"]}]})
    f = one(
        audit("spf: {required_includes: [_spf.mailer.example]}", no_spf),
        "policy.spf-include-required-missing",
    )
    assert "has no SPF record" in f.message


def test_spf_required_rules_are_unknown_when_the_record_cannot_be_read() -> None:
    data = zone({"shop.example": [{"MX": [10, "mx1.shop.example"]}, "TIMEOUT"]})
    report = audit(
        "spf: {required_includes: [_spf.mailer.example], required_ips: [192.0.2.1]}", data
    )
    found = policy_findings(report)
    assert {f.id for f in found} == {
        "policy.spf-include-required-missing",
        "policy.spf-ip-required-missing",
    }
    assert all(f.status is Status.UNKNOWN for f in found)


def test_spf_ip_rules() -> None:
    outside = audit("spf: {allowed_ips: [198.51.100.0/24]}")
    f = one(outside, "policy.spf-ip-not-allowed")
    assert "authorises ip4:192.0.2.0/28" in f.message
    assert policy_findings(audit("spf: {allowed_ips: [192.0.2.0/24, '2001:db8::/32']}")) == []
    missing = one(
        audit("spf: {required_ips: [192.0.2.64/29, 192.0.2.1]}"), "policy.spf-ip-required-missing"
    )
    assert "192.0.2.64/29" in missing.message and "192.0.2.1/32" not in missing.message
    assert policy_findings(audit("spf: {required_ips: [192.0.2.1, 192.0.2.0/28]}")) == []


# --- sending or parked -----------------------------------------------------------------------

PARKED = {
    "parked.example": [{"TXT": "v=spf1 -all"}, {"MX": [0, "."]}],
    "_dmarc.parked.example": [{"TXT": "v=DMARC1; p=reject; rua=mailto:d@parked.example"}],
}


def test_parked_domain_locked_down_is_quiet() -> None:
    report = audit("sends_mail: false", {**BASE, **PARKED}, domain="parked.example")
    assert policy_findings(report) == []


def test_parked_domain_that_can_send_fires() -> None:
    data = {
        **BASE,
        "parked.example": [{"TXT": "v=spf1 include:_spf.mailer.example -all"}, {"A": "192.0.2.99"}],
        "_dmarc.parked.example": [{"TXT": "v=DMARC1; p=quarantine"}],
    }
    f = one(audit("sends_mail: false", data, domain="parked.example"), "policy.parked-sends-mail")
    assert "SPF is 'v=spf1 include:_spf.mailer.example -all', not 'v=spf1 -all'" in f.message
    assert "DMARC policy is p=quarantine, not p=reject" in f.message
    assert f.suggested_record == (
        'parked.example. MX 0 .\nparked.example. TXT "v=spf1 -all"\n'
        '_dmarc.parked.example. TXT "v=DMARC1; p=reject;"'
    )


def test_parked_gaps_already_reported_by_mx_rule_are_not_repeated() -> None:
    data = {**BASE, "parked.example": [{"TXT": "v=spf1 -all"}, {"MX": [0, "."]}]}
    report = audit("sends_mail: false", data, domain="parked.example")
    assert "mx.null-mx-not-locked" in {f.id for f in report.findings}
    assert policy_findings(report) == []


def test_parked_lock_down_unknown_when_dmarc_lookup_fails() -> None:
    data = {
        **BASE,
        "parked.example": [{"TXT": "v=spf1 -all"}, {"A": "192.0.2.99"}],
        "_dmarc.parked.example": ["TIMEOUT"],
    }
    f = one(audit("sends_mail: false", data, domain="parked.example"), "policy.parked-sends-mail")
    assert f.status is Status.UNKNOWN


def test_sending_domain_with_parked_records_fires() -> None:
    data = zone({"shop.example": [{"TXT": "v=spf1 -all"}, {"MX": [10, "mx1.shop.example"]}]})
    f = one(audit("sends_mail: true", data), "policy.sending-domain-parked")
    assert "'v=spf1 -all'" in f.message
    null_mx = zone({"shop.example": [{"TXT": SPF}, {"MX": [0, "."]}]})
    f = one(audit("sends_mail: true", null_mx), "policy.sending-domain-parked")
    assert "null MX" in f.message
    assert policy_findings(audit("sends_mail: true")) == []


# --- MTA-STS and DKIM ------------------------------------------------------------------------


def test_mta_sts_mode() -> None:
    assert policy_findings(audit("mta_sts_mode: enforce")) == []
    missing = one(
        audit("mta_sts_mode: testing", zone({"_mta-sts.shop.example": None})), "policy.mta-sts-mode"
    )
    assert "there is none" in missing.message and missing.subject == "_mta-sts.shop.example"
    invalid = zone({"_mta-sts.shop.example": [{"TXT": "v=STSv1; id=not valid!"}]})
    f = one(audit("mta_sts_mode: enforce", invalid), "policy.mta-sts-mode")
    assert "it is invalid" in f.message and f.record == "v=STSv1; id=not valid!"
    assert policy_findings(audit("mta_sts_mode: none", zone({"_mta-sts.shop.example": None}))) == []
    down = zone({"_mta-sts.shop.example": ["TIMEOUT"]})
    assert one(audit("mta_sts_mode: enforce", down), "policy.mta-sts-mode").status is Status.UNKNOWN


def test_expected_dkim_selectors_are_checked_explicitly() -> None:
    report = audit("dkim_selectors: [s1, s2]")
    assert report.dkim is not None and report.dkim.explicit
    assert report.dkim.selectors_tried == ("s1", "s2")
    missing = [f for f in report.findings if f.id == "dkim.selector-missing"]
    assert [f.subject for f in missing] == ["s2._domainkey.shop.example"]
    assert missing[0].severity is Severity.ERROR


def test_command_line_selectors_win_over_the_policy_file() -> None:
    report = audit("dkim_selectors: [s1, s2]", selectors=("s1",))
    assert report.dkim is not None and report.dkim.selectors_tried == ("s1",)
    assert not [f for f in report.findings if f.id == "dkim.selector-missing"]
