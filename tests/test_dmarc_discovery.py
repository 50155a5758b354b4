"""DMARC policy discovery (RFC 9989 tree walk, RFC 7489 + PSL) and Organizational Domains."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from typing import Any

import pytest

from dmarc_audit.dmarc import DmarcMode, Policy, discover_dmarc, tree_walk
from dmarc_audit.dns.local import LocalRouter
from dmarc_audit.dns.types import Answer
from dmarc_audit.dns.yamlzone import YamlZoneSource
from dmarc_audit.orgdomain import (
    WalkHit,
    is_public_suffix,
    one_label_below,
    organizational_domain_psl,
    public_suffix,
    select_organizational_domain,
    tree_walk_targets,
)

R7489, R9989 = DmarcMode.RFC7489, DmarcMode.RFC9989


class Recording:
    """A resolver that remembers every question (name, type) in order."""

    def __init__(self, zone: dict[str, Any]) -> None:
        self.inner = LocalRouter([YamlZoneSource(zone)], closed_world=True)
        self.asked: list[tuple[str, str]] = []

    async def query(self, name: str, rdtype: str) -> Answer:
        self.asked.append((name, rdtype))
        return await self.inner.query(name, rdtype)


def txt(*records: str | list[str]) -> list[dict[str, Any]]:
    return [{"TXT": r} for r in records]


def discover(zone: dict[str, Any], domain: str, mode: DmarcMode = R9989):
    resolver = Recording(zone)
    return asyncio.run(discover_dmarc(resolver, domain, mode)), resolver


# --- pure helpers ------------------------------------------------------------


def test_tree_walk_targets() -> None:
    assert tree_walk_targets("Mail.Example.COM.") == ("mail.example.com", "example.com", "com")
    assert tree_walk_targets("com") == ("com",)
    eight = tree_walk_targets("a.b.c.d.e.f.g.h")
    assert len(eight) == 8 and eight[1] == "b.c.d.e.f.g.h"
    deep = tree_walk_targets("a.b.c.d.e.f.g.h.i.j.mail.example.com")
    assert len(deep) == 8 and deep[1] == "g.h.i.j.mail.example.com" and deep[-1] == "com"


def test_select_organizational_domain_rules() -> None:
    start = "a.b.example.com"
    assert select_organizational_domain(start, []) == start
    assert (
        select_organizational_domain(start, [WalkHit("b.example.com"), WalkHit("example.com")])
        == "example.com"
    )
    assert select_organizational_domain(start, [WalkHit("b.example.com", "n")]) == "b.example.com"
    assert select_organizational_domain(start, [WalkHit("com", "y")]) == "example.com"
    assert select_organizational_domain("gov", [WalkHit("gov", "y")]) == "gov"
    assert one_label_below("a.b.example.com", "com") == "example.com"


@pytest.mark.parametrize(
    ("domain", "org"),
    [
        ("mail.example.com", "example.com"),
        ("example.com", "example.com"),
        ("a.b.example.co.uk", "example.co.uk"),
        ("co.uk", "co.uk"),
        ("agency.gov", "agency.gov"),
        ("x.y.foo.blogspot.com", "foo.blogspot.com"),  # PSL private section included
        ("mail.example.test", "example.test"),  # unlisted TLD: the PSL default rule '*'
        ("MAIL.Example.COM.", "example.com"),
    ],
)
def test_organizational_domain_psl(domain: str, org: str) -> None:
    assert organizational_domain_psl(domain) == org


def test_public_suffixes() -> None:
    assert is_public_suffix("gov") and is_public_suffix("co.uk") and is_public_suffix("com")
    assert not is_public_suffix("example.com") and not is_public_suffix("")
    assert public_suffix("www.example.co.uk") == "co.uk"


def test_psl_is_the_bundled_snapshot_and_never_imports_tldextract() -> None:
    # the list is read from the snapshot file inside the tldextract package; tldextract
    # (and the requests stack it would download with) is never imported
    code = (
        "import sys, dmarc_audit.orgdomain as o; o.tree_walk_targets('a.example.com'); "
        "o.organizational_domain_psl('a.example.co.uk'); "
        "print('tldextract' in sys.modules, 'requests' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False False"


# --- RFC 9989 discovery ----------------------------------------------------------

ORG = {
    "_dmarc.example.com": txt(
        "v=DMARC1; p=reject; sp=quarantine; np=reject; rua=mailto:d@example.com"
    )
}


def test_record_at_the_domain_applies_p_and_the_walk_continues_for_the_org_domain() -> None:
    zone = {**ORG, "_dmarc.mail.example.com": txt("v=DMARC1; p=none")}
    result, resolver = discover(zone, "mail.example.com")
    assert result.status == "found" and result.found_at == "domain"
    assert result.applied_policy is Policy.NONE and result.policy_source == "p"
    assert result.record_name == "_dmarc.mail.example.com"
    assert result.org_domain == "example.com"
    assert result.queries == ("_dmarc.mail.example.com", "_dmarc.example.com", "_dmarc.com")
    assert [n for n, _ in resolver.asked] == list(result.queries)  # no existence check needed


def test_existing_subdomain_gets_sp_and_missing_one_gets_np() -> None:
    zone = {**ORG, "www.example.com": [{"MX": [10, "mx.example.com"]}]}
    www, resolver = discover(zone, "www.example.com")
    assert (www.applied_policy, www.policy_source, www.author_exists) == (
        Policy.QUARANTINE,
        "sp",
        True,
    )
    assert ("www.example.com", "MX") in resolver.asked
    gone, _ = discover(zone, "gone.example.com")
    assert (gone.applied_policy, gone.policy_source, gone.author_exists) == (
        Policy.REJECT,
        "np",
        False,
    )
    assert "does not exist" in gone.explanation and "np=reject" in gone.explanation


def test_nodata_for_a_aaaa_and_mx_means_non_existent() -> None:
    zone = {**ORG, "txtonly.example.com": txt("hello")}
    result, _ = discover(zone, "txtonly.example.com")
    assert result.policy_source == "np" and result.author_exists is False


def test_existence_lookup_failure_assumes_the_domain_exists() -> None:
    zone = {**ORG, "slow.example.com": ["TIMEOUT"]}
    result, _ = discover(zone, "slow.example.com")
    assert result.status == "found" and result.policy_source == "sp"
    assert result.author_exists is None and result.failures
    assert "could not be checked" in result.explanation


def test_explanation_spells_out_inheritance_defaults() -> None:
    zone = {"_dmarc.example.com": txt("v=DMARC1; p=reject")}
    result, _ = discover(zone, "mail.example.com")
    assert "sp (not set, so p=reject)" in result.explanation
    assert "Organizational Domain example.com" in result.explanation


def test_multiple_records_are_discarded_and_the_walk_goes_on() -> None:
    zone = {**ORG, "_dmarc.mail.example.com": txt("v=DMARC1; p=none", "v=DMARC1; p=reject")}
    result, _ = discover(zone, "mail.example.com")
    assert result.found_at == "organizational" and result.record_name == "_dmarc.example.com"
    assert result.steps[0].multiple and result.steps[0].record is None
    old, _ = discover(zone, "mail.example.com", R7489)
    assert old.status == "none" and old.queries == ("_dmarc.mail.example.com",)


def test_psd_n_stops_the_walk_and_names_the_org_domain() -> None:
    zone = {**ORG, "_dmarc.b.example.com": txt("v=DMARC1; p=none; psd=n")}
    result, _ = discover(zone, "a.b.example.com")
    assert result.queries == ("_dmarc.a.b.example.com", "_dmarc.b.example.com")
    assert result.org_domain == "b.example.com" and result.applied_policy is Policy.NONE
    own, _ = discover(zone, "b.example.com")
    assert own.queries == ("_dmarc.b.example.com",) and own.found_at == "domain"


def test_psd_y_at_the_start_is_its_own_org_domain() -> None:
    zone = {"_dmarc.gov": txt("v=DMARC1; p=reject; psd=y")}
    result, _ = discover(zone, "gov")
    assert result.found_at == "domain" and result.org_domain == "gov"
    below, _ = discover(zone, "a.b.agency.gov")
    assert below.found_at == "psd" and below.org_domain == "agency.gov"
    assert below.record_name == "_dmarc.gov" and "psd=y" in below.explanation


def test_org_record_beats_the_psd_record() -> None:
    zone = {
        "_dmarc.gov": txt("v=DMARC1; p=reject; psd=y"),
        "_dmarc.agency.gov": txt("v=DMARC1; p=none"),
    }
    result, _ = discover(zone, "mail.agency.gov")
    assert result.found_at == "organizational" and result.record_name == "_dmarc.agency.gov"


def test_testing_mode_lowers_the_applied_policy() -> None:
    zone = {"_dmarc.example.com": txt("v=DMARC1; p=reject; t=y")}
    result, _ = discover(zone, "example.com")
    assert result.stated_policy is Policy.REJECT and result.applied_policy is Policy.QUARANTINE
    assert "t=y" in result.explanation
    old, _ = discover(zone, "example.com", R7489)
    assert old.applied_policy is Policy.REJECT  # t is unknown to RFC 7489


def test_pct_is_explained_under_rfc7489() -> None:
    zone = {"_dmarc.example.com": txt("v=DMARC1; p=quarantine; pct=25")}
    result, _ = discover(zone, "example.com", R7489)
    assert result.applied_policy is Policy.QUARANTINE and "25%" in result.explanation


def test_invalid_record_is_found_but_applies_nothing() -> None:
    zone = {"_dmarc.example.com": txt("v=DMARC1; p=bogus")}
    result, _ = discover(zone, "example.com")
    assert result.status == "found" and result.applied_policy is None
    assert result.policy_source == "" and "no DMARC" in result.explanation


def test_fallback_is_part_of_the_explanation() -> None:
    zone = {"_dmarc.example.com": txt("v=DMARC1; p=bogus; rua=mailto:d@example.com")}
    result, _ = discover(zone, "example.com")
    assert result.applied_policy is Policy.NONE and "act as p=none" in result.explanation


def test_cname_to_a_valid_record_is_followed() -> None:
    zone = {
        "_dmarc.example.com": [{"CNAME": "example-com.dmarc.provider.example"}],
        "example-com.dmarc.provider.example": txt("v=DMARC1; p=reject"),
    }
    result, _ = discover(zone, "example.com")
    assert result.found_at == "domain" and result.applied_policy is Policy.REJECT
    assert result.steps[0].answer.cnames


def test_dangling_cname_counts_as_no_record_and_the_walk_goes_on() -> None:
    zone = {**ORG, "_dmarc.mail.example.com": [{"CNAME": "gone.provider.example"}]}
    result, _ = discover(zone, "mail.example.com")
    assert result.found_at == "organizational"


def test_other_txt_records_are_ignored() -> None:
    zone = {"_dmarc.example.com": txt("google-site-verification=x", "v=DMARC1; p=reject")}
    result, _ = discover(zone, "example.com")
    assert result.record is not None and result.record.text == "v=DMARC1; p=reject"
    assert [r.text for r in result.steps[0].discarded] == ["google-site-verification=x"]


def test_no_record_anywhere() -> None:
    result, _ = discover({}, "Mail.Example.Com.")
    assert result.domain == "mail.example.com"
    assert (result.status, result.found_at, result.record, result.applied_policy) == (
        "none",
        "none",
        None,
        None,
    )
    assert result.org_domain == "mail.example.com"
    assert "_dmarc.com" in result.explanation


# --- lookup failures -------------------------------------------------------------


def test_failure_at_the_author_domain_is_unknown_not_missing() -> None:
    result, _ = discover({"_dmarc.example.com": ["TIMEOUT"]}, "example.com")
    assert result.status == "unknown" and result.found_at == "unknown"
    assert result.failures and result.failures[0].name == "_dmarc.example.com"
    assert "cannot be determined" in result.explanation
    old, _ = discover({"_dmarc.example.com": ["TIMEOUT"]}, "example.com", R7489)
    assert old.status == "unknown"


def test_failure_higher_up_is_unknown_without_an_own_record() -> None:
    zone = {"_dmarc.example.com": ["TIMEOUT"]}
    result, _ = discover(zone, "mail.example.com")
    assert result.status == "unknown"
    old, _ = discover(zone, "mail.example.com", R7489)
    assert old.status == "unknown" and old.queries[-1] == "_dmarc.example.com"


def test_failure_higher_up_keeps_the_own_record_but_not_the_org_domain() -> None:
    zone = {"_dmarc.mail.example.com": txt("v=DMARC1; p=reject"), "_dmarc.example.com": ["TIMEOUT"]}
    result, _ = discover(zone, "mail.example.com")
    assert result.status == "found" and result.applied_policy is Policy.REJECT
    assert result.org_domain is None and result.failures


def test_tree_walk_reports_its_failure() -> None:
    walk = asyncio.run(tree_walk(Recording({"_dmarc.com": ["TIMEOUT"]}), "example.com"))
    assert walk.failed is not None and walk.org_domain is None and not walk.found_any
