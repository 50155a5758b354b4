"""Gate controls: id patterns, select/ignore, severity overrides, baselines, exit status."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dmarc_audit.catalog import finding
from dmarc_audit.domains import parse_domain
from dmarc_audit.errors import InputError
from dmarc_audit.exit_status import ExitStatus
from dmarc_audit.filters import (
    Baseline,
    BaselineKey,
    FilterRules,
    IdPattern,
    IgnoreRule,
    SeverityOverride,
    annotate_check_document,
    baseline_document,
    gate_exit_status,
    gate_report,
    load_baseline,
    write_baseline,
)
from dmarc_audit.findings import FailOn, Severity, Status
from dmarc_audit.report import DomainReport


def report(domain: str = "shop.example", *findings) -> DomainReport:  # type: ignore[no-untyped-def]
    return DomainReport(parse_domain(domain), tuple(findings))


RUA = finding("dmarc.no-rua", "_dmarc.shop.example", "no rua")
NONE = finding("dmarc.policy-none", "_dmarc.shop.example", "p=none")
LOOKUPS = finding("spf.too-many-lookups", "shop.example", "12 lookups")
TIMEOUT = finding("dns.lookup-failed", "_mta-sts.shop.example", "timeout", status=Status.UNKNOWN)


def ids(gated) -> list[str]:  # type: ignore[no-untyped-def]
    return [f.id for f in gated.report.findings]


@pytest.mark.parametrize(
    ("pattern", "matching", "not_matching"),
    [
        ("dmarc.", ["dmarc.no-rua", "dmarc.policy-none"], ["dkim.sha1", "spf.missing"]),
        ("dmarc", ["dmarc.no-rua"], ["dkim.sha1"]),
        ("spf.too-many-lookups", ["spf.too-many-lookups"], ["spf.lookups-near-limit"]),
        ("policy.", ["policy.spf-over-budget"], ["spf.missing"]),
    ],
)
def test_id_patterns(pattern: str, matching: list[str], not_matching: list[str]) -> None:
    parsed = IdPattern.parse(pattern)
    assert all(parsed.matches(i) for i in matching)
    assert not any(parsed.matches(i) for i in not_matching)


def test_id_patterns_are_normalised_and_checked() -> None:
    assert IdPattern.parse(" SPF.Pass-All ").text == "spf.pass-all"
    with pytest.raises(InputError) as info:
        IdPattern.parse("spf.too-many-lookup", "--select")
    assert str(info.value) == (
        "--select: unknown check id or prefix 'spf.too-many-lookup' "
        "(did you mean spf.too-many-lookups?)"
    )
    with pytest.raises(InputError, match=r"'sfp\.' \(did you mean spf\.\?\)"):
        IdPattern.parse("sfp.")
    with pytest.raises(InputError, match="unknown check id"):
        IdPattern.parse("")
    with pytest.raises(InputError, match="unknown check id"):
        IdPattern.parse("spf.too-many")  # a prefix needs the area form, not half an id


def test_select_keeps_only_matching_findings() -> None:
    rules = FilterRules(select=(IdPattern("spf."),))
    gated = gate_report(report("shop.example", RUA, LOOKUPS), rules)
    assert ids(gated) == ["spf.too-many-lookups"]
    assert gated.suppressed == ()  # not selected is not "ignored"


def test_ignore_drops_and_remembers_the_reason() -> None:
    rules = FilterRules(ignore=(IgnoreRule(IdPattern("dmarc."), "handled upstream"),))
    gated = gate_report(report("shop.example", RUA, NONE, LOOKUPS), rules)
    assert ids(gated) == ["spf.too-many-lookups"]
    assert [(s.finding.id, s.reason) for s in gated.suppressed] == [
        ("dmarc.no-rua", "handled upstream"),
        ("dmarc.policy-none", "handled upstream"),
    ]
    assert gated.suppressed[0].to_json() == {
        "domain": "shop.example",
        "id": "dmarc.no-rua",
        "subject": "_dmarc.shop.example",
        "reason": "handled upstream",
    }


def test_severity_overrides_most_specific_wins_and_resort() -> None:
    rules = FilterRules(
        severity=(
            SeverityOverride(IdPattern("dmarc."), Severity.ERROR),
            SeverityOverride(IdPattern("dmarc.no-rua"), Severity.INFO),
        )
    )
    gated = gate_report(report("shop.example", LOOKUPS, RUA, NONE), rules)
    assert [(f.id, f.severity) for f in gated.report.findings] == [
        ("spf.too-many-lookups", Severity.ERROR),
        ("dmarc.policy-none", Severity.ERROR),
        ("dmarc.no-rua", Severity.INFO),
    ]


def test_domain_rules_merge_with_global_ones() -> None:
    global_rules = FilterRules(
        select=(IdPattern("dmarc."), IdPattern("spf.")),
        ignore=(IgnoreRule(IdPattern("dmarc.no-rua"), "global"),),
        severity=(SeverityOverride(IdPattern("spf."), Severity.WARNING),),
    )
    domain_rules = FilterRules(
        select=(IdPattern("spf."),),
        ignore=(IgnoreRule(IdPattern("dkim."), "domain"),),
        severity=(SeverityOverride(IdPattern("spf."), Severity.INFO),),
    )
    merged = global_rules.merged(domain_rules)
    assert merged.select == (IdPattern("spf."),)
    assert [r.reason for r in merged.ignore] == ["global", "domain"]
    assert merged.severity_for(LOOKUPS) is Severity.INFO  # the domain's rule wins a tie
    assert global_rules.merged(FilterRules()).select == global_rules.select


def test_baseline_marks_known_findings_that_then_do_not_count() -> None:
    baseline = Baseline(
        frozenset({BaselineKey("shop.example", "spf.too-many-lookups", "shop.example")})
    )
    gated = gate_report(report("shop.example", LOOKUPS, RUA), FilterRules(), baseline)
    assert gated.is_baselined(LOOKUPS) and not gated.is_baselined(RUA)
    assert gated.active == (RUA,)
    assert ids(gated) == ["spf.too-many-lookups", "dmarc.no-rua"]  # still in the report
    assert gate_exit_status([gated], FailOn.ERROR, False, False) is ExitStatus.OK
    assert gate_exit_status([gated], FailOn.WARNING, False, False) is ExitStatus.FINDINGS


def test_baseline_matches_domain_id_and_subject_only() -> None:
    key = BaselineKey("shop.example", "spf.too-many-lookups", "shop.example")
    baseline = Baseline(frozenset({key}))
    changed = finding("spf.too-many-lookups", "shop.example", "13 lookups now")
    assert gate_report(report("shop.example", changed), FilterRules(), baseline).baselined
    other = gate_report(
        report("other.example", finding("spf.too-many-lookups", "other.example", "x")),
        FilterRules(),
        baseline,
    )
    assert not other.baselined


def test_exit_status_strict_and_input_errors() -> None:
    gated = [gate_report(report("shop.example", TIMEOUT), FilterRules())]
    assert gate_exit_status(gated, FailOn.ERROR, False, False) is ExitStatus.OK
    assert gate_exit_status(gated, FailOn.ERROR, True, False) is ExitStatus.INCOMPLETE
    assert gate_exit_status(gated, FailOn.ERROR, True, True) is ExitStatus.USAGE
    ignored = [
        gate_report(
            report("shop.example", TIMEOUT), FilterRules(ignore=(IgnoreRule(IdPattern("dns.")),))
        )
    ]
    assert gate_exit_status(ignored, FailOn.ERROR, True, False) is ExitStatus.OK


def test_write_and_load_baseline(tmp_path: Path) -> None:
    gated = [
        gate_report(report("shop.example", RUA, LOOKUPS, TIMEOUT), FilterRules()),
        gate_report(report("a.example", RUA), FilterRules()),
    ]
    path = tmp_path / "baseline.json"
    written = write_baseline(path, gated)
    data = json.loads(path.read_text())
    assert data == baseline_document(gated)
    assert data["schema_version"] == 1 and data["kind"] == "dmarc-audit-baseline"
    assert data["findings"] == [  # sorted; "could not check" is recorded too (--strict goes green)
        {"domain": "a.example", "id": "dmarc.no-rua", "subject": "_dmarc.shop.example"},
        {"domain": "shop.example", "id": "dmarc.no-rua", "subject": "_dmarc.shop.example"},
        {"domain": "shop.example", "id": "dns.lookup-failed", "subject": "_mta-sts.shop.example"},
        {"domain": "shop.example", "id": "spf.too-many-lookups", "subject": "shop.example"},
    ]
    loaded = load_baseline(path)
    assert loaded.keys == written.keys and len(loaded.keys) == 4
    regated = gate_report(report("shop.example", RUA, LOOKUPS, TIMEOUT), FilterRules(), loaded)
    assert regated.active == ()
    assert gate_exit_status([regated], FailOn.ERROR, strict=True, input_errors=False) == 0


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", r"b\.json:1: baseline is not valid JSON"),
        ("[]", "not a dmarc-audit baseline"),
        (
            '{"kind": "dmarc-audit-baseline", "schema_version": 2, "findings": []}',
            "schema_version 2 is not supported",
        ),
        (
            '{"kind": "dmarc-audit-baseline", "schema_version": 1, "findings": {}}',
            "'findings' must be a list",
        ),
        (
            '{"kind": "dmarc-audit-baseline", "schema_version": 1, "findings": [{"id": "x"}]}',
            r"findings\[0\] needs string 'domain', 'id' and 'subject'",
        ),
    ],
)
def test_bad_baseline_files(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "b.json"
    path.write_text(content)
    with pytest.raises(InputError, match=message):
        load_baseline(path)


def test_missing_baseline_and_unwritable_baseline(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="file not found"):
        load_baseline(tmp_path / "none.json")
    with pytest.raises(InputError, match="cannot write baseline"):
        write_baseline(tmp_path / "no-dir" / "b.json", [])


def test_annotate_check_document() -> None:
    baseline = Baseline(
        frozenset({BaselineKey("shop.example", "dmarc.no-rua", "_dmarc.shop.example")})
    )
    rules = FilterRules(ignore=(IgnoreRule(IdPattern("spf."), "why"),))
    gated = [gate_report(report("shop.example", LOOKUPS, RUA, NONE), rules, baseline)]
    document = {"domains": [g.report.to_json() for g in gated]}
    annotate_check_document(document, gated)
    findings = document["domains"][0]["findings"]  # type: ignore[index]
    assert [(f["id"], f["baselined"]) for f in findings] == [
        ("dmarc.no-rua", True),
        ("dmarc.policy-none", False),
    ]
    assert document["suppressed"] == [
        {
            "domain": "shop.example",
            "id": "spf.too-many-lookups",
            "subject": "shop.example",
            "reason": "why",
        }
    ]


def test_could_not_check_never_exits_1_and_strict_gives_3() -> None:
    """A provider's nameserver timing out is not a regression (issue: CI that means one thing)."""
    gated = [gate_report(report("shop.example", TIMEOUT), FilterRules())]
    assert TIMEOUT.status is Status.UNKNOWN
    assert gate_exit_status(gated, FailOn.ERROR, False, False) is ExitStatus.OK
    assert gate_exit_status(gated, FailOn.INFO, False, False) is ExitStatus.OK
    assert gate_exit_status(gated, FailOn.ERROR, True, False) is ExitStatus.INCOMPLETE
