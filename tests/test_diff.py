"""Posture diff: matching findings, verdicts at --fail-on, deltas, JSON shape, library use."""

from __future__ import annotations

from pathlib import Path

from dmarc_audit.catalog import finding
from dmarc_audit.config import load_config, resolve_settings
from dmarc_audit.diff import DIFF_SCHEMA_VERSION, Verdict, diff_domain, diff_reports
from dmarc_audit.domains import parse_domain
from dmarc_audit.filters import Baseline, BaselineKey, FilterRules, gate_report
from dmarc_audit.findings import FailOn, Severity
from dmarc_audit.gate import gate_settings, run_gate
from dmarc_audit.report import DomainReport
from tests.test_ci_gate import CONFIG, CURRENT, change


def gated(*findings, baseline=None):  # type: ignore[no-untyped-def]
    return gate_report(
        DomainReport(parse_domain("shop.example"), tuple(findings)), FilterRules(), baseline
    )


RUA = finding("dmarc.no-rua", "_dmarc.shop.example", "no rua")
LOOKUPS = finding("spf.too-many-lookups", "shop.example", "11 lookups")
LOOKUPS_12 = finding("spf.too-many-lookups", "shop.example", "12 lookups")
NEAR = finding("spf.lookups-near-limit", "shop.example", "9 lookups")
MTA = finding("mtasts.missing", "_mta-sts.shop.example", "none")


def test_added_and_fixed_match_by_id_and_subject() -> None:
    d = diff_domain(gated(RUA, LOOKUPS), gated(LOOKUPS_12, NEAR), None)
    assert d.added == (NEAR,)
    assert d.fixed == (RUA,)
    assert d.severity_changed == ()  # 11 -> 12 lookups is the same finding


def test_repeated_findings_are_paired_in_order() -> None:
    other = finding("dns.lookup-failed", "x.example", "a")
    again = finding("dns.lookup-failed", "x.example", "b")
    d = diff_domain(gated(other), gated(other, again), None)
    assert d.added == (again,) and d.fixed == ()


def test_verdicts_at_fail_on() -> None:
    worse = diff_domain(gated(), gated(LOOKUPS), None)
    assert worse.verdict(FailOn.ERROR) is Verdict.WORSE
    assert worse.verdict(FailOn.NEVER) is Verdict.CHANGED
    below = diff_domain(gated(), gated(NEAR), None)
    assert below.verdict(FailOn.ERROR) is Verdict.CHANGED
    assert below.verdict(FailOn.WARNING) is Verdict.WORSE
    better = diff_domain(gated(LOOKUPS), gated(), None)
    assert better.verdict(FailOn.ERROR) is Verdict.BETTER
    same = diff_domain(gated(RUA), gated(RUA), None)
    assert same.verdict(FailOn.INFO) is Verdict.UNCHANGED


def test_severity_raised_into_the_threshold_is_worse() -> None:
    raised = RUA.with_severity(Severity.ERROR)
    d = diff_domain(gated(RUA), gated(raised), None)
    (change_,) = d.severity_changed
    assert change_.raised and change_.before is Severity.WARNING
    assert d.worse_findings(FailOn.ERROR) == (raised,)
    assert d.worse_findings(FailOn.WARNING) == ()  # it tripped --fail-on warning already
    lowered = diff_domain(gated(raised), gated(RUA), None)
    assert lowered.verdict(FailOn.ERROR) is Verdict.BETTER


def test_baselined_additions_never_make_it_worse() -> None:
    baseline = Baseline(frozenset({BaselineKey("shop.example", LOOKUPS.id, LOOKUPS.subject)}))
    d = diff_domain(gated(), gated(LOOKUPS, baseline=baseline), None)
    assert d.added == (LOOKUPS,) and LOOKUPS in d.baselined
    assert d.worse_findings(FailOn.INFO) == ()
    assert d.to_json(FailOn.ERROR)["added"][0]["baselined"] is True  # type: ignore[index]


def test_domain_missing_before_counts_everything_as_added() -> None:
    result = diff_reports([], [gated(LOOKUPS, MTA)])
    assert result.domains[0].added == (LOOKUPS, MTA)
    assert result.worse(FailOn.ERROR)
    assert result.domains[0].spf.delta is None


def test_json_shape() -> None:
    result = diff_reports(
        [gated(RUA)], [gated(LOOKUPS)], before_label="live", after_label="new.zone"
    )
    doc = result.to_json(FailOn.ERROR)
    assert doc["schema_version"] == DIFF_SCHEMA_VERSION == 1
    assert (doc["before"], doc["after"], doc["fail_on"], doc["worse"]) == (
        "live",
        "new.zone",
        "error",
        True,
    )
    (domain,) = doc["domains"]  # type: ignore[misc]
    assert set(domain) == {
        "domain",
        "verdict",
        "added",
        "fixed",
        "severity_changed",
        "spf",
        "dmarc",
        "senders_failing",
    }
    assert set(domain["spf"]) == {
        "lookups_before",
        "lookups_after",
        "lookups_delta",
        "terms_added",
        "terms_removed",
    }
    assert set(domain["dmarc"]) == {
        "policy_before",
        "policy_after",
        "subdomain_policy_before",
        "subdomain_policy_after",
        "record_before",
        "record_after",
        "changed",
        "weaker",
    }
    assert domain["added"][0]["id"] == "spf.too-many-lookups"
    assert domain["fixed"][0]["id"] == "dmarc.no-rua"
    assert "baselined" not in domain["fixed"][0]


def test_library_api_on_the_sample() -> None:
    settings = gate_settings(CONFIG)
    domains = [parse_domain("shop.example")]
    before = run_gate(settings, domains, zones=[CURRENT, *settings.zones])
    after = run_gate(settings, domains, zones=[change("drop-mailer"), *settings.zones])
    result = diff_reports(before.gated, after.gated, {p.domain.ascii: p for p in settings.domains})
    (d,) = result.domains
    assert [f.id for f in d.added] == ["policy.spf-include-required-missing"]
    assert (d.spf.lookups_before, d.spf.lookups_after, d.spf.delta) == (5, 4, -1)
    assert d.spf.terms_removed == ("include:_spf.mailer.example",)
    assert d.senders_failing == ("include:_spf.mailer.example",)
    assert not d.dmarc.changed
    assert result.worse(FailOn.ERROR)


def test_weaker_dmarc_and_required_ip_removal() -> None:
    settings = gate_settings(CONFIG)
    domains = [parse_domain("shop.example")]
    good = run_gate(settings, domains, zones=[change("good"), *settings.zones])
    weak = run_gate(settings, domains, zones=[change("drop-reject"), *settings.zones])
    d = diff_reports(good.gated, weak.gated).domains[0]
    assert d.dmarc.weaker and (d.dmarc.policy_before, d.dmarc.policy_after) == ("reject", "none")
    assert d.spf.terms_removed == ("ip4:192.0.2.40",)
    assert d.senders_failing == ()  # not required by any policy here


def test_required_network_removed_would_start_failing(tmp_path: Path) -> None:
    config = tmp_path / "dmarc-audit.yaml"
    zones = Path(CONFIG).parent / "zones"
    config.write_text(
        f"resolver: {{offline: true}}\nzones: ['{zones}']\n"
        "domains:\n  shop.example:\n    spf: {required_ips: [192.0.2.40]}\n"
    )
    settings = resolve_settings(load_config(config))
    domains = [parse_domain("shop.example")]
    good = run_gate(settings, domains, zones=[change("good"), *settings.zones])
    now = run_gate(settings, domains, zones=[CURRENT, *settings.zones])
    d = diff_reports(good.gated, now.gated, {p.domain.ascii: p for p in settings.domains})
    assert d.domains[0].senders_failing == ("192.0.2.40/32",)
    assert [f.id for f in d.domains[0].added] == ["policy.spf-ip-required-missing"]
