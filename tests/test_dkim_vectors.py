"""DKIM verification conformance: every case in tests/conformance/dkim/vectors.yaml.

The file is the project's copy of the shared vectors. Each case runs the
message's signature through :func:`dmarc_audit.message.dkim_verify.verify_signature`
with the vector's DNS table as the only DNS (a closed world: absent names are
NXDOMAIN) and must give the RFC answer in ``expected``, including the three
places where dkimpy alone is lenient (rsa-sha1, key ``h=``, key ``t=s``).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import yaml

from dmarc_audit.dns.cache import CachingResolver
from dmarc_audit.dns.local import LocalRouter
from dmarc_audit.dns.yamlzone import YamlZoneSource
from dmarc_audit.message.dkim_verify import DkimReason, VerifyOptions, verify_signature
from dmarc_audit.message.parse import parse_message

HERE = Path(__file__).parent / "conformance" / "dkim"
EXPECTED_CASES = 40
CASES = yaml.safe_load((HERE / "vectors.yaml").read_text(encoding="utf-8"))

# The precise reason each failing vector must report (a pass is always "verified").
REASONS = {
    "rfc8463-rsa-bad-key": DkimReason.KEY_INVALID,
    "no-t-tag-tampered": DkimReason.SIGNATURE_MISMATCH,
    "invalid-d-domain": DkimReason.SYNTAX,
    "kitterman-key-unavailable": DkimReason.KEY_NOT_FOUND,
    "gen-rsa1024-bad-version": DkimReason.KEY_INVALID,
    "gen-rsa1024-unknown-k": DkimReason.KEY_UNKNOWN_TYPE,
    "gen-rsa1024-truncated-key": DkimReason.KEY_INVALID,
    "gen-rsa1024-no-key": DkimReason.KEY_NOT_FOUND,
    "gen-rsa1024-revoked": DkimReason.KEY_REVOKED,
    "gen-rsa1024-svc-tlsrpt": DkimReason.KEY_NOT_FOR_EMAIL,
    "gen-rsa1024-h-sha1-only": DkimReason.KEY_HASH_NOT_ALLOWED,
    "gen-i-subdomain-t-s": DkimReason.KEY_STRICT_IDENTITY,
    "gen-body-altered": DkimReason.BODY_HASH_MISMATCH,
    "gen-header-altered": DkimReason.SIGNATURE_MISMATCH,
    "gen-extra-from": DkimReason.SIGNATURE_MISMATCH,
    "gen-rsa-sha1": DkimReason.SHA1,
    "gen-rsa512-too-small": DkimReason.KEY_TOO_SHORT,
    "gen-ed25519-key-type-mismatch": DkimReason.KEY_TYPE_MISMATCH,
}


def _resolver(dns_txt: dict[str, str]) -> CachingResolver:
    zone = YamlZoneSource({name: [{"TXT": text}] for name, text in dns_txt.items()})
    return CachingResolver(LocalRouter([zone], closed_world=True))


def _options(case: dict) -> VerifyOptions:
    extra = case.get("dkimpy_options") or {}
    return VerifyOptions(
        min_rsa_bits=int(extra.get("minkey", 1024)), tlsrpt=extra.get("tlsrpt", False)
    )


def test_case_count_is_exact() -> None:
    assert len(CASES) == EXPECTED_CASES
    assert len({case["id"] for case in CASES}) == EXPECTED_CASES


def test_every_failing_case_has_a_reason() -> None:
    failing = {case["id"] for case in CASES if case["expected"] == "fail"}
    assert failing == set(REASONS)


@pytest.mark.parametrize("case", CASES, ids=[case["id"] for case in CASES])
def test_vector(case: dict) -> None:
    message = parse_message((HERE / case["message"]).read_bytes())
    resolver = _resolver(case["dns_txt"])
    outcome = asyncio.run(
        verify_signature(resolver, message, case["signature_index"], _options(case))
    )
    got = "pass" if outcome.passed else "fail"
    assert got == case["expected"], f"{case['id']}: {outcome.reason.value}: {outcome.detail}"
    wanted = REASONS.get(case["id"], DkimReason.VERIFIED)
    assert outcome.reason is wanted, outcome.detail


def test_l_tag_passes_with_a_warning() -> None:
    case = next(c for c in CASES if c["id"] == "gen-l-tag-appended")
    message = parse_message((HERE / case["message"]).read_bytes())
    outcome = asyncio.run(verify_signature(_resolver(case["dns_txt"]), message, 0))
    assert outcome.passed
    assert outcome.warnings == ("dkim.body-length-tag",)
    assert outcome.signature.body_length is not None


def test_sha1_signature_is_cryptographically_valid_but_not_a_pass() -> None:
    case = next(c for c in CASES if c["id"] == "gen-rsa-sha1")
    message = parse_message((HERE / case["message"]).read_bytes())
    outcome = asyncio.run(verify_signature(_resolver(case["dns_txt"]), message, 0))
    assert outcome.crypto_valid is True
    assert outcome.result.value == "policy"
    assert "RFC 8301" in outcome.detail
