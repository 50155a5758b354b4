"""SPF rules: for every id a case where it fires, one where it stays quiet, and unknowns."""

from __future__ import annotations

import asyncio
import inspect
import json

import dns.message
import dns.rrset
import pytest
import yaml

from dmarc_audit.audit import audit_spf
from dmarc_audit.catalog import CATALOG
from dmarc_audit.checks import spf as rules
from dmarc_audit.dns.local import LocalRouter
from dmarc_audit.dns.types import TxtRecord
from dmarc_audit.dns.yamlzone import YamlZoneSource
from dmarc_audit.domains import parse_domain
from dmarc_audit.findings import Finding, Severity, Status
from dmarc_audit.spf.facts import SpfAnalysis, SpfStatus

TOP = "example.com"


def audit(zone: str, domain: str = TOP) -> SpfAnalysis:
    router = LocalRouter([YamlZoneSource(yaml.safe_load(zone))], closed_world=True)
    return asyncio.run(audit_spf(router, parse_domain(domain)))


def ids(analysis: SpfAnalysis) -> list[str]:
    return [f.id for f in analysis.findings]


def only(analysis: SpfAnalysis, check_id: str) -> Finding:
    found = [f for f in analysis.findings if f.id == check_id]
    assert len(found) == 1, (check_id, ids(analysis))
    return found[0]


def spf(record: str, extra: str = "") -> str:
    """A zone with ``record`` at example.com (plus ``extra`` zone lines)."""
    return f"example.com:\n  - TXT: {json.dumps(record)}\n{extra}"


GOOD = """
example.com:
  - TXT: "v=spf1 ip4:192.0.2.0/24 ip6:2001:db8::/32 a mx include:_spf.esp.example ~all"
  - TXT: "google-site-verification=abc123"
  - A: 192.0.2.1
  - MX: [10, mx.example.com]
mx.example.com:
  - A: 192.0.2.2
_spf.esp.example:
  - TXT: "v=spf1 ip4:198.51.100.0/24 exists:%{i}._ip.esp.example -all"
"""


def test_a_correct_record_has_no_findings():
    result = audit(GOOD)
    assert result.findings == ()
    assert result.status is SpfStatus.VALID
    assert (result.lookups, result.void_lookups) == (4, 0)


def test_every_rule_is_documented_and_in_the_catalog():
    for rule in rules.RULES:
        doc = inspect.getdoc(rule)
        assert doc, rule.__name__
        check_id = doc.split(":", 1)[0]
        assert check_id in CATALOG, rule.__name__


# --- spf.missing ---------------------------------------------------------------------------


def test_missing_fires_when_the_domain_does_not_exist():
    result = audit("other.example:\n  - TXT: 'v=spf1 -all'")
    finding = only(result, "spf.missing")
    assert finding.severity is Severity.WARNING and finding.status is Status.FAIL
    assert finding.message == "example.com has no SPF record (TXT lookup: NXDOMAIN)"
    assert finding.subject == TOP
    assert ids(result) == ["spf.missing"]


def test_missing_names_a_lookalike_record():
    result = audit(spf("v=spf1include:_spf.esp.example -all", "  - TXT: 'hello'"))
    message = only(result, "spf.missing").message
    assert "none of its 2 TXT records starts with 'v=spf1'" in message
    assert "'v=spf1include:_spf.esp.example -all' looks like SPF" in message


def test_missing_never_fires_when_the_txt_lookup_fails():
    result = audit("example.com:\n  - TIMEOUT")
    assert result.status is SpfStatus.TEMPERROR
    assert sorted(ids(result)) == ["dns.lookup-failed", "spf.temperror"]
    temperror = only(result, "spf.temperror")
    assert temperror.status is Status.UNKNOWN and temperror.severity is Severity.ERROR
    assert "the TXT lookup for example.com ended in timeout" in temperror.message
    assert "nameservers of example.com" in temperror.remediation
    failed = only(result, "dns.lookup-failed")
    assert failed.status is Status.UNKNOWN and failed.subject == TOP


# --- spf.multiple-records ------------------------------------------------------------------


def test_multiple_records_fires_at_the_top():
    result = audit(spf("v=spf1 -all", "  - TXT: 'V=SPF1 ip4:192.0.2.1 -all'"))
    finding = only(result, "spf.multiple-records")
    assert finding.message == "example.com publishes 2 SPF records; receivers return permerror"
    assert finding.record == "v=spf1 -all\nV=SPF1 ip4:192.0.2.1 -all"
    assert result.status is SpfStatus.PERMERROR and result.lookups == 0


def test_multiple_records_fires_at_an_include_target():
    result = audit(
        spf(
            "v=spf1 include:_spf.esp.example -all",
            """
_spf.esp.example:
  - TXT: "v=spf1 ip4:192.0.2.0/24 -all"
  - TXT: "v=spf1 ip4:198.51.100.0/24 -all"
""",
        )
    )
    finding = only(result, "spf.multiple-records")
    assert finding.subject == "_spf.esp.example"
    assert "reached through include:_spf.esp.example in example.com" in finding.message
    assert result.tree is not None and result.tree.children[0].outcome == "multiple-records"
    assert result.status is SpfStatus.PERMERROR


def test_multiple_records_quiet_on_other_txt_and_lookalike_versions():
    result = audit(
        spf("v=spf1 -all", "  - TXT: 'v=spf10 ip4:192.0.2.1'\n  - TXT: 'v=spf2.0/pra -all'")
    )
    assert ids(result) == []


# --- spf.syntax-error ----------------------------------------------------------------------


def test_syntax_error_names_term_and_offset():
    result = audit(spf("v=spf1 ip4:192.0.2.0/24 foo:bar -all"))
    finding = only(result, "spf.syntax-error")
    assert finding.message.startswith("'foo:bar' at offset 24: unknown mechanism 'foo'")
    assert finding.record == "v=spf1 ip4:192.0.2.0/24 foo:bar -all"
    assert "parsed terms: ip4:192.0.2.0/24 -all" in finding.evidence
    assert result.status is SpfStatus.PERMERROR


def test_syntax_error_in_an_include_target():
    result = audit(
        spf(
            "v=spf1 include:_spf.esp.example -all",
            """
_spf.esp.example:
  - TXT: "v=spf1 ip4:192.0.2.0/33 -all"
""",
        )
    )
    finding = only(result, "spf.syntax-error")
    assert finding.subject == "_spf.esp.example"
    assert "CIDR length /33 is over 32" in finding.message
    assert result.status is SpfStatus.PERMERROR


def test_syntax_error_quiet_on_valid_macros_and_modifiers():
    result = audit(spf("v=spf1 exists:%{ir}.%{l1r+-}._spf.%{d} -all exp=explain.%{d} x-note=a"))
    assert ids(result) == []


# --- spf.too-many-lookups / spf.lookups-near-limit -----------------------------------------


def includes(count: int) -> str:
    terms = " ".join(f"include:i{n}.example.net" for n in range(count))
    targets = "\n".join(
        f"i{n}.example.net:\n  - TXT: 'v=spf1 ip4:192.0.2.{n} -all'" for n in range(count)
    )
    return spf(f"v=spf1 {terms} -all", targets)


def test_too_many_lookups_names_the_costs_and_what_to_do():
    result = audit(
        spf(
            "v=spf1 include:_spf.crm.example include:helpdesk.example a mx -all",
            """
  - A: 192.0.2.1
  - MX: [10, mx.example.com]
mx.example.com:
  - A: 192.0.2.2
_spf.crm.example:
  - TXT: ["v=spf1 include:c1.crm.example include:c2.crm.example ",
          "include:c3.crm.example include:c4.crm.example -all"]
c1.crm.example:
  - TXT: "v=spf1 ip4:198.51.100.1 -all"
c2.crm.example:
  - TXT: "v=spf1 ip4:198.51.100.2 -all"
c3.crm.example:
  - TXT: "v=spf1 ip4:198.51.100.3 -all"
c4.crm.example:
  - TXT: "v=spf1 ip4:198.51.100.4 -all"
helpdesk.example:
  - TXT: "v=spf1 a:h1.helpdesk.example a:h2.helpdesk.example a:h3.helpdesk.example -all"
h1.helpdesk.example:
  - A: 203.0.113.1
h2.helpdesk.example:
  - A: 203.0.113.2
h3.helpdesk.example:
  - A: 203.0.113.3
""",
        )
    )
    finding = only(result, "spf.too-many-lookups")
    assert finding.message == (
        "SPF needs 11 DNS lookups; receivers stop at 10 (permerror); costs: "
        "include:_spf.crm.example 5 · include:helpdesk.example 4 · a 1 · mx 1"
    )
    assert finding.remediation.startswith(
        "Drop includes you no longer send through (the costliest is "
        "include:_spf.crm.example, 5 lookups)"
    )
    assert "replace a, mx with the ip4:/ip6: networks" in finding.remediation
    assert finding.record == result.record
    assert [e.split(" ", 1)[0] for e in finding.evidence] == [f"#{n}" for n in range(1, 12)]
    assert "spf.lookups-near-limit" not in ids(result)
    assert result.status is SpfStatus.PERMERROR


def test_ten_lookups_are_allowed_and_near_the_limit():
    result = audit(includes(10))
    assert ids(result) == ["spf.lookups-near-limit"]
    near = only(result, "spf.lookups-near-limit")
    assert near.severity is Severity.WARNING
    assert near.message.startswith(
        "SPF needs 10 of the 10 DNS lookups receivers allow; costs: include:i0.example.net 1 · "
    )
    assert near.message.endswith(" · …")
    assert ids(audit(includes(11)))[0] == "spf.too-many-lookups"


@pytest.mark.parametrize(("count", "expected"), [(7, []), (8, ["spf.lookups-near-limit"])])
def test_near_limit_starts_at_eight(count, expected):
    assert ids(audit(includes(count))) == expected


def test_lookup_counts_are_lower_bounds_when_a_lookup_fails():
    result = audit(
        spf(
            "v=spf1 include:_spf.esp.example include:slow.example.net -all",
            """
_spf.esp.example:
  - TXT: "v=spf1 ip4:192.0.2.0/24 -all"
slow.example.net:
  - TIMEOUT
""",
        )
    )
    assert sorted(ids(result)) == ["dns.lookup-failed", "spf.temperror"]
    assert result.status is SpfStatus.TEMPERROR
    near = audit(
        includes(8).replace(
            "i7.example.net:\n  - TXT: 'v=spf1 ip4:192.0.2.7 -all'", "i7.example.net:\n  - TIMEOUT"
        )
    )
    assert only(near, "spf.lookups-near-limit").message.startswith(
        "SPF needs at least 8 of the 10 DNS lookups"
    )
    assert only(near, "spf.temperror").status is Status.UNKNOWN


# --- spf.void-lookups ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("dead", "severity"), [(1, Severity.WARNING), (2, Severity.WARNING), (3, Severity.ERROR)]
)
def test_void_lookups_warn_then_error(dead, severity):
    terms = " ".join(f"a:gone{n}.example.com" for n in range(dead))
    result = audit(spf(f"v=spf1 {terms} -all"))
    finding = only(result, "spf.void-lookups")
    assert finding.severity is severity
    assert finding.message.startswith(f"{dead} void DNS lookup")
    assert len(finding.evidence) == dead
    assert (result.status is SpfStatus.PERMERROR) == (dead > 2)


def test_void_lookups_count_nodata_and_mx_hosts_but_never_macros():
    result = audit(
        spf(
            "v=spf1 a mx exists:%{i}.nothere.example.com -all",
            """
  - MX: [10, mx.example.com]
mx.example.com:
  - TXT: "not an address"
""",
        )
    )
    finding = only(result, "spf.void-lookups")
    assert finding.message == (
        "2 void DNS lookups (no such name or no records): a → example.com nodata, "
        "mx → mx.example.com nodata; receivers allow 2 before returning permerror"
    )


def test_void_lookups_quiet_when_names_resolve_or_time_out():
    result = audit(
        spf(
            "v=spf1 a:slow.example.com a:host.example.com -all",
            """
slow.example.com:
  - TIMEOUT
host.example.com:
  - A: 192.0.2.1
""",
        )
    )
    assert "spf.void-lookups" not in ids(result)
    assert result.void_lookups == 0


# --- spf.target-no-record ------------------------------------------------------------------


def test_target_no_record_for_a_missing_include():
    result = audit(spf("v=spf1 include:_spf.typo.example -all"))
    finding = only(result, "spf.target-no-record")
    assert finding.subject == TOP
    assert finding.message == (
        "include:_spf.typo.example in example.com: _spf.typo.example "
        "has no SPF record (TXT lookup: NXDOMAIN); receivers return "
        "permerror"
    )
    assert finding.record == "v=spf1 include:_spf.typo.example -all"
    assert sorted(ids(result)) == ["spf.target-no-record", "spf.void-lookups"]
    assert result.status is SpfStatus.PERMERROR


def test_target_no_record_for_a_redirect_to_txt_without_spf():
    result = audit(
        spf(
            "v=spf1 redirect=_spf.example.com",
            """
_spf.example.com:
  - TXT: "some other text"
""",
        )
    )
    finding = only(result, "spf.target-no-record")
    assert "its 1 TXT records do not start with 'v=spf1'" in finding.message
    assert "spf.void-lookups" not in ids(result)
    assert "spf.weak-all" not in ids(result)


def test_target_no_record_quiet_when_the_target_times_out():
    result = audit(spf("v=spf1 include:slow.example.net -all", "slow.example.net:\n  - TIMEOUT"))
    assert "spf.target-no-record" not in ids(result)
    assert only(result, "spf.temperror").status is Status.UNKNOWN
    assert only(result, "dns.lookup-failed").subject == "slow.example.net"


# --- spf.include-loop ----------------------------------------------------------------------


def test_include_loop_on_itself():
    result = audit(spf("v=spf1 include:example.com -all"))
    finding = only(result, "spf.include-loop")
    assert finding.message == (
        "include:example.com in example.com loops back: "
        "example.com → example.com; receivers run out of lookups "
        "(permerror)"
    )
    assert result.status is SpfStatus.PERMERROR


def test_include_loop_through_redirects_is_reported_once():
    result = audit(
        spf(
            "v=spf1 include:a.example.net include:b.example.net -all",
            """
a.example.net:
  - TXT: "v=spf1 redirect=b.example.net"
b.example.net:
  - TXT: "v=spf1 redirect=a.example.net"
""",
        )
    )
    finding = only(result, "spf.include-loop")
    assert finding.subject == "b.example.net"
    assert "example.com → a.example.net → b.example.net → a.example.net" in finding.message


def test_include_loop_quiet_on_a_diamond():
    result = audit(
        spf(
            "v=spf1 include:a.example.net include:b.example.net -all",
            """
a.example.net:
  - TXT: "v=spf1 include:c.example.net -all"
b.example.net:
  - TXT: "v=spf1 include:c.example.net -all"
c.example.net:
  - TXT: "v=spf1 ip4:192.0.2.1 -all"
""",
        )
    )
    assert ids(result) == []
    assert result.lookups == 4


# --- spf.ignored-terms ---------------------------------------------------------------------


def test_ignored_terms_after_all_and_redirect_beside_all():
    result = audit(
        spf("v=spf1 ip4:192.0.2.1 -all include:late.example.net redirect=_spf.example.com")
    )
    finding = only(result, "spf.ignored-terms")
    assert finding.message == (
        "terms after '-all' are never evaluated: include:late.example.net;"
        " 'redirect=_spf.example.com' is ignored because the record has "
        "'-all'"
    )
    assert finding.suggested_record == "v=spf1 ip4:192.0.2.1 include:late.example.net -all"
    assert finding.severity is Severity.WARNING


def test_ignored_terms_quiet_on_exp_after_all():
    assert ids(audit(spf("v=spf1 ip4:192.0.2.1 -all exp=explain.example.com"))) == []


# --- spf.pass-all --------------------------------------------------------------------------


@pytest.mark.parametrize("last", ["all", "+all"])
def test_pass_all_suggests_softfail(last):
    result = audit(spf(f"v=spf1 ip4:192.0.2.0/24 {last}"))
    finding = only(result, "spf.pass-all")
    assert finding.severity is Severity.ERROR
    assert finding.message == f"'{last}' lets every host on the Internet pass SPF for example.com"
    assert finding.suggested_record == "v=spf1 ip4:192.0.2.0/24 ~all"
    assert result.status is SpfStatus.VALID


def test_pass_all_in_an_included_record():
    result = audit(
        spf(
            "v=spf1 include:_spf.esp.example -all",
            """
_spf.esp.example:
  - TXT: "v=spf1 ip4:198.51.100.0/24 +all"
""",
        )
    )
    finding = only(result, "spf.pass-all")
    assert finding.subject == "_spf.esp.example"
    assert "reached through include:_spf.esp.example in example.com" in finding.message


@pytest.mark.parametrize("last", ["-all", "~all"])
def test_pass_all_quiet_on_fail_and_softfail(last):
    assert ids(audit(spf(f"v=spf1 ip4:192.0.2.0/24 {last}"))) == []


# --- spf.weak-all --------------------------------------------------------------------------


def test_weak_all_on_neutral_all():
    finding = only(audit(spf("v=spf1 ip4:192.0.2.0/24 ?all")), "spf.weak-all")
    assert finding.suggested_record == "v=spf1 ip4:192.0.2.0/24 ~all"
    assert finding.severity is Severity.WARNING


def test_weak_all_without_all_or_redirect():
    finding = only(audit(spf("v=spf1 ip4:192.0.2.0/24")), "spf.weak-all")
    assert finding.message == (
        "example.com's record has neither 'all' nor 'redirect': mail "
        "from any other host gets neutral, not fail"
    )
    assert finding.suggested_record == "v=spf1 ip4:192.0.2.0/24 ~all"


def test_weak_all_follows_redirects():
    result = audit(
        spf(
            "v=spf1 redirect=_spf.example.com",
            """
_spf.example.com:
  - TXT: "v=spf1 ip4:192.0.2.0/24 ?all"
""",
        )
    )
    finding = only(result, "spf.weak-all")
    assert finding.subject == "_spf.example.com"
    assert "(the record example.com redirects to)" in finding.message


def test_weak_all_quiet_on_softfail_and_on_includes_ending_neutral():
    result = audit(
        spf(
            "v=spf1 include:_spf.esp.example ~all",
            """
_spf.esp.example:
  - TXT: "v=spf1 ip4:198.51.100.0/24 ?all"
""",
        )
    )
    assert ids(result) == []


# --- spf.ptr-used --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "term",
    ["ptr", "?ptr:example.com", "exists:%{p}.check.example.com", "exists:%{P}.check.example.com"],
)
def test_ptr_used(term):
    finding = only(audit(spf(f"v=spf1 {term} -all")), "spf.ptr-used")
    assert finding.message.startswith(f"{term} uses reverse DNS")


def test_ptr_used_quiet_on_names_that_contain_ptr():
    result = audit(spf("v=spf1 a:ptr.example.com -all", "ptr.example.com:\n  - A: 192.0.2.1"))
    assert ids(result) == []


# --- spf.type99 ----------------------------------------------------------------------------


def test_type99_alongside_txt_is_info():
    result = audit(spf("v=spf1 -all", "  - SPF: 'v=spf1 -all'"))
    finding = only(result, "spf.type99")
    assert finding.severity is Severity.INFO
    assert ids(result) == ["spf.type99"]


def test_type99_only_is_an_error_with_the_txt_to_publish():
    result = audit("""
example.com:
  - TXT: NONE
  - SPF: "v=spf1 ip4:192.0.2.0/24 -all"
""")
    finding = only(result, "spf.type99")
    assert finding.severity is Severity.ERROR and finding.status is Status.FAIL
    assert finding.suggested_record == "v=spf1 ip4:192.0.2.0/24 -all"
    assert sorted(ids(result)) == ["spf.missing", "spf.type99"]


def test_type99_unknown_when_the_txt_lookup_fails():
    result = audit("""
example.com:
  - TXT: NONE
  - SPF: "v=spf1 -all"
  - TIMEOUT
""")
    assert only(result, "spf.type99").status is Status.UNKNOWN
    assert "spf.missing" not in ids(result)


def test_type99_quiet_without_a_type99_record():
    assert ids(audit(spf("v=spf1 -all"))) == []


# --- spf.string-too-long -------------------------------------------------------------------


LONG = "v=spf1 " + " ".join(f"ip4:192.0.2.{n}" for n in range(20)) + " -all"


def test_string_too_long_suggests_split_strings():
    assert len(LONG) > 255
    result = audit(spf(LONG))
    finding = only(result, "spf.string-too-long")
    assert finding.message.startswith(
        f"the SPF record of example.com has a character-string of {len(LONG)} octets"
    )
    assert finding.suggested_record == f'"{LONG[:255]}" "{LONG[255:]}"'
    assert finding.severity is Severity.ERROR


def test_string_too_long_quiet_when_split():
    result = audit(f"example.com:\n  - TXT: ['{LONG[:255]}', '{LONG[255:]}']")
    assert ids(result) == []
    assert result.record == LONG


# --- spf.response-too-large ----------------------------------------------------------------


def verification(count: int) -> str:
    return "".join(f"  - TXT: 'site-verification-{n}={'x' * 90}'\n" for n in range(count))


def test_response_too_large_counts_every_txt_record():
    result = audit(spf("v=spf1 ip4:192.0.2.0/24 -all", verification(5)))
    finding = only(result, "spf.response-too-large")
    assert finding.severity is Severity.WARNING
    assert "(6 TXT records)" in finding.message
    assert len(finding.evidence) == 6


def test_response_too_large_quiet_under_512():
    assert ids(audit(spf("v=spf1 ip4:192.0.2.0/24 -all", verification(3)))) == []


def test_response_size_estimate_matches_the_wire():
    records = [
        TxtRecord((b"v=spf1 ip4:192.0.2.0/24 -all",)),
        TxtRecord((b"a" * 200, b"b" * 100)),
        TxtRecord((b"",)),
    ]
    query = dns.message.make_query("example.com", "TXT", use_edns=False)
    response = dns.message.make_response(query)
    response.answer.append(
        dns.rrset.from_text_list(
            "example.com.",
            300,
            "IN",
            "TXT",
            ['"v=spf1 ip4:192.0.2.0/24 -all"', '"' + "a" * 200 + '" "' + "b" * 100 + '"', '""'],
        )
    )
    assert rules.txt_response_size("example.com", records) == len(response.to_wire())


# --- spf.overly-broad ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("term", "why"),
    [
        ("ip4:192.0.0.0/15", "authorises 131,072 addresses (/15 is wider than /16)"),
        ("ip4:0.0.0.0/0", "(/0 is wider than /16)"),
        ("ip6:2001:db8::/31", "(/31 is wider than /32)"),
        ("ip4:10.1.2.3", "lies in the private or loopback range 10.0.0.0/8"),
        ("ip4:127.0.0.1", "range 127.0.0.0/8"),
        ("ip4:192.168.10.0/24", "range 192.168.0.0/16"),
        ("ip6:::1", "range ::1/128"),
        ("ip6:fd00::/48", "range fc00::/7"),
        ("a/8", "authorises a /8 around every address"),
        ("mx//24", "authorises a /24 around every address"),
    ],
)
def test_overly_broad(term, why):
    extra = "  - A: 192.0.2.1\n  - MX: [10, mx.example.com]\nmx.example.com:\n  - A: 192.0.2.2"
    finding = only(audit(spf(f"v=spf1 {term} -all", extra)), "spf.overly-broad")
    assert finding.message.startswith(term) and why in finding.message


@pytest.mark.parametrize(
    "term", ["ip4:192.0.0.0/16", "ip6:2001:db8::/32", "ip4:203.0.113.7", "-ip4:10.0.0.0/8", "a/24"]
)
def test_overly_broad_quiet(term):
    assert ids(audit(spf(f"v=spf1 {term} -all", "  - A: 192.0.2.1"))) == []


def test_overly_broad_ignores_terms_after_all():
    assert ids(audit(spf("v=spf1 -all ip4:0.0.0.0/0"))) == ["spf.ignored-terms"]


# --- spf.temperror and dns.lookup-failed ---------------------------------------------------


def test_temperror_from_servfail_inside_the_tree():
    result = audit(
        spf(
            "v=spf1 include:_spf.esp.example -all",
            """
_spf.esp.example:
  - TXT: "v=spf1 a:loop1.esp.example -all"
loop1.esp.example:
  - CNAME: loop2.esp.example
loop2.esp.example:
  - CNAME: loop1.esp.example
""",
        )
    )
    temperror = only(result, "spf.temperror")
    assert temperror.message == (
        "SPF could not be evaluated: a:loop1.esp.example in "
        "_spf.esp.example: A loop1.esp.example servfail; receivers "
        "return temperror and may defer or reject mail"
    )
    assert temperror.status is Status.UNKNOWN
    assert temperror.remediation == CATALOG["spf.temperror"].fix
    failed = only(result, "dns.lookup-failed")
    assert failed.subject == "loop1.esp.example"
    assert failed.message.startswith("A lookup for loop1.esp.example failed")
    assert "spf.missing" not in ids(result)
    assert result.status is SpfStatus.TEMPERROR


def test_lookup_failed_once_per_query():
    result = audit(
        spf(
            "v=spf1 a:slow.example.com include:i.example.net -all",
            """
slow.example.com:
  - TIMEOUT
i.example.net:
  - TXT: "v=spf1 a:slow.example.com -all"
""",
        )
    )
    failed = only(result, "dns.lookup-failed")
    assert len(failed.evidence) == 2
    assert len(only(result, "spf.temperror").evidence) == 2


# --- dns.dangling-cname --------------------------------------------------------------------


def test_dangling_cname_include():
    result = audit(
        spf(
            "v=spf1 include:_spf.example.com -all",
            """
_spf.example.com:
  - CNAME: spf.old-esp.example
""",
        )
    )
    finding = only(result, "dns.dangling-cname")
    assert finding.subject == "_spf.example.com"
    assert "is a CNAME to spf.old-esp.example, which does not exist" in finding.message
    assert "CNAME _spf.example.com → spf.old-esp.example" in finding.evidence
    assert sorted(ids(result)) == ["dns.dangling-cname", "spf.target-no-record", "spf.void-lookups"]


def test_dangling_cname_quiet_when_the_alias_resolves():
    result = audit(
        spf(
            "v=spf1 include:_spf.example.com -all",
            """
_spf.example.com:
  - CNAME: spf.esp.example
spf.esp.example:
  - TXT: "v=spf1 ip4:198.51.100.0/24 -all"
""",
        )
    )
    assert ids(result) == []


# --- status ------------------------------------------------------------------------------


def test_findings_carry_record_subject_and_evidence():
    result = audit(spf("v=spf1 ptr ?all"))
    for finding in result.findings:
        assert finding.subject == TOP
        assert finding.record == "v=spf1 ptr ?all"
        assert finding.evidence == ("- record → TXT example.com: records",)
        assert finding.references
