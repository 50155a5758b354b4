"""The check JSON keeps the documented shape (docs/json.md): a snapshot of its keys."""

from __future__ import annotations

from pathlib import Path

from tests.cli_helpers import DEMO, run_cli

DOC = (Path(__file__).resolve().parent.parent / "docs" / "json.md").read_text()

TOP = {"schema_version", "schema_minor", "domains", "input_errors", "suppressed", "dns"}
DOMAIN = {
    "domain",
    "findings",
    "spf",
    "dmarc",
    "dkim",
    "mx",
    "mail_records",
    "mta_sts_policy",
    "dnssec",
}
FINDING = {
    "id",
    "severity",
    "status",
    "subject",
    "message",
    "record",
    "remediation",
    "suggested_record",
    "references",
    "evidence",
    "baselined",
}
SPF = {"record", "lookups", "void_lookups", "status", "trace", "tree"}
DMARC = {
    "status",
    "mode",
    "record",
    "record_name",
    "found_at",
    "org_domain",
    "policy",
    "policy_source",
    "effective",
    "rua",
    "explanation",
    "queries",
}
MX = {"status", "null_mx", "hosts"}
MTA_STS_POLICY = {"status", "url", "fetch", "policy"}
FETCH = {"url", "outcome", "status", "content_type", "address", "size", "detail"}
STS_POLICY = {"version", "mode", "max_age", "mx", "problems"}
DNSSEC = {"status", "chain", "mx", "rrsets"}
CHAIN = {"name", "status", "zone", "reason", "steps"}
TRACE = {"name", "type", "outcome", "records", "elapsed_ms", "source"}


def test_check_json_shape_matches_the_snapshot() -> None:
    doc = run_cli(
        "check", "--zone", str(DEMO), "--format", "json", "oldshop.example", "branch.example"
    ).json()
    assert set(doc) == TOP and doc["schema_version"] == 1 and doc["schema_minor"] == 2
    for domain in doc["domains"]:
        assert set(domain) == DOMAIN
        assert set(domain["spf"]) == SPF
        assert set(domain["dmarc"]) == DMARC
        assert set(domain["mx"]) == MX
        assert set(domain["mail_records"]) == {"mta_sts", "tls_rpt", "bimi"}
        assert set(domain["dnssec"]) == DNSSEC
        assert domain["dnssec"]["status"] == "not-checked"  # zone data: nothing signed
        assert set(domain["dnssec"]["chain"]) == CHAIN
        for finding in domain["findings"]:
            assert set(finding) == FINDING
    for entry in doc["dns"]["trace"]:
        assert TRACE <= set(entry) <= TRACE | {"detail"}


def test_every_snapshot_key_is_documented() -> None:
    for key in (
        (TOP | DOMAIN | FINDING | SPF | DMARC | MX | TRACE | MTA_STS_POLICY | FETCH | STS_POLICY)
        | DNSSEC
        | CHAIN
    ):
        assert f"`{key}`" in DOC, key
