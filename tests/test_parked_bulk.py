"""Parked-domain lock-down (mx.null-mx-not-locked) and bulk.auth-incomplete."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from dmarc_audit.audit import audit_mx
from dmarc_audit.checks.parked import bulk_findings, parked_findings
from dmarc_audit.dns.local import LocalRouter
from dmarc_audit.dns.yamlzone import YamlZoneSource
from dmarc_audit.domains import parse_domain
from dmarc_audit.findings import Finding, Severity, Status
from dmarc_audit.mx.facts import MxHost, MxPosture, MxStatus

TRIO = (
    "parked.example. MX 0 .\n"
    'parked.example. TXT "v=spf1 -all"\n'
    '_dmarc.parked.example. TXT "v=DMARC1; p=reject;"'
)


def mx(status: MxStatus) -> MxPosture:
    hosts = {
        MxStatus.NULL: (MxHost(0, ".", (), None),),
        MxStatus.OK: (MxHost(10, "mx.parked.example", ("192.0.2.1",), None),),
    }.get(status, ())
    return MxPosture("parked.example", status, hosts, status is MxStatus.NULL, ())


def parked(
    status: MxStatus = MxStatus.NULL,
    spf_record: str | None = "v=spf1 -all",
    spf_status: str = "valid",
    dmarc_policy: str | None = "reject",
    dmarc_pct: int | None = None,
    dmarc_status: str = "found",
) -> list[Finding]:
    return parked_findings(
        "parked.example",
        mx=mx(status),
        spf_record=spf_record,
        spf_status=spf_status,
        dmarc_policy=dmarc_policy,
        dmarc_pct=dmarc_pct,
        dmarc_status=dmarc_status,
    )


# --- mx.null-mx-not-locked ---------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"dmarc_pct": 100},
        {"spf_record": "V=SPF1   -ALL "},
        {"status": MxStatus.OK},
        {"status": MxStatus.NONE},
    ],
)
def test_locked_parked_domain_is_quiet(kwargs: dict[str, Any]) -> None:
    assert parked(**kwargs) == []


@pytest.mark.parametrize(
    "kwargs",
    [
        {
            "status": MxStatus.OK,
            "spf_record": "v=spf1 include:_spf.esp.example ~all",
            "dmarc_policy": "none",
        },
        {
            "status": MxStatus.NONE,
            "spf_record": None,
            "spf_status": "none",
            "dmarc_policy": None,
            "dmarc_status": "none",
        },
        {
            "status": MxStatus.INVALID,
            "spf_record": None,
            "spf_status": "none",
            "dmarc_policy": None,
            "dmarc_status": "none",
        },
    ],
)
def test_domain_that_is_not_parked_is_quiet(kwargs: dict[str, Any]) -> None:
    assert parked(**kwargs) == []


def test_null_mx_without_spf_or_dmarc_fires_with_the_trio() -> None:
    (found,) = parked(spf_record=None, spf_status="none", dmarc_policy=None, dmarc_status="none")
    assert found.id == "mx.null-mx-not-locked"
    assert found.severity is Severity.WARNING and found.status is Status.FAIL
    assert found.subject == "parked.example"
    assert found.suggested_record == TRIO
    assert "null MX" in found.message
    assert "no SPF record" in found.message and "no DMARC record" in found.message


@pytest.mark.parametrize(
    ("kwargs", "gap"),
    [
        ({"spf_record": "v=spf1 ~all"}, "SPF is 'v=spf1 ~all', not 'v=spf1 -all'"),
        ({"spf_record": None, "spf_status": "permerror"}, "SPF record is broken"),
        ({"dmarc_policy": "quarantine"}, "DMARC policy is p=quarantine, not p=reject"),
        ({"dmarc_policy": "none"}, "DMARC policy is p=none"),
        ({"dmarc_pct": 50}, "only 50% of mail"),
        ({"dmarc_policy": None}, "no valid p= policy"),
    ],
)
def test_null_mx_with_one_gap(kwargs: dict[str, Any], gap: str) -> None:
    (found,) = parked(**kwargs)
    assert gap in found.message
    assert found.suggested_record == TRIO


def test_spf_deny_all_with_working_mx_suggests_no_null_mx() -> None:
    (found,) = parked(status=MxStatus.OK, dmarc_policy="none")
    assert "sends no mail" in found.message
    assert "MX 0 ." not in (found.suggested_record or "")
    assert found.suggested_record == TRIO.split("\n", 1)[1]


def test_spf_deny_all_without_mx_gets_the_trio() -> None:
    (found,) = parked(status=MxStatus.NONE, dmarc_policy=None, dmarc_status="none")
    assert found.suggested_record == TRIO


@pytest.mark.parametrize(
    "kwargs",
    [
        {"dmarc_policy": None, "dmarc_status": "unknown"},
        {"spf_record": None, "spf_status": "temperror"},
        {"status": MxStatus.UNKNOWN, "spf_record": None, "spf_status": "temperror"},
        {
            "status": MxStatus.UNKNOWN,
            "spf_record": None,
            "spf_status": "none",
            "dmarc_policy": None,
            "dmarc_status": "none",
        },
    ],
)
def test_unknown_facts_never_fire(kwargs: dict[str, Any]) -> None:
    assert parked(**kwargs) == []


def test_known_gap_fires_and_notes_what_was_not_checked() -> None:
    (found,) = parked(spf_record=None, spf_status="none", dmarc_policy=None, dmarc_status="unknown")
    assert "no SPF record" in found.message and "DMARC" not in found.message
    assert "DMARC could not be checked (lookup failed)" in found.evidence


def test_bad_status_value_is_a_programming_error() -> None:
    with pytest.raises(ValueError):
        parked(spf_status="pass")


def test_end_to_end_from_zone_data() -> None:
    resolver = LocalRouter(
        [YamlZoneSource({"parked.example": [{"MX": [0, "."]}]})], closed_world=True
    )
    posture = asyncio.run(audit_mx(resolver, parse_domain("parked.example")))
    assert posture.findings == ()
    findings = parked_findings(
        "parked.example",
        mx=posture,
        spf_record=None,
        spf_status="none",
        dmarc_policy=None,
        dmarc_pct=None,
        dmarc_status="none",
    )
    assert [f.suggested_record for f in findings] == [TRIO]


# --- bulk.auth-incomplete ----------------------------------------------------------------


def bulk(
    spf_status: str = "valid",
    dkim_found: bool | None = True,
    dmarc_status: str = "found",
    dmarc_policy: str | None = "none",
) -> list[Finding]:
    return bulk_findings(
        "shop.example",
        spf_status=spf_status,
        dkim_found=dkim_found,
        dmarc_status=dmarc_status,
        dmarc_policy=dmarc_policy,
    )


@pytest.mark.parametrize("policy", ["none", "quarantine", "reject"])
def test_complete_bulk_sender_is_quiet(policy: str) -> None:
    assert bulk(dmarc_policy=policy) == []


@pytest.mark.parametrize(
    ("kwargs", "missing"),
    [
        ({"spf_status": "none"}, "no SPF record"),
        ({"spf_status": "permerror"}, "SPF record is broken (permerror)"),
        ({"dkim_found": False}, "no DKIM key found"),
        ({"dmarc_status": "none", "dmarc_policy": None}, "no DMARC record"),
        ({"dmarc_policy": None}, "DMARC record has no valid p= policy"),
    ],
)
def test_bulk_auth_incomplete(kwargs: dict[str, Any], missing: str) -> None:
    (found,) = bulk(**kwargs)
    assert found.id == "bulk.auth-incomplete"
    assert found.severity is Severity.ERROR and found.status is Status.FAIL
    assert found.message == f"bulk-sender authentication incomplete: {missing}"


def test_bulk_lists_everything_missing() -> None:
    (found,) = bulk(spf_status="none", dkim_found=False, dmarc_status="none", dmarc_policy=None)
    assert found.message.endswith("no SPF record, no DKIM key found, no DMARC record")


@pytest.mark.parametrize(
    "kwargs",
    [
        {"spf_status": "temperror"},
        {"dkim_found": None},
        {"dmarc_status": "unknown", "dmarc_policy": None},
    ],
)
def test_bulk_unknown_when_a_part_could_not_be_checked(kwargs: dict[str, Any]) -> None:
    (found,) = bulk(**kwargs)
    assert found.status is Status.UNKNOWN and found.severity is Severity.WARNING
    assert "could not be fully checked" in found.message


def test_bulk_known_gap_wins_over_unknown() -> None:
    (found,) = bulk(spf_status="none", dkim_found=None)
    assert found.status is Status.FAIL and found.severity is Severity.ERROR
    assert found.message.endswith("no SPF record")
    assert "not checked: DKIM (key lookup failed)" in found.evidence
