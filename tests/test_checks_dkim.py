"""DKIM selector probing and dkim.* findings, against in-memory DNS (no network)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from dmarc_audit.audit import audit_dkim
from dmarc_audit.catalog import CATALOG
from dmarc_audit.checks import dkim as rules
from dmarc_audit.dkim.facts import DkimPosture, SelectorStatus
from dmarc_audit.dkim.selectors import (
    COMMON_SELECTORS,
    DEFAULT_SELECTORS,
    normalize_selectors,
    provider_of,
)
from dmarc_audit.dns.local import LocalRouter
from dmarc_audit.dns.types import Answer, Outcome
from dmarc_audit.dns.yamlzone import YamlZoneSource
from dmarc_audit.domains import parse_domain
from dmarc_audit.errors import InputError
from dmarc_audit.findings import Finding, Severity, Status
from dmarc_audit.records.dkim_key import parse_dkim_key

DOMAIN = "example.com"
_CASES = yaml.safe_load(
    (Path(__file__).parent / "conformance/dkim/key-records.yaml").read_text(encoding="utf-8")
)
KEYS: dict[str, Any] = {c["id"]: c["txt"] for c in _CASES}
RSA2048 = KEYS["dkimpy-2048-spki"]
RSA1024 = KEYS["dkimpy-test.txt"]
ED25519 = KEYS["ed25519-ok"]


def name(selector: str) -> str:
    return f"{selector}._domainkey.{DOMAIN}"


class Injected:
    """Wraps a resolver: chosen names fail with a given outcome; counts concurrency."""

    def __init__(self, inner: LocalRouter, failures: dict[str, Outcome] | None = None):
        self.inner = inner
        self.failures = failures or {}
        self.in_flight = 0
        self.peak = 0
        self.asked: list[tuple[str, str]] = []

    async def query(self, qname: str, rdtype: str) -> Answer:
        self.asked.append((qname, rdtype))
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        await asyncio.sleep(0)
        try:
            if qname in self.failures:
                return Answer(qname, rdtype, self.failures[qname], detail="injected failure")
            return await self.inner.query(qname, rdtype)
        finally:
            self.in_flight -= 1


def resolver(zone: dict[str, list], failures: dict[str, Outcome] | None = None) -> Injected:
    return Injected(LocalRouter([YamlZoneSource(zone)], closed_world=True), failures)


def audit(
    zone: dict[str, list],
    selectors: list[str] | None = None,
    *,
    failures: dict[str, Outcome] | None = None,
    bulk_sender: bool = False,
) -> DkimPosture:
    return asyncio.run(
        audit_dkim(
            resolver(zone, failures), parse_domain(DOMAIN), selectors, bulk_sender=bulk_sender
        )
    )


def ids(posture: DkimPosture) -> list[str]:
    return [f.id for f in posture.findings]


def only(posture: DkimPosture, check_id: str) -> Finding:
    found = [f for f in posture.findings if f.id == check_id]
    assert len(found) == 1, ids(posture)
    return found[0]


def key_posture(txt: Any, selector: str = "sel") -> DkimPosture:
    return audit({name(selector): [{"TXT": txt}]}, [selector])


# --- must stay clean -------------------------------------------------------------------


def test_2048_spki_selector_is_clean() -> None:
    posture = key_posture(RSA2048, "s1")
    assert posture.findings == ()
    result = posture.results[0]
    assert result.status is SelectorStatus.FOUND
    assert result.key is not None and result.key.key_bits == 2048


def test_ed25519_beside_rsa_is_clean() -> None:
    posture = audit(
        {name("ed"): [{"TXT": ED25519}], name("rsa"): [{"TXT": RSA2048}]}, ["ed", "rsa"]
    )
    assert posture.findings == ()


def test_ed25519_only_selector_raises_only_ed25519_only() -> None:
    posture = key_posture(ED25519, "brisbane")
    assert ids(posture) == ["dkim.ed25519-only"]
    f = posture.findings[0]
    assert f.severity is Severity.WARNING and f.status is Status.FAIL
    assert "brisbane" in f.message and f.subject == DOMAIN


def test_cname_to_esp_key_is_clean() -> None:
    target = "s1.domainkey.u1234.wl.sendgrid.net"
    posture = audit({name("s1"): [{"CNAME": target}], target: [{"TXT": RSA2048}]}, ["s1"])
    assert posture.findings == ()
    result = posture.results[0]
    assert result.status is SelectorStatus.FOUND
    assert result.cname_chain == (name("s1"), target)
    assert result.to_json()["cname_chain"] == [name("s1"), target]


def test_multi_string_txt_key_through_dns() -> None:
    posture = key_posture(KEYS["multi-string-txt"])
    assert posture.findings == ()
    assert posture.results[0].key is not None and posture.results[0].key.key_bits == 4096


# --- probing ---------------------------------------------------------------------------


def test_probe_tries_every_builtin_selector_concurrently() -> None:
    res = resolver({})
    posture = asyncio.run(audit_dkim(res, parse_domain(DOMAIN)))
    assert not posture.explicit
    assert posture.selectors_tried == DEFAULT_SELECTORS
    assert sorted(res.asked) == sorted((name(s), "TXT") for s in DEFAULT_SELECTORS)
    assert res.peak == len(DEFAULT_SELECTORS)
    assert [r.selector for r in posture.results] == list(DEFAULT_SELECTORS)
    assert all(r.status is SelectorStatus.MISSING for r in posture.results)


def test_no_key_found_is_info_and_lists_selectors_tried() -> None:
    posture = audit({})
    f = only(posture, "dkim.no-key-found")
    assert ids(posture) == ["dkim.no-key-found"]
    assert f.severity is Severity.INFO and f.status is Status.FAIL
    assert f.subject == DOMAIN
    # the selectors are listed once, in the evidence; the message counts them
    assert f"any of the {len(DEFAULT_SELECTORS)} common selectors tried" in f.message
    for selector in DEFAULT_SELECTORS:
        assert selector in f.evidence[0]
    assert "does not prove" in f.message
    assert f.remediation


def test_no_key_found_is_warning_for_bulk_senders() -> None:
    f = only(audit({}, bulk_sender=True), "dkim.no-key-found")
    assert f.severity is Severity.WARNING


def test_probe_finds_a_common_selector() -> None:
    posture = audit({name("google"): [{"TXT": RSA2048}]})
    assert posture.findings == ()
    assert [r.selector for r in posture.found] == ["google"]
    assert provider_of("google") == "Google Workspace"


def test_probe_with_some_failures_and_nothing_found_is_unknown() -> None:
    posture = audit({}, failures={name("google"): Outcome.SERVFAIL})
    f = only(posture, "dkim.no-key-found")
    assert f.status is Status.UNKNOWN and "google" in f.message
    assert only(posture, "dns.lookup-failed").status is Status.UNKNOWN
    assert posture.incomplete


def test_probe_with_every_lookup_failing_reports_only_failures() -> None:
    failures = {name(s): Outcome.TIMEOUT for s in DEFAULT_SELECTORS}
    posture = audit({}, failures=failures)
    assert set(ids(posture)) == {"dns.lookup-failed"}
    assert len(posture.findings) == len(DEFAULT_SELECTORS)


# --- explicit selectors ----------------------------------------------------------------


def test_explicit_missing_selector_is_an_error() -> None:
    posture = audit({}, ["s2024"])
    assert posture.explicit and posture.selectors_tried == ("s2024",)
    f = only(posture, "dkim.selector-missing")
    assert ids(posture) == ["dkim.selector-missing"]
    assert f.severity is Severity.ERROR and f.subject == name("s2024")
    assert posture.results[0].status is SelectorStatus.MISSING


def test_explicit_selector_nodata_is_missing() -> None:
    posture = audit({name("s1"): [{"A": "192.0.2.1"}]}, ["s1"])
    assert posture.results[0].outcome is Outcome.NODATA
    assert ids(posture) == ["dkim.selector-missing"]


@pytest.mark.parametrize(
    "outcome", [Outcome.TIMEOUT, Outcome.SERVFAIL, Outcome.REFUSED, Outcome.OFFLINE]
)
def test_lookup_failure_is_unknown_never_missing(outcome: Outcome) -> None:
    posture = audit({}, ["s1"], failures={name("s1"): outcome})
    result = posture.results[0]
    assert result.status is SelectorStatus.UNKNOWN and result.key is None
    f = only(posture, "dns.lookup-failed")
    assert ids(posture) == ["dns.lookup-failed"]
    assert f.status is Status.UNKNOWN and f.subject == name("s1")
    assert outcome.value in f.message
    assert result.to_json()["detail"] == "injected failure"


def test_lookup_failure_from_zone_timeout_marker() -> None:
    posture = audit({name("s1"): ["TIMEOUT"]}, ["s1"])
    assert posture.results[0].status is SelectorStatus.UNKNOWN
    assert ids(posture) == ["dns.lookup-failed"]


def test_dangling_cname_is_reported_not_missing() -> None:
    target = "s1.domainkey.u999.wl.sendgrid.net"
    posture = audit({name("s1"): [{"CNAME": target}]}, ["s1"])
    result = posture.results[0]
    assert result.status is SelectorStatus.DANGLING_CNAME
    f = only(posture, "dns.dangling-cname")
    assert ids(posture) == ["dns.dangling-cname"]
    assert f.severity is Severity.ERROR and target in f.message
    assert f.record == f"{name('s1')} CNAME {target}"


def test_dangling_cname_found_while_probing() -> None:
    posture = audit({name("k1"): [{"CNAME": "dkim.gone.example"}]})
    assert {"dns.dangling-cname", "dkim.no-key-found"} == set(ids(posture))


def test_cname_to_existing_name_without_txt_is_missing() -> None:
    target = "keys.esp.example"
    posture = audit({name("s1"): [{"CNAME": target}], target: [{"A": "192.0.2.7"}]}, ["s1"])
    assert posture.results[0].status is SelectorStatus.MISSING
    assert ids(posture) == ["dkim.selector-missing"]


def test_cname_loop_is_unknown() -> None:
    posture = audit(
        {name("s1"): [{"CNAME": "a.example"}], "a.example": [{"CNAME": name("s1")}]}, ["s1"]
    )
    assert posture.results[0].status is SelectorStatus.UNKNOWN


@pytest.mark.parametrize(
    "raw, expected",
    [
        (["S1", "s1", "google."], ("s1", "google")),
        (["2019.sel", "a_b-c"], ("2019.sel", "a_b-c")),
    ],
)
def test_selectors_are_normalised(raw: list[str], expected: tuple[str, ...]) -> None:
    assert normalize_selectors(raw) == expected


@pytest.mark.parametrize(
    "raw", ["", "my sel", "s1._domainkey.example.com", "-bad", "a..b", "s1@example.com"]
)
def test_invalid_selector_is_an_input_error(raw: str) -> None:
    with pytest.raises(InputError):
        normalize_selectors([raw])


def test_builtin_selector_list_is_modest_valid_and_attributed() -> None:
    assert 20 <= len(COMMON_SELECTORS) <= 30
    assert normalize_selectors(DEFAULT_SELECTORS) == DEFAULT_SELECTORS
    assert all(s.provider for s in COMMON_SELECTORS)
    for wanted in ("google", "selector1", "selector2", "k1", "s1", "s2", "default", "dkim"):
        assert wanted in DEFAULT_SELECTORS


# --- key rules: each fires, with subject, record, remediation and a fix ------------------


def assert_key_finding(f: Finding, selector: str, record: str) -> None:
    assert f.subject == name(selector)
    assert f.record == record
    assert f.remediation
    assert f.references == CATALOG[f.id].references
    assert f.message.startswith(f"selector {selector}: ")


def suggestion_is_clean(f: Finding) -> None:
    assert f.suggested_record is not None
    key = parse_dkim_key(f.suggested_record)
    assert key.usable_for_email and f.id not in key.warnings, key.warnings


def test_rsa_1024() -> None:
    f = only(key_posture(RSA1024), "dkim.rsa-1024")
    assert f.severity is Severity.WARNING and "1024-bit" in f.message
    assert_key_finding(f, "sel", RSA1024)
    assert "2048" in f.remediation


def test_rsa_too_short() -> None:
    posture = key_posture(KEYS["rsa-512"])
    f = only(posture, "dkim.rsa-too-short")
    assert f.severity is Severity.ERROR and "512-bit" in f.message
    assert "dkim.rsa-1024" not in ids(posture)


def test_key_revoked() -> None:
    f = only(key_posture("v=DKIM1; k=rsa; p="), "dkim.key-revoked")
    assert f.severity is Severity.INFO and f.suggested_record is None
    assert_key_finding(f, "sel", "v=DKIM1; k=rsa; p=")


def test_testing_mode_suggests_the_record_without_t_y() -> None:
    txt = KEYS["t-unknown-flag"]
    f = only(key_posture(txt), "dkim.testing-mode")
    assert f.severity is Severity.WARNING
    assert_key_finding(f, "sel", txt)
    suggestion_is_clean(f)
    assert "t=x;" in (f.suggested_record or "")


def test_sha1_only_is_an_error_and_drops_h() -> None:
    f = only(key_posture(KEYS["h-sha1-only"]), "dkim.sha1")
    assert f.severity is Severity.ERROR
    suggestion_is_clean(f)
    assert "h=" not in (f.suggested_record or "")


def test_sha1_beside_sha256_is_a_warning() -> None:
    f = only(key_posture(KEYS["h-sha1-sha256"]), "dkim.sha1")
    assert f.severity is Severity.WARNING
    suggestion_is_clean(f)
    assert "h=sha256;" in (f.suggested_record or "")


def test_service_not_email_suggests_dropping_s() -> None:
    posture = key_posture(KEYS["dkimpy-test_tlsrpt.txt"])
    f = only(posture, "dkim.service-not-email")
    assert f.severity is Severity.ERROR
    assert "s=" not in (f.suggested_record or "x")
    assert set(ids(posture)) == {"dkim.service-not-email", "dkim.rsa-1024"}


def test_pkcs1_suggests_the_same_key_as_spki() -> None:
    f = only(key_posture(KEYS["dkimpy-2048-pkcs1"]), "dkim.pkcs1-key-format")
    assert f.severity is Severity.INFO
    suggestion_is_clean(f)
    spki_p = RSA2048.split("p=", 1)[1]
    assert f.suggested_record == f"v=DKIM1; g=*; k=rsa; p={spki_p}"


def test_unknown_key_type_suggests_the_matching_k() -> None:
    f = only(key_posture(KEYS["k-uppercase"]), "dkim.unknown-key-type")
    assert f.severity is Severity.ERROR
    suggestion_is_clean(f)
    assert "k=rsa;" in (f.suggested_record or "")
    badk = only(key_posture(KEYS["dkimpy-badk.txt"]), "dkim.unknown-key-type")
    assert "k=rsa;" in (badk.suggested_record or "")


@pytest.mark.parametrize(
    "case, fixed",
    [
        ("v-not-first", "v=DKIM1; k=rsa; p="),
        ("dkimpy-badversion.txt", "v=DKIM1; k=rsa; p="),
        ("k-ed25519-with-rsa-data", "v=DKIM1; k=rsa; p="),
    ],
)
def test_key_invalid_with_a_mechanical_fix(case: str, fixed: str) -> None:
    f = only(key_posture(KEYS[case]), "dkim.key-invalid")
    assert f.severity is Severity.ERROR
    assert_key_finding(f, "sel", KEYS[case])
    suggestion_is_clean(f)
    assert (f.suggested_record or "").startswith(fixed)


@pytest.mark.parametrize(
    "case",
    ["duplicate-tag", "missing-p", "bad-base64", "dkimpy-test_bad.txt", "ed25519-wrong-length"],
)
def test_key_invalid_without_a_fix(case: str) -> None:
    f = only(key_posture(KEYS[case]), "dkim.key-invalid")
    assert f.suggested_record is None


def test_pem_wrapped_key_is_repaired() -> None:
    p = RSA2048.split("p=", 1)[1]
    txt = f"v=DKIM1; k=rsa; p=-----BEGIN PUBLIC KEY----- {p} -----END PUBLIC KEY-----"
    f = only(key_posture(txt), "dkim.key-invalid")
    assert f.suggested_record == f"v=DKIM1; k=rsa; p={p}"


def test_h_without_usable_hash_suggests_dropping_h() -> None:
    txt = RSA2048.replace("k=rsa;", "k=rsa; h=sha512;")
    f = only(key_posture(txt), "dkim.key-invalid")
    suggestion_is_clean(f)


def test_non_dkim_txt_at_selector_is_key_invalid() -> None:
    posture = key_posture("v=spf1 -all")
    assert posture.results[0].status is SelectorStatus.FOUND
    assert ids(posture) == ["dkim.key-invalid"]


def test_several_txt_records_at_a_selector() -> None:
    posture = audit({name("sel"): [{"TXT": "MS=ms123456"}, {"TXT": RSA2048}]}, ["sel"])
    f = only(posture, "dkim.key-invalid")
    assert "2 different TXT records" in f.message
    assert f.suggested_record == RSA2048
    assert len(f.evidence) == 2
    result = posture.results[0]
    assert result.key is not None and result.key.usable_for_email
    assert result.to_json()["records"] == ["MS=ms123456", RSA2048]


def test_same_key_split_differently_is_not_several_records() -> None:
    p = RSA2048.split("p=", 1)[1]
    split = ["v=DKIM1; g=*; k=rsa; p=" + p[:100], p[100:]]
    posture = audit({name("sel"): [{"TXT": RSA2048}, {"TXT": split}]}, ["sel"])
    assert posture.findings == ()


def test_lookup_failure_gives_no_key_findings() -> None:
    posture = audit(
        {name("sel"): [{"TXT": RSA1024}]}, ["sel"], failures={name("sel"): Outcome.SERVFAIL}
    )
    assert ids(posture) == ["dns.lookup-failed"]


def test_ed25519_only_is_unknown_when_another_lookup_failed() -> None:
    posture = audit(
        {name("ed"): [{"TXT": ED25519}]}, ["ed", "rsa"], failures={name("rsa"): Outcome.TIMEOUT}
    )
    assert only(posture, "dkim.ed25519-only").status is Status.UNKNOWN


def test_ed25519_only_ignores_unusable_rsa_keys() -> None:
    posture = audit(
        {name("ed"): [{"TXT": ED25519}], name("old"): [{"TXT": "v=DKIM1; p="}]}, ["ed", "old"]
    )
    assert set(ids(posture)) == {"dkim.ed25519-only", "dkim.key-revoked"}


# --- registry and JSON -----------------------------------------------------------------

MESSAGE_MODE = {"dkim.signature-invalid", "dkim.body-length-tag"}


def test_every_dns_mode_dkim_id_has_a_rule() -> None:
    covered = set(rules.KEY_RULES) | {"dkim.no-key-found", "dkim.ed25519-only"}
    catalog_ids = {i for i in CATALOG if i.startswith("dkim.")} - MESSAGE_MODE
    assert covered | {"dkim.selector-missing"} == catalog_ids
    for fn in [
        *rules.KEY_RULES.values(),
        *rules.SELECTOR_RULES,
        rules.selector_missing,
        rules.no_key_found,
        rules.ed25519_only,
    ]:
        assert fn.__doc__, fn.__name__


def test_every_id_the_parser_raises_has_a_rule() -> None:
    raised = {w for c in _CASES for w in c["warnings"]}
    assert raised <= set(rules.KEY_RULES)


def test_posture_json_shape() -> None:
    posture = audit(
        {name("s1"): [{"TXT": KEYS["t-y-testing"]}], name("s2"): [{"CNAME": "gone.example"}]},
        ["s1", "s2", "s3"],
    )
    data = json.loads(json.dumps(posture.to_json()))
    assert set(data) == {
        "domain",
        "explicit",
        "selectors_tried",
        "found",
        "incomplete",
        "results",
        "findings",
    }
    assert data["selectors_tried"] == ["s1", "s2", "s3"] and data["found"] == ["s1"]
    s1, s2, s3 = data["results"]
    assert {
        "selector",
        "name",
        "status",
        "key_type",
        "bits",
        "valid",
        "revoked",
        "testing",
        "cname_chain",
    } <= set(s1)
    assert (
        s1["status"],
        s1["key_type"],
        s1["bits"],
        s1["valid"],
        s1["revoked"],
        s1["testing"],
    ) == ("found", "rsa", 2048, True, False, True)
    assert s2["status"] == "dangling-cname" and s2["cname_chain"] == [name("s2"), "gone.example"]
    assert s3["status"] == "missing" and s3["key_type"] is None
    assert [f["id"] for f in data["findings"]] == [
        "dkim.testing-mode",
        "dns.dangling-cname",
        "dkim.selector-missing",
    ]


def test_der_wrapped_ed25519_key_is_unwrapped() -> None:
    import base64

    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    raw = ED25519.split("p=", 1)[1]
    public = Ed25519PublicKey.from_public_bytes(base64.b64decode(raw))
    der = public.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    txt = f"v=DKIM1; k=ed25519; p={base64.b64encode(der).decode()}"
    f = only(key_posture(txt), "dkim.key-invalid")
    assert "SubjectPublicKeyInfo" in f.message
    assert f.suggested_record == f"v=DKIM1; k=ed25519; p={raw}"
