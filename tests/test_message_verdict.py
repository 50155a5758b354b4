"""Library-level checks of the verdict: alignment, bulk headers, key posture, ARC, DNS failures.

Messages are signed here with the fixture keys (fixtures/keys/) and checked against
small in-memory YAML zones, so each test states exactly the DNS it depends on.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from unittest import mock

import pytest

from dmarc_audit.dns.cache import CachingResolver
from dmarc_audit.dns.local import LocalRouter
from dmarc_audit.dns.yamlzone import YamlZoneSource
from dmarc_audit.message.alignment import Identifier, OrgDomains, check_alignment
from dmarc_audit.message.dkim_verify import DkimReason
from dmarc_audit.message.parse import parse_message
from dmarc_audit.message.report import DmarcResult
from dmarc_audit.message.unsubscribe import check_bulk
from dmarc_audit.message.verdict import MessageOptions, analyze_message
from dmarc_audit.records.dmarc import Alignment, DmarcMode

KEYS = Path(__file__).resolve().parent.parent / "fixtures" / "keys"
SHOP_KEY = (KEYS / "shop-s1.p").read_text().strip()


def _resolver(zone: dict) -> CachingResolver:
    return CachingResolver(LocalRouter([YamlZoneSource(zone)], closed_world=True))


def _zone(**extra: list) -> dict:
    return {
        "shop.example": [{"TXT": "v=spf1 ip4:192.0.2.0/25 -all"}],
        "_dmarc.shop.example": [{"TXT": "v=DMARC1; p=reject"}],
        "s1._domainkey.shop.example": [{"TXT": f"v=DKIM1; k=rsa; p={SHOP_KEY}"}],
        # reverse DNS for the connecting IPs used here, so mx.sender-ptr stays quiet
        "10.2.0.192.in-addr.arpa": [{"PTR": "mail.shop.example"}],
        "mail.shop.example": [{"A": "192.0.2.10"}],
        "9.113.0.203.in-addr.arpa": [{"PTR": "relay.example.net"}],
        "relay.example.net": [{"A": "203.0.113.9"}],
        **extra,
    }


def _sign(
    raw: bytes,
    domain: str = "shop.example",
    selector: str = "s1",
    headers: tuple[str, ...] = ("from", "subject", "date"),
    **kwargs,
) -> bytes:
    import dkim

    key = (KEYS / "shop-s1.pem").read_bytes()
    with mock.patch("time.time", return_value=1700000000):
        field = dkim.sign(
            raw,
            selector.encode(),
            domain.encode(),
            key,
            include_headers=[h.encode() for h in headers],
            **kwargs,
        )
    return field + raw


def _analyse(raw: bytes, zone: dict, **options):
    options.setdefault("ip", "192.0.2.10")
    return asyncio.run(
        analyze_message(_resolver(zone), parse_message(raw), MessageOptions(**options))
    )


BASE = (
    b"From: News <news@shop.example>\r\nSubject: hello\r\nDate: Tue, 14 Nov 2023 "
    b"22:13:20 +0000\r\nReturn-Path: <bounce@shop.example>\r\n\r\nHello.\r\n"
)


def test_aligned_dkim_pass_wins_over_a_failing_spf() -> None:
    report = _analyse(_sign(BASE), _zone(), ip="203.0.113.9")
    assert report.spf.code == "fail"
    assert report.dmarc.result is DmarcResult.PASS
    assert report.dmarc.aligned_pass == ("dkim",)
    assert int(report.exit_status) == 0
    assert [f.id for f in report.findings] == []


def test_relaxed_alignment_of_a_subdomain_signature() -> None:
    zone = _zone()
    zone["s1._domainkey.mail.shop.example"] = [{"TXT": f"v=DKIM1; p={SHOP_KEY}"}]
    report = _analyse(_sign(BASE, domain="mail.shop.example"), zone, ip="203.0.113.9")
    (check,) = report.dmarc.dkim
    assert check.aligned is True
    assert check.org_domain == check.from_org_domain == "shop.example"
    assert report.dmarc.result is DmarcResult.PASS


def test_psd_record_makes_siblings_unaligned() -> None:
    """A psd=y record at a public suffix splits names below it into separate organisations."""
    zone = {
        "_dmarc.city.example": [{"TXT": "v=DMARC1; p=reject; psd=y"}],
        "_dmarc.bakery.city.example": [{"TXT": "v=DMARC1; p=reject"}],
    }
    orgs = OrgDomains(_resolver(zone), DmarcMode.RFC9989)
    check = asyncio.run(
        check_alignment(
            Identifier.DKIM, "esp.city.example", "bakery.city.example", Alignment.RELAXED, orgs
        )
    )
    assert check.aligned is False
    assert check.org_domain == "esp.city.example"
    assert check.from_org_domain == "bakery.city.example"


def test_alignment_under_rfc7489_uses_the_public_suffix_list() -> None:
    orgs = OrgDomains(_resolver({}), DmarcMode.RFC7489)
    check = asyncio.run(
        check_alignment(Identifier.SPF, "bounce.shop.co.uk", "shop.co.uk", Alignment.RELAXED, orgs)
    )
    assert check.aligned is True and check.org_domain == "shop.co.uk"
    other = asyncio.run(
        check_alignment(Identifier.SPF, "esp.co.uk", "shop.co.uk", Alignment.RELAXED, orgs)
    )
    assert other.aligned is False
    assert "Public Suffix List" in other.reason


def test_alignment_unknown_when_the_tree_walk_fails() -> None:
    zone = {"_dmarc.mail.shop.example": ["TIMEOUT"]}
    orgs = OrgDomains(_resolver(zone), DmarcMode.RFC9989)
    check = asyncio.run(
        check_alignment(
            Identifier.DKIM, "mail.shop.example", "shop.example", Alignment.RELAXED, orgs
        )
    )
    assert check.aligned is None
    assert "could not be determined" in check.reason


def test_key_lookup_timeout_makes_dmarc_temperror() -> None:
    zone = _zone()
    zone["s1._domainkey.shop.example"] = ["TIMEOUT"]
    report = _analyse(_sign(BASE), zone, ip="203.0.113.9")
    assert report.dkim[0].reason is DkimReason.KEY_LOOKUP_FAILED
    assert report.dmarc.result is DmarcResult.TEMPERROR
    assert int(report.exit_status) == 3
    lookup = next(f for f in report.findings if f.id == "dns.lookup-failed")
    assert lookup.status.value == "unknown"


def test_spf_temperror_without_dkim_is_temperror() -> None:
    zone = _zone()
    zone["shop.example"] = ["TIMEOUT"]
    report = _analyse(BASE, zone)
    assert report.spf.code == "temperror"
    assert report.dmarc.result is DmarcResult.TEMPERROR
    assert "spf.temperror" in {f.id for f in report.findings}


def test_testing_mode_policy_is_applied_one_step_down() -> None:
    zone = _zone()
    zone["_dmarc.shop.example"] = [{"TXT": "v=DMARC1; p=reject; t=y"}]
    report = _analyse(BASE, zone, ip="203.0.113.9")
    assert report.dmarc.result is DmarcResult.FAIL
    assert report.dmarc.disposition == "quarantine"


def test_pct_under_rfc7489_is_explained() -> None:
    zone = _zone()
    zone["_dmarc.shop.example"] = [{"TXT": "v=DMARC1; p=reject; pct=25"}]
    report = _analyse(BASE, zone, ip="203.0.113.9", dmarc_mode=DmarcMode.RFC7489)
    assert report.dmarc.disposition == "reject"
    assert "pct=25" in report.dmarc.disposition_reason
    assert "quarantine" in report.dmarc.disposition_reason


def test_policy_none_still_fails_and_says_what_happens() -> None:
    zone = _zone()
    zone["_dmarc.shop.example"] = [{"TXT": "v=DMARC1; p=none"}]
    report = _analyse(BASE, zone, ip="203.0.113.9")
    assert report.dmarc.result is DmarcResult.FAIL
    assert report.dmarc.disposition == "none"
    assert "spam" in report.dmarc.disposition_reason


def test_inherited_subdomain_policy() -> None:
    zone = _zone()
    zone["_dmarc.shop.example"] = [{"TXT": "v=DMARC1; p=reject; sp=quarantine"}]
    zone["news.shop.example"] = [{"A": "192.0.2.5"}]
    raw = BASE.replace(b"news@shop.example", b"news@news.shop.example")
    report = _analyse(raw, zone, ip="203.0.113.9")
    assert report.dmarc.discovery.found_at == "organizational"
    assert report.dmarc.disposition == "quarantine"


def test_rsa_sha1_signature_gets_dkim_sha1_and_does_not_align() -> None:
    report = _analyse(_sign(BASE, signature_algorithm=b"rsa-sha1"), _zone(), ip="203.0.113.9")
    assert report.dkim[0].reason is DkimReason.SHA1
    assert report.dkim[0].result.value == "policy"
    assert report.dmarc.result is DmarcResult.FAIL
    sha1 = next(f for f in report.findings if f.id == "dkim.sha1")
    assert sha1.severity.value == "error"


def test_body_length_tag_is_a_warning_not_a_failure() -> None:
    report = _analyse(_sign(BASE, length=True), _zone(), ip="203.0.113.9")
    assert report.dkim[0].passed
    assert report.dmarc.result is DmarcResult.PASS
    assert [f.id for f in report.findings] == ["dkim.body-length-tag"]


def test_key_posture_warnings_for_a_key_that_verified() -> None:
    zone = _zone()
    zone["s1._domainkey.shop.example"] = [{"TXT": f"v=DKIM1; k=rsa; t=y; p={SHOP_KEY}"}]
    report = _analyse(_sign(BASE), zone)
    assert [f.id for f in report.findings] == ["dkim.testing-mode"]


def test_several_signatures_one_failing_one_aligned() -> None:
    raw = _sign(_sign(BASE, selector="gone"))
    report = _analyse(raw, _zone(), ip="203.0.113.9")
    assert [v.reason for v in report.dkim] == [DkimReason.VERIFIED, DkimReason.KEY_NOT_FOUND]
    assert report.dmarc.result is DmarcResult.PASS
    assert "dkim.selector-missing" in {f.id for f in report.findings}
    assert len([r for r in report.results if r.method == "dkim"]) == 2


def test_no_signature_and_unaligned_spf_recommends_signing() -> None:
    raw = BASE.replace(b"bounce@shop.example", b"bounce@esp.example")
    zone = {**_zone(), "esp.example": [{"TXT": "v=spf1 ip4:192.0.2.10 -all"}]}
    report = _analyse(raw, zone)
    found = {f.id: f for f in report.findings}
    assert set(found) == {"align.none", "align.spf-unaligned"}
    assert "bounce.shop.example" in found["align.spf-unaligned"].remediation
    assert "shop.example" in found["align.none"].remediation


@pytest.mark.parametrize(
    ("headers", "problems"),
    [
        ({}, []),
        (
            {
                "List-Unsubscribe": "<https://shop.example/u/1>",
                "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            },
            ["no valid DKIM signature"],
        ),
        (
            {"List-Unsubscribe": "<mailto:u@shop.example>"},
            ["no https URI", "no List-Unsubscribe-Post"],
        ),
        (
            {"List-Id": "<news.shop.example>"},
            ["no List-Unsubscribe header", "no List-Unsubscribe-Post"],
        ),
        (
            {
                "Precedence": "bulk",
                "List-Unsubscribe": "<https://shop.example/u/1>",
                "List-Unsubscribe-Post": "List-Unsubscribe=Yes",
            },
            ["not 'List-Unsubscribe=One-Click'", "no valid DKIM signature"],
        ),
    ],
)
def test_one_click_unsubscribe(headers: dict[str, str], problems: list[str]) -> None:
    head = "".join(f"{k}: {v}\r\n" for k, v in headers.items()).encode()
    bulk = check_bulk(parse_message(head + BASE), ())
    assert bulk.is_bulk is bool(headers)
    assert len(bulk.problems) == len(problems)
    for wanted, got in zip(problems, bulk.problems, strict=True):
        assert wanted in got


def test_one_click_signed_by_dkim_passes() -> None:
    head = (
        b"List-Unsubscribe: <https://shop.example/u/1>\r\n"
        b"List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n"
    )
    raw = _sign(
        head + BASE, headers=("from", "subject", "list-unsubscribe", "list-unsubscribe-post")
    )
    report = _analyse(raw, _zone())
    assert report.bulk.ok and report.bulk.signed_by == ("shop.example",)
    assert report.bulk.https_uri == "https://shop.example/u/1"
    assert "bulk.one-click-unsubscribe" not in {f.id for f in report.findings}


def test_esp_marker_makes_mail_bulk() -> None:
    bulk = check_bulk(parse_message(b"X-Mailgun-Tag: promo\r\n" + BASE), ())
    assert bulk.is_bulk and bulk.markers == ("X-Mailgun-Tag",)


def test_arc_that_does_not_validate_gives_no_override() -> None:
    raw = (
        Path(__file__).resolve().parent.parent / "fixtures" / "messages" / "forwarded-arc.eml"
    ).read_bytes()
    raw = raw.replace(b"d=forum.example; s=arc;", b"d=forum.example; s=gone;", 1)
    zone_text = (
        Path(__file__).resolve().parent.parent / "fixtures" / "messages" / "zones.yaml"
    ).read_text()
    import yaml

    report = asyncio.run(
        analyze_message(_resolver(yaml.safe_load(zone_text)), parse_message(raw), MessageOptions())
    )
    assert report.arc.status.value == "fail"
    assert report.dmarc.override is not None and report.dmarc.override.possible is False
