"""DMARC conformance suite: tests/conformance/dmarc/records.yaml, every case under both specs.

Records: the parse outcome (valid, tags, effective, ignored, abnf_conformant)
under RFC 7489 and RFC 9989, and the warnings an auditor raises (the union for
both specs), with and without DNS. Lookups: the zone is served from memory and
discovery plus the DMARC rules run against it.
"""

from __future__ import annotations

import asyncio
from enum import Enum
from pathlib import Path
from typing import Any

import pytest
import yaml

from dmarc_audit.audit import audit_dmarc
from dmarc_audit.catalog import CATALOG
from dmarc_audit.checks.dmarc import record_findings
from dmarc_audit.dmarc import DmarcMode, discover_dmarc, parse_dmarc
from dmarc_audit.dns.local import LocalRouter
from dmarc_audit.dns.yamlzone import YamlZoneSource
from dmarc_audit.domains import parse_domain
from dmarc_audit.findings import Severity
from dmarc_audit.orgdomain import is_public_suffix

SUITE = Path(__file__).parent / "conformance" / "dmarc" / "records.yaml"
DATA = yaml.safe_load(SUITE.read_text(encoding="utf-8"))
RECORDS: list[dict[str, Any]] = DATA["records"]
LOOKUPS: list[dict[str, Any]] = DATA["lookups"]
MODES = list(DmarcMode)

RECORD_COUNT = 80
LOOKUP_COUNT = 12

DNS_ONLY = {"dmarc.rua-external-unauthorized"}
"""Ids a record cannot produce without DNS (the record cases give the DNS data in ``dns``)."""

LOOKUP_LEVEL = {
    "dmarc.missing",
    "dmarc.multiple-records",
    "dmarc.wrong-location",
    "dmarc.inherited",
    "dmarc.tree-walk-vs-psl",
    "dmarc.rua-external-unauthorized",
    "dmarc.version-invalid",
    "dns.lookup-failed",
    "dns.dangling-cname",
}
"""Ids about what DNS holds rather than about the applicable record's text."""


def test_case_counts() -> None:
    """A broken loader must not pass: exact counts, unique ids, known check ids."""
    assert len(RECORDS) == RECORD_COUNT
    assert len(LOOKUPS) == LOOKUP_COUNT
    assert len({c["id"] for c in RECORDS}) == RECORD_COUNT
    assert len({c["id"] for c in LOOKUPS}) == LOOKUP_COUNT
    assert set(LOOKUP_EXPECT) == {c["id"] for c in LOOKUPS}
    for case in RECORDS + LOOKUPS:
        for check_id in case["warnings"]:
            assert check_id in CATALOG, (case["id"], check_id)


# --- records -----------------------------------------------------------------


def _plain(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, tuple):
        return [{"uri": u.uri, **({"max_size": u.max_size} if u.max_size else {})} for u in value]
    return value


@pytest.mark.parametrize("mode", MODES, ids=[m.value for m in MODES])
@pytest.mark.parametrize("case", RECORDS, ids=[c["id"] for c in RECORDS])
def test_record_parse(case: dict[str, Any], mode: DmarcMode) -> None:
    expected = case[mode.value]
    record = parse_dmarc(case["record"], mode)
    assert record.text == case["record"]
    assert record.valid is expected["valid"]
    if "abnf_conformant" in expected or expected["valid"]:
        assert record.abnf_conformant is expected.get("abnf_conformant", True)
    if not expected["valid"]:
        assert record.effective is None
        return
    assert {name: _plain(value) for name, value in record.tags.items()} == expected["tags"]
    assert record.effective is not None
    assert record.effective.as_dict() == expected["effective"]
    expected_ignored = sorted(item["tag"] for item in expected.get("ignored", []))
    assert sorted(tag for tag, _ in record.ignored) == expected_ignored
    assert all(reason for _, reason in record.ignored)


@pytest.mark.parametrize("mode", MODES, ids=[m.value for m in MODES])
@pytest.mark.parametrize("case", RECORDS, ids=[c["id"] for c in RECORDS])
def test_record_warnings(case: dict[str, Any], mode: DmarcMode) -> None:
    """The record rules alone give the warnings union, whichever spec the audit follows."""
    found = {f.id for f in record_findings(case["record"], "example.com", mode)}
    assert found == set(case["warnings"]) - DNS_ONLY


def _record_zone(case: dict[str, Any]) -> dict[str, Any]:
    zone: dict[str, Any] = {
        "_dmarc.example.com": [{"TXT": case["record"]}],
        "example.com": [{"A": "192.0.2.1"}],
    }
    for name, value in (case.get("dns") or {}).items():
        if value is not None:
            zone[name] = [{"TXT": value}]
    return zone


def _resolver(zone: dict[str, Any]) -> LocalRouter:
    return LocalRouter([YamlZoneSource(zone)], closed_world=True)


@pytest.mark.parametrize("mode", MODES, ids=[m.value for m in MODES])
@pytest.mark.parametrize("case", RECORDS, ids=[c["id"] for c in RECORDS])
def test_record_warnings_through_dns(case: dict[str, Any], mode: DmarcMode) -> None:
    """Published at _dmarc.example.com, the full audit gives exactly the listed ids."""
    discovery, findings = asyncio.run(
        audit_dmarc(_resolver(_record_zone(case)), parse_domain("example.com"), mode)
    )
    assert {f.id for f in findings} == set(case["warnings"])
    assert discovery.status != "unknown"
    if case[mode.value]["valid"]:
        assert discovery.status == "found" and discovery.found_at == "domain"
        assert discovery.applied_policy is not None


# --- lookups -------------------------------------------------------------------

_9989, _7489 = DmarcMode.RFC9989.value, DmarcMode.RFC7489.value

LOOKUP_EXPECT: dict[str, dict[str, dict[str, Any]]] = {
    "multiple-records": {
        _9989: {"status": "none", "queries": ["_dmarc.example.com", "_dmarc.com"]},
        _7489: {"status": "none", "queries": ["_dmarc.example.com"]},
    },
    "other-txt-alongside": {
        _9989: {
            "status": "found",
            "found_at": "domain",
            "record": "v=DMARC1; p=reject",
            "applied": "reject",
            "source": "p",
            "org": "example.com",
        },
        _7489: {
            "status": "found",
            "found_at": "domain",
            "record": "v=DMARC1; p=reject",
            "applied": "reject",
            "source": "p",
            "queries": ["_dmarc.example.com"],
        },
    },
    "split-strings": {
        _9989: {
            "status": "found",
            "record": "v=DMARC1; p=reject; rua=mailto:d@example.com",
            "applied": "reject",
            "source": "p",
        },
        _7489: {
            "status": "found",
            "record": "v=DMARC1; p=reject; rua=mailto:d@example.com",
            "applied": "reject",
            "source": "p",
        },
    },
    "inherit-from-org-domain": {
        _9989: {
            "status": "found",
            "found_at": "organizational",
            "name": "_dmarc.example.com",
            "org": "example.com",
            "applied": "quarantine",
            "source": "sp",
            "queries": ["_dmarc.mail.example.com", "_dmarc.example.com", "_dmarc.com"],
        },
        _7489: {
            "status": "found",
            "found_at": "organizational",
            "name": "_dmarc.example.com",
            "org": "example.com",
            "applied": "quarantine",
            "source": "sp",
            "queries": ["_dmarc.mail.example.com", "_dmarc.example.com"],
        },
    },
    "non-existent-subdomain": {
        _9989: {
            "status": "found",
            "found_at": "organizational",
            "applied": "reject",
            "source": "np",
            "exists": False,
        },
        _7489: {"status": "found", "found_at": "organizational", "applied": "none", "source": "sp"},
    },
    "deep-author-domain": {
        _9989: {
            "status": "found",
            "found_at": "organizational",
            "org": "example.com",
            "applied": "reject",
            "queries": [
                "_dmarc.a.b.c.d.e.f.g.h.i.j.mail.example.com",
                "_dmarc.g.h.i.j.mail.example.com",
                "_dmarc.h.i.j.mail.example.com",
                "_dmarc.i.j.mail.example.com",
                "_dmarc.j.mail.example.com",
                "_dmarc.mail.example.com",
                "_dmarc.example.com",
                "_dmarc.com",
            ],
        },
        _7489: {
            "status": "found",
            "found_at": "organizational",
            "org": "example.com",
            "applied": "reject",
            "source": "sp",
            "queries": ["_dmarc.a.b.c.d.e.f.g.h.i.j.mail.example.com", "_dmarc.example.com"],
        },
    },
    "psd-record": {
        _9989: {
            "status": "found",
            "found_at": "psd",
            "name": "_dmarc.gov",
            "org": "agency.gov",
            "applied": "reject",
            "queries": ["_dmarc.agency.gov", "_dmarc.gov"],
        },
        _7489: {"status": "none", "org": "agency.gov", "queries": ["_dmarc.agency.gov"]},
    },
    "intermediate-record-without-psd": {
        _9989: {
            "status": "found",
            "found_at": "organizational",
            "name": "_dmarc.example.com",
            "org": "example.com",
            "applied": "reject",
            "queries": [
                "_dmarc.a.b.example.com",
                "_dmarc.b.example.com",
                "_dmarc.example.com",
                "_dmarc.com",
            ],
        },
        _7489: {
            "status": "found",
            "found_at": "organizational",
            "name": "_dmarc.example.com",
            "org": "example.com",
            "applied": "reject",
            "queries": ["_dmarc.a.b.example.com", "_dmarc.example.com"],
        },
    },
    "intermediate-record-psd-n": {
        _9989: {
            "status": "found",
            "found_at": "organizational",
            "name": "_dmarc.b.example.com",
            "org": "b.example.com",
            "applied": "reject",
            "queries": ["_dmarc.a.b.example.com", "_dmarc.b.example.com"],
        },
        _7489: {
            "status": "found",
            "found_at": "organizational",
            "name": "_dmarc.example.com",
            "org": "example.com",
            "applied": "none",
        },
    },
    "record-at-apex": {
        _9989: {"status": "none", "found_at": "none"},
        _7489: {"status": "none", "found_at": "none"},
    },
    "external-rua-authorized": {
        _9989: {"status": "found", "found_at": "domain", "applied": "reject"},
        _7489: {"status": "found", "found_at": "domain", "applied": "reject"},
    },
    "external-rua-wildcard-authorization": {
        _9989: {"status": "found", "found_at": "domain", "applied": "reject"},
        _7489: {"status": "found", "found_at": "domain", "applied": "reject"},
    },
}
"""What each lookup case's prose (``rfc7489`` / ``rfc9989``) says, as checkable values."""


def _lookup_zone(case: dict[str, Any]) -> dict[str, Any]:
    """The case's zone in YAML-zone shape: TXT strings (a list = one RR's strings), or
    ``exists`` (an A record)."""
    zone: dict[str, Any] = {}
    for name, entries in case["zone"].items():
        zone[name] = (
            [{"A": "192.0.2.1"}] if entries == "exists" else [{"TXT": entry} for entry in entries]
        )
    return zone


def _author(case: dict[str, Any]) -> str:
    return case["author_domain"].split()[0]  # "nosuch.example.com (NXDOMAIN)"


@pytest.mark.parametrize("mode", MODES, ids=[m.value for m in MODES])
@pytest.mark.parametrize("case", LOOKUPS, ids=[c["id"] for c in LOOKUPS])
def test_lookup_outcome(case: dict[str, Any], mode: DmarcMode) -> None:
    expected = LOOKUP_EXPECT[case["id"]][mode.value]
    discovery = asyncio.run(discover_dmarc(_resolver(_lookup_zone(case)), _author(case), mode))
    assert discovery.status == expected["status"], discovery.explanation
    assert discovery.domain == _author(case)
    assert discovery.explanation
    if "found_at" in expected:
        assert discovery.found_at == expected["found_at"]
    if "record" in expected:
        assert discovery.record is not None and discovery.record.text == expected["record"]
    if "name" in expected:
        assert discovery.record_name == expected["name"]
    if "org" in expected:
        assert discovery.org_domain == expected["org"]
    if "source" in expected:
        assert discovery.policy_source == expected["source"]
    if "exists" in expected:
        assert discovery.author_exists is expected["exists"]
    if "queries" in expected:
        assert list(discovery.queries) == expected["queries"]
    applied = expected.get("applied")
    assert (discovery.applied_policy.value if discovery.applied_policy else None) == applied
    if expected["status"] == "none":
        assert discovery.record is None and discovery.found_at == "none"


@pytest.mark.parametrize("case", LOOKUPS, ids=[c["id"] for c in LOOKUPS])
def test_lookup_warnings(case: dict[str, Any]) -> None:
    """Every listed id is raised (default mode, RFC 9989); no unlisted lookup-level warning
    or error appears; and the rest are exactly the record rules of the applicable record.

    The lists name what each case is about: record-level ids of the applicable record
    (``dmarc.no-rua`` for ``v=DMARC1; p=reject``) and info-level ids may come on top.
    """
    discovery, findings = asyncio.run(
        audit_dmarc(_resolver(_lookup_zone(case)), parse_domain(_author(case)))
    )
    ids = {f.id for f in findings}
    expected = set(case["warnings"])
    assert expected <= ids
    loud = {f.id for f in findings if f.id in LOOKUP_LEVEL and f.severity is not Severity.INFO}
    assert loud <= expected
    record_ids = ids - LOOKUP_LEVEL
    domain = (discovery.record_name or "").removeprefix("_dmarc.")
    if discovery.record is None or (discovery.found_at == "psd" and is_public_suffix(domain)):
        assert not record_ids  # a public suffix operator's record is not the user's to fix
    else:
        assert record_ids == {f.id for f in record_findings(discovery.record.text, domain)}
    if not expected:
        assert not [f for f in findings if f.severity is Severity.ERROR]
