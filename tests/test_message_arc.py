"""ARC chain validation (RFC 8617 §5.2) on chains sealed in the test, RSA and Ed25519.

Every RSA chain that our verifier passes or fails is also given to dkimpy's ARC
verifier, which must agree; per-hop validity and the reasons in words are ours.
"""

from __future__ import annotations

import asyncio

import pytest
from arc_sealer import BASE_MESSAGE, SealKey, add_arc_set

from dmarc_audit.dns.cache import CachingResolver
from dmarc_audit.dns.local import LocalRouter
from dmarc_audit.dns.yamlzone import YamlZoneSource
from dmarc_audit.message.arc import ArcEvaluation, ArcStatus, verify_arc
from dmarc_audit.message.authres import parse_authres
from dmarc_audit.message.parse import parse_message

FORUM = SealKey.make("rsa")
RELAY = SealKey.make("rsa")
EDGE = SealKey.make("ed25519")


def zone(**extra: list) -> dict:
    return {
        "arc._domainkey.forum.example": [{"TXT": FORUM.record}],
        "arc._domainkey.relay.example": [{"TXT": RELAY.record}],
        "ed._domainkey.edge.example": [{"TXT": EDGE.record}],
        **extra,
    }


def evaluate(raw: bytes, zone_data: dict | None = None) -> ArcEvaluation:
    resolver = CachingResolver(
        LocalRouter([YamlZoneSource(zone_data or zone())], closed_world=True)
    )
    return asyncio.run(verify_arc(resolver, parse_message(raw)))


def dkimpy_says(raw: bytes, zone_data: dict | None = None) -> bytes:
    """dkimpy's chain verdict (cv) on the same message and keys."""
    import dkim

    records = {
        name: entries[0]["TXT"]
        for name, entries in (zone_data or zone()).items()
        if entries and isinstance(entries[0], dict) and "TXT" in entries[0]
    }

    def dnsfunc(name: bytes, timeout: float = 5) -> bytes | None:
        text = records.get(name.decode().rstrip("."))
        return text.encode() if text else None

    cv, _, _ = dkim.ARC(raw).verify(dnsfunc=dnsfunc)
    return cv


def two_hops(**second: object) -> bytes:
    first = add_arc_set(BASE_MESSAGE, FORUM, domain="forum.example")
    return add_arc_set(first, RELAY, domain="relay.example", **second)  # type: ignore[arg-type]


def test_one_rsa_hop_passes_and_dkimpy_agrees() -> None:
    raw = add_arc_set(BASE_MESSAGE, FORUM, domain="forum.example")
    arc = evaluate(raw)
    assert arc.status is ArcStatus.PASS
    assert arc.reason == "the chain of 1 ARC set validates"
    (hop,) = arc.hops
    assert (hop.seal_valid, hop.signature_valid, hop.reason) == (True, True, None)
    assert dkimpy_says(raw) == b"pass"


def test_two_rsa_hops_pass_with_validity_per_hop_and_dkimpy_agrees() -> None:
    raw = two_hops()
    arc = evaluate(raw)
    assert arc.status is ArcStatus.PASS
    assert [(h.instance, h.seal_domain, h.seal_valid, h.signature_valid) for h in arc.hops] == [
        (1, "forum.example", True, True),
        (2, "relay.example", True, True),
    ]
    assert dkimpy_says(raw) == b"pass"


def test_ed25519_sets_are_verified() -> None:
    first = add_arc_set(BASE_MESSAGE, EDGE, domain="edge.example", selector="ed")
    raw = add_arc_set(first, RELAY, domain="relay.example")
    arc = evaluate(raw)
    assert arc.status is ArcStatus.PASS, arc.reason
    assert [(h.seal_valid, h.signature_valid) for h in arc.hops] == [(True, True), (True, True)]


def test_an_ed25519_seal_that_was_altered_fails_in_words() -> None:
    raw = add_arc_set(BASE_MESSAGE, EDGE, domain="edge.example", selector="ed")
    raw = raw.replace(
        b"dmarc=pass header.from=shop.example", b"dmarc=pass header.from=evil.example"
    )
    arc = evaluate(raw)
    assert arc.status is ArcStatus.FAIL
    assert arc.reason.startswith(
        "ARC-Seal i=1 (key ed._domainkey.edge.example): b= does not verify"
    )
    assert arc.hops[0].seal_valid is False


def test_body_changed_between_hops_still_passes_but_the_old_signature_is_marked() -> None:
    """A list that edits the body after sealing hop 1 re-seals: only the newest AMS counts."""
    first = add_arc_set(BASE_MESSAGE, FORUM, domain="forum.example")
    edited = first.replace(b"See you there.\r\n", b"See you there.\r\n--\r\nList footer\r\n")
    raw = add_arc_set(edited, RELAY, domain="relay.example")
    arc = evaluate(raw)
    assert arc.status is ArcStatus.PASS
    hop1, hop2 = arc.hops
    assert hop1.seal_valid is True and hop1.signature_valid is False
    assert "ARC-Message-Signature i=1: the body hash (bh=) does not match" in (hop1.reason or "")
    assert (hop2.seal_valid, hop2.signature_valid) == (True, True)
    assert dkimpy_says(raw) == b"pass"


def test_body_changed_after_the_newest_hop_fails() -> None:
    raw = two_hops().replace(b"See you there.", b"See you later.")
    arc = evaluate(raw)
    assert arc.status is ArcStatus.FAIL
    assert arc.reason.startswith("ARC-Message-Signature i=2: the body hash (bh=) does not match")
    assert dkimpy_says(raw) == b"fail"


def test_altered_newest_results_break_only_the_newest_seal() -> None:
    raw = two_hops().replace(b"header.from=shop.example", b"header.from=other.example", 1)
    arc = evaluate(raw)
    assert arc.status is ArcStatus.FAIL
    assert arc.reason.startswith("ARC-Seal i=2 (key arc._domainkey.relay.example): b= does not")
    assert "an ARC field of sets 1-2 changed" in arc.reason
    assert [h.seal_valid for h in arc.hops] == [True, False]
    assert dkimpy_says(raw) == b"fail"


def test_altered_first_hop_results_break_every_seal_above() -> None:
    raw = two_hops()
    head, _, tail = raw.rpartition(b"header.from=shop.example")
    raw = head + b"header.from=other.example" + tail
    arc = evaluate(raw)
    assert arc.status is ArcStatus.FAIL
    assert arc.reason.startswith("ARC-Seal i=2")
    assert [h.seal_valid for h in arc.hops] == [False, False]
    assert dkimpy_says(raw) == b"fail"


def test_signed_header_changed_names_the_field_list() -> None:
    raw = two_hops().replace(b"Subject: Meeting on Tuesday", b"Subject: [friends] Meeting")
    arc = evaluate(raw)
    assert arc.status is ArcStatus.FAIL
    assert "ARC-Message-Signature i=2" in arc.reason
    assert "a header field it signs (h=) changed" in arc.reason


def test_missing_key_is_named() -> None:
    raw = two_hops()
    data = zone()
    del data["arc._domainkey.relay.example"]
    arc = evaluate(raw, data)
    assert arc.status is ArcStatus.FAIL and not arc.lookup_failed
    assert "key arc._domainkey.relay.example (no key record there)" in arc.reason
    assert arc.hops[1].seal_valid is False


def test_key_lookup_timeout_is_could_not_check() -> None:
    arc = evaluate(two_hops(), zone(**{"arc._domainkey.relay.example": ["TIMEOUT"]}))
    assert arc.status is ArcStatus.FAIL and arc.lookup_failed
    assert arc.reason.endswith("(could not check)")
    assert arc.hops[1].seal_valid is None and arc.hops[1].signature_valid is None
    assert arc.hops[0].seal_valid is True


def test_revoked_key() -> None:
    arc = evaluate(
        two_hops(), zone(**{"arc._domainkey.relay.example": [{"TXT": "v=DKIM1; k=rsa; p="}]})
    )
    assert arc.status is ArcStatus.FAIL
    assert "revoked" in arc.reason


def test_newest_cv_fail_fails_the_chain() -> None:
    arc = evaluate(two_hops(cv="fail"))
    assert arc.status is ArcStatus.FAIL
    assert arc.reason.startswith("the newest sealer (relay.example, i=2) recorded cv=fail")


def test_cv_none_above_the_first_set_is_a_structure_error() -> None:
    arc = evaluate(two_hops(cv="none"))
    assert arc.status is ArcStatus.FAIL
    assert arc.reason == "ARC-Seal i=2 has cv=none; it must be cv=pass"


def test_instance_zero_is_not_listed_as_a_hop() -> None:
    raw = b"ARC-Seal: i=0; cv=none; a=rsa-sha256; d=x.example; s=s; b=AAAA\r\n" + BASE_MESSAGE
    arc = evaluate(raw)
    assert arc.status is ArcStatus.FAIL
    assert arc.hops == ()
    assert "i=0; instances run from 1 to 50" in arc.reason


def test_a_gap_in_the_chain_fails() -> None:
    raw = two_hops()
    raw = raw.replace(b"i=1;", b"i=3;")
    arc = evaluate(raw)
    assert arc.status is ArcStatus.FAIL
    assert arc.reason.startswith("the chain has no ARC set i=1")


def test_a_set_given_twice_fails() -> None:
    raw = add_arc_set(BASE_MESSAGE, FORUM, domain="forum.example")
    seal = raw.split(b"\r\n", 1)[0]
    arc = evaluate(seal + b"\r\n" + raw)
    assert arc.status is ArcStatus.FAIL
    assert arc.reason == "ARC set i=1 has 2 ARC-Seal fields"


def test_missing_tag_is_named() -> None:
    raw = add_arc_set(BASE_MESSAGE, FORUM, domain="forum.example")
    raw = raw.replace(b"a=rsa-sha256; d=forum.example; s=arc; t=", b"d=forum.example; s=arc; t=", 1)
    arc = evaluate(raw)
    assert arc.status is ArcStatus.FAIL
    assert arc.reason == "ARC-Seal i=1 lacks the tag a="


@pytest.mark.parametrize(
    "tamper",
    [
        lambda raw: raw.replace(b"See you there.", b"Changed"),
        lambda raw: raw.replace(b"cv=none; a=", b"cv=none; a=rsa-sha1; x=", 1),
        lambda raw: raw.replace(b"i=1;", b"i=7;", 1),
    ],
)
def test_reasons_never_show_python_bytes(tamper) -> None:  # type: ignore[no-untyped-def]
    arc = evaluate(tamper(add_arc_set(BASE_MESSAGE, FORUM, domain="forum.example")))
    assert arc.status is ArcStatus.FAIL
    texts = [arc.reason, *(h.reason or "" for h in arc.hops)]
    assert not any("b'" in text or 'b"' in text for text in texts), texts


def test_aar_with_authserv_id_before_instance() -> None:
    header = parse_authres("mx.forum.example; i=1; spf=pass smtp.mailfrom=a@b.example", arc=True)
    assert header.authserv_id == "mx.forum.example"
    assert header.instance == 1
    assert [r.method for r in header.results] == ["spf"]


def _override_for(results: str):  # type: ignore[no-untyped-def]
    from dmarc_audit.message.alignment import OrgDomains
    from dmarc_audit.message.verdict import arc_override
    from dmarc_audit.records.dmarc import DmarcMode

    raw = add_arc_set(BASE_MESSAGE, FORUM, domain="forum.example", results=results)
    resolver = CachingResolver(LocalRouter([YamlZoneSource(zone())], closed_world=True))

    async def run():  # type: ignore[no-untyped-def]
        arc = await verify_arc(resolver, parse_message(raw))
        return await arc_override(arc, "shop.example", OrgDomains(resolver, DmarcMode.RFC9989))

    return asyncio.run(run())


def test_override_claims_only_what_the_aar_says() -> None:
    """dmarc=pass without header.from does not say which From domain passed."""
    override = _override_for("spf=fail smtp.mailfrom=x@forum.example; dmarc=pass")
    assert override.possible is False
    assert "names no header.from" in override.reason
    assert "recorded dmarc=pass for shop.example" not in override.reason


def test_override_with_header_from_named() -> None:
    override = _override_for("dmarc=pass header.from=shop.example")
    assert override.possible is True
    assert "recorded dmarc=pass for shop.example" in override.reason
