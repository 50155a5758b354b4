"""The SPF walk: RFC 7208 §4.6.4 counts, the lookup trace, the tree and the JSON shape."""

from __future__ import annotations

import asyncio
import json

import yaml

from dmarc_audit.audit import audit_spf
from dmarc_audit.dns.cache import CachingResolver
from dmarc_audit.dns.local import LocalRouter
from dmarc_audit.dns.types import Answer
from dmarc_audit.dns.yamlzone import YamlZoneSource
from dmarc_audit.domains import parse_domain
from dmarc_audit.spf.analyze import (
    WALK_LIMIT,
    expand_domain_spec,
)
from dmarc_audit.spf.facts import LookupStep, SpfAnalysis, SpfStatus


def router(zone: str) -> LocalRouter:
    return LocalRouter([YamlZoneSource(yaml.safe_load(zone))], closed_world=True)


def audit(zone: str, domain: str = "example.com") -> SpfAnalysis:
    return asyncio.run(audit_spf(router(zone), parse_domain(domain)))


def ids(analysis: SpfAnalysis) -> list[str]:
    return [f.id for f in analysis.findings]


def step(number, term, in_record, name, rdtype, outcome, void=False, note=""):
    return LookupStep(number, term, in_record, name, rdtype, outcome, void, note)


TOP = "example.com"
MX_HOST = "address of an MX host; does not count"

NESTED = """
example.com:
  - TXT: "v=spf1 a mx include:_spf.example.net exists:%{i}.ex.example.com redirect=_r.example.com"
  - A: 192.0.2.1
  - MX: [20, mx2.example.com]
  - MX: [10, mx1.example.com]
mx1.example.com:
  - A: 192.0.2.10
mx2.example.com:
  - AAAA: 2001:db8::10
_spf.example.net:
  - TXT: "v=spf1 ptr a:gone.example.net exists:check.example.net include:_inner.example.net ~all"
check.example.net:
  - A: 127.0.0.2
_inner.example.net:
  - TXT: "v=spf1 ip4:198.51.100.0/24 mx:example.net -all"
example.net:
  - MX: [10, mail.example.net]
mail.example.net:
  - A: 198.51.100.5
_r.example.com:
  - TXT: "v=spf1 a:%{d} -all"
"""


def test_nested_tree_counts_every_term_and_shows_each_lookup():
    result = audit(NESTED)
    inc, inner, red = (
        "include:_spf.example.net",
        "include:_inner.example.net",
        "redirect=_r.example.com",
    )
    assert result.steps == (
        step(None, "", "", TOP, "TXT", "records"),
        step(1, "a", TOP, TOP, "A", "records"),
        step(2, "mx", TOP, TOP, "MX", "records"),
        step(None, "mx", TOP, "mx1.example.com", "A", "records", note=MX_HOST),
        step(
            None,
            "mx",
            TOP,
            "mx2.example.com",
            "A",
            "nodata",
            True,
            MX_HOST + "; no A record, only AAAA: void for IPv4 clients only",
        ),
        step(3, inc, TOP, "_spf.example.net", "TXT", "records"),
        step(
            4,
            "ptr",
            "_spf.example.net",
            "",
            "PTR",
            "",
            False,
            "depends on the connecting IP (PTR lookup); not resolved, counts 1; "
            "the names it returns do not count",
        ),
        step(
            5, "a:gone.example.net", "_spf.example.net", "gone.example.net", "A", "nxdomain", True
        ),
        step(
            6, "exists:check.example.net", "_spf.example.net", "check.example.net", "A", "records"
        ),
        step(7, inner, "_spf.example.net", "_inner.example.net", "TXT", "records"),
        step(8, "mx:example.net", "_inner.example.net", "example.net", "MX", "records"),
        step(
            None,
            "mx:example.net",
            "_inner.example.net",
            "mail.example.net",
            "A",
            "records",
            note=MX_HOST,
        ),
        step(
            9,
            "exists:%{i}.ex.example.com",
            TOP,
            "",
            "A",
            "",
            False,
            "depends on the sender (%{i}); not resolved, counts 1",
        ),
        step(10, red, TOP, "_r.example.com", "TXT", "records"),
        step(11, "a:%{d}", "_r.example.com", "_r.example.com", "A", "nodata", True),
    )
    assert (result.lookups, result.void_lookups) == (11, 3)
    assert result.status is SpfStatus.PERMERROR
    tree = result.tree
    assert tree is not None and tree.lookups == 11
    assert [(c.term, c.lookups) for c in tree.children] == [
        ("a", 1),
        ("mx", 1),
        (inc, 6),
        ("exists:%{i}.ex.example.com", 1),
        (red, 2),
    ]
    include = tree.children[2]
    assert (
        include.record == "v=spf1 ptr a:gone.example.net exists:check.example.net "
        "include:_inner.example.net ~all"
    )
    assert [(c.term, c.domain, c.outcome, c.lookups) for c in include.children] == [
        ("ptr", "_spf.example.net", "not-resolved", 1),
        ("a:gone.example.net", "gone.example.net", "nxdomain", 1),
        ("exists:check.example.net", "check.example.net", "records", 1),
        (inner, "_inner.example.net", "records", 2),
    ]
    too_many = next(f for f in result.findings if f.id == "spf.too-many-lookups")
    assert too_many.message == (
        "SPF needs 11 DNS lookups; receivers stop at 10 (permerror); costs: "
        "include:_spf.example.net 6 · redirect=_r.example.com 2 · a 1 · mx 1 · "
        "exists:%{i}.ex.example.com 1"
    )
    assert len(too_many.evidence) == 11 and too_many.evidence[0].startswith("#1 a in ")


def test_terms_after_all_and_redirect_beside_all_are_not_evaluated():
    result = audit("""
example.com:
  - TXT: "v=spf1 ip4:192.0.2.0/24 -all include:late.example.net redirect=r.example.net"
late.example.net:
  - TXT: "v=spf1 -all"
r.example.net:
  - TXT: "v=spf1 -all"
""")
    assert result.lookups == 0
    assert [s.number for s in result.steps] == [None]
    assert ids(result) == ["spf.ignored-terms"]


def test_shared_include_counts_each_time_but_is_fetched_once():
    zone = """
example.com:
  - TXT: "v=spf1 include:a.example.net include:b.example.net -all"
a.example.net:
  - TXT: "v=spf1 include:shared.example.net -all"
b.example.net:
  - TXT: "v=spf1 include:shared.example.net -all"
shared.example.net:
  - TXT: "v=spf1 a:host.example.net -all"
host.example.net:
  - A: 192.0.2.7
"""
    cache = CachingResolver(router(zone))
    result = asyncio.run(audit_spf(cache, parse_domain(TOP)))
    assert result.lookups == 6
    assert [s.name for s in result.steps if s.number] == [
        "a.example.net",
        "shared.example.net",
        "host.example.net",
        "b.example.net",
        "shared.example.net",
        "host.example.net",
    ]
    asked = [(e.name, e.rdtype) for e in cache.trace.entries]
    assert len(asked) == len(set(asked))
    assert sorted(asked) == sorted(
        [
            (TOP, "TXT"),
            (TOP, "SPF"),
            ("a.example.net", "TXT"),
            ("b.example.net", "TXT"),
            ("shared.example.net", "TXT"),
            ("host.example.net", "A"),
        ]
    )
    assert ids(result) == []


class SlowResolver:
    """Answers after a short sleep and records how many questions were in flight at once."""

    def __init__(self, inner: LocalRouter) -> None:
        self.inner = inner
        self.in_flight = 0
        self.peak = 0

    async def query(self, name: str, rdtype: str) -> Answer:
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        await asyncio.sleep(0.01 if "1" in name else 0.002)
        self.in_flight -= 1
        return await self.inner.query(name, rdtype)


def test_lookups_run_concurrently_and_numbering_stays_in_term_order():
    zone = """
example.com:
  - TXT: "v=spf1 include:i1.example.net include:i2.example.net a:h1.example.net mx -all"
  - MX: [10, m1.example.com]
  - MX: [20, m2.example.com]
i1.example.net:
  - TXT: "v=spf1 a:h2.example.net -all"
i2.example.net:
  - TXT: "v=spf1 exists:h1.example.net -all"
h1.example.net:
  - A: 192.0.2.1
h2.example.net:
  - A: 192.0.2.2
m1.example.com:
  - A: 192.0.2.3
m2.example.com:
  - A: 192.0.2.4
"""
    slow = SlowResolver(router(zone))
    result = asyncio.run(audit_spf(slow, parse_domain(TOP)))
    assert slow.peak >= 3
    assert [(s.number, s.term, s.name) for s in result.steps] == [
        (None, "", TOP),
        (1, "include:i1.example.net", "i1.example.net"),
        (2, "a:h2.example.net", "h2.example.net"),
        (3, "include:i2.example.net", "i2.example.net"),
        (4, "exists:h1.example.net", "h1.example.net"),
        (5, "a:h1.example.net", "h1.example.net"),
        (6, "mx", TOP),
        (None, "mx", "m1.example.com"),
        (None, "mx", "m2.example.com"),
    ]


def test_redirect_only_record_is_clean():
    result = audit("""
example.com:
  - TXT: "v=spf1 redirect=_spf.example.com"
_spf.example.com:
  - TXT: "v=spf1 ip4:192.0.2.0/24 ip6:2001:db8::/48 -all"
""")
    assert result.findings == ()
    assert result.status is SpfStatus.VALID
    assert (result.lookups, result.void_lookups) == (1, 0)


def test_txt_split_mid_token_is_joined_without_separator():
    result = audit("""
example.com:
  - TXT: ["v=spf1 ip4:192.0.2.0/24 inc", "lude:_spf.example.net -all"]
_spf.example.net:
  - TXT: "v=spf1 ip4:198.51.100.0/24 -all"
""")
    assert result.record == "v=spf1 ip4:192.0.2.0/24 include:_spf.example.net -all"
    assert result.findings == ()
    assert result.lookups == 1


def test_exactly_ten_lookups_only_warns_near_limit():
    result = audit("""
example.com:
  - TXT: "v=spf1 a include:a.example.net include:b.example.net mx -all"
  - A: 192.0.2.1
  - MX: [10, mx.example.com]
mx.example.com:
  - A: 192.0.2.2
a.example.net:
  - TXT: "v=spf1 include:a1.example.net include:a2.example.net include:a3.example.net ~all"
a1.example.net:
  - TXT: "v=spf1 ip4:192.0.2.0/26 -all"
a2.example.net:
  - TXT: "v=spf1 ip4:192.0.2.64/26 -all"
a3.example.net:
  - TXT: "v=spf1 ip4:192.0.2.128/26 -all"
b.example.net:
  - TXT: "v=spf1 a:host.example.net include:b1.example.net -all"
host.example.net:
  - A: 198.51.100.1
b1.example.net:
  - TXT: "v=spf1 exists:ok.example.net ip6:2001:db8::/48 -all"
ok.example.net:
  - A: 127.0.0.2
""")
    assert result.lookups == 10
    assert ids(result) == ["spf.lookups-near-limit"]
    assert result.status is SpfStatus.VALID


def test_mx_with_more_than_ten_names_looks_up_ten_and_is_permerror():
    hosts = "\n".join(f"  - MX: [{i}, mx{i:02}.example.com]" for i in range(12))
    addresses = "\n".join(f"mx{i:02}.example.com:\n  - A: 192.0.2.{i + 1}" for i in range(12))
    result = audit(f"""
example.com:
  - TXT: "v=spf1 mx -all"
{hosts}
{addresses}
""")
    assert result.lookups == 1
    assert [s.name for s in result.steps if s.number is None and s.rdtype == "A"] == [
        f"mx{i:02}.example.com" for i in range(10)
    ]
    assert result.steps[1].note.startswith("12 MX names, receivers allow 10")
    finding = next(f for f in result.findings if f.id == "spf.too-many-lookups")
    assert "has 12 MX names; receivers allow 10" in finding.message
    assert result.status is SpfStatus.PERMERROR


def test_percent_d_is_expanded_and_sender_macros_are_not():
    result = audit(
        """
mail.example.com:
  - TXT: "v=spf1 include:_spf.%{d2} exists:%{l}.%{ir}.x.example.com a:%{d}  -all"
  - A: 192.0.2.1
_spf.example.com:
  - TXT: "v=spf1 -all"
""",
        "mail.example.com",
    )
    assert [(s.number, s.name, s.note) for s in result.steps[1:]] == [
        (1, "_spf.example.com", ""),
        (2, "", "depends on the sender (%{l}, %{ir}); not resolved, counts 1"),
        (3, "mail.example.com", ""),
    ]
    assert result.void_lookups == 0


def test_expand_domain_spec_transformers():
    assert expand_domain_spec("%{d}", "a.b.example.com") == ("a.b.example.com", ())
    assert expand_domain_spec("%{d2}", "a.b.example.com") == ("example.com", ())
    assert expand_domain_spec("%{dr}", "a.b.example.com") == ("com.example.b.a", ())
    assert expand_domain_spec("%{d1r}.x.example", "a.b.example.com") == ("a.x.example", ())
    assert expand_domain_spec("%{d}.%%", "a.example") == ("a.example.%", ())
    assert expand_domain_spec("%{s}.%{d}", "a.example") == (None, ("%{s}",))
    long_label = "l" * 60
    name, _ = expand_domain_spec(
        f"{long_label}.{long_label}.%{{d}}", ".".join([long_label] * 3) + ".example"
    )
    assert name is not None and len(name) <= 253 and name.endswith(".example")


def test_loop_counts_once_and_stops():
    result = audit("""
example.com:
  - TXT: "v=spf1 include:a.example.net -all"
a.example.net:
  - TXT: "v=spf1 redirect=b.example.net"
b.example.net:
  - TXT: "v=spf1 include:a.example.net"
""")
    assert [(s.number, s.term, s.note) for s in result.steps[1:]] == [
        (1, "include:a.example.net", ""),
        (2, "redirect=b.example.net", ""),
        (
            3,
            "include:a.example.net",
            "loop: example.com → a.example.net → b.example.net → a.example.net",
        ),
    ]
    assert result.tree is not None
    assert result.tree.children[0].children[0].children[0].outcome == "loop"


def test_syntax_error_keeps_the_partial_parse_and_walks_it():
    result = audit("""
example.com:
  - TXT: "v=spf1 include:_spf.example.net foo:bar ip4:192.0.2.300 -all"
_spf.example.net:
  - TXT: "v=spf1 -all"
""")
    assert result.status is SpfStatus.PERMERROR
    assert result.record == "v=spf1 include:_spf.example.net foo:bar ip4:192.0.2.300 -all"
    assert result.lookups == 1
    assert result.tree is not None and result.tree.children[0].outcome == "records"


def test_broken_dns_term_counts_but_is_not_resolved():
    result = audit("""
example.com:
  - TXT: "v=spf1 include:nodots -all"
""")
    assert result.steps[1] == step(
        1, "include:nodots", TOP, "", "TXT", "", False, "syntax error; not resolved, counts 1"
    )
    assert ids(result) == ["spf.syntax-error"]


def test_walk_stops_resolving_after_the_limit():
    # each level includes the next twice: 2**14 evaluations without a limit
    levels = "\n".join(
        f'l{i}.example.net:\n  - TXT: "v=spf1 include:l{i + 1}.example.net '
        f'include:l{i + 1}.example.net -all"'
        for i in range(14)
    )
    result = audit(f"""
example.com:
  - TXT: "v=spf1 include:l0.example.net -all"
{levels}
l14.example.net:
  - TXT: "v=spf1 -all"
""")
    assert WALK_LIMIT < result.lookups < 2 * WALK_LIMIT
    assert any("resolves at most" in s.note for s in result.steps)
    finding = next(f for f in result.findings if f.id == "spf.too-many-lookups")
    assert finding.message.startswith(f"SPF needs at least {result.lookups} DNS lookups")


def test_temperror_inside_the_tree_is_traced():
    result = audit("""
example.com:
  - TXT: "v=spf1 include:slow.example.net a -all"
  - A: 192.0.2.1
slow.example.net:
  - TIMEOUT
""")
    assert result.status is SpfStatus.TEMPERROR
    assert result.steps[1] == step(
        1,
        "include:slow.example.net",
        TOP,
        "slow.example.net",
        "TXT",
        "timeout",
        False,
        "TIMEOUT in zone data",
    )
    assert result.steps[1].failed
    assert result.lookups == 2 and result.void_lookups == 0


def test_statuses():
    assert audit("example.com:\n  - TXT: 'v=spf1 -all'").status is SpfStatus.VALID
    assert audit("example.com:\n  - TXT: 'hello'").status is SpfStatus.NONE
    assert audit("example.net:\n  - TXT: 'v=spf1 -all'").status is SpfStatus.NONE
    assert audit("example.com:\n  - TIMEOUT").status is SpfStatus.TEMPERROR
    assert (
        audit("example.com:\n  - TXT: 'v=spf1 -all'\n  - TXT: 'v=spf1 ~all'").status
        is SpfStatus.PERMERROR
    )


def test_domain_is_normalised():
    result = audit("example.com:\n  - TXT: 'v=spf1 -all'", "Example.COM.")
    assert result.domain == TOP and result.record == "v=spf1 -all"


def test_json_shape():
    result = audit(NESTED)
    data = json.loads(json.dumps(result.to_json()))
    assert list(data) == ["record", "lookups", "void_lookups", "status", "trace", "tree"]
    assert data["status"] == "permerror"
    assert data["trace"][1] == {
        "number": 1,
        "term": "a",
        "in_record": TOP,
        "name": TOP,
        "type": "A",
        "outcome": "records",
        "void": False,
        "note": "",
    }
    assert len(data["trace"]) == len(result.steps)
    assert data["tree"]["lookups"] == 11
    assert set(data["tree"]) == {"domain", "term", "record", "outcome", "lookups", "children"}
    missing = audit("example.net:\n  - TXT: 'v=spf1 -all'").to_json()
    assert missing["record"] is None and missing["tree"] is None


def test_step_describe():
    assert step(
        3, "include:x.example", TOP, "x.example", "TXT", "nxdomain", True, "no SPF record"
    ).describe() == (
        "#3 include:x.example in example.com → TXT x.example: nxdomain (void); no SPF record"
    )
    assert (
        step(None, "", "", TOP, "TXT", "records").describe()
        == "- record → TXT example.com: records"
    )
    unresolved = step(4, "ptr", TOP, "", "PTR", "", False, "why")
    assert unresolved.describe() == "#4 ptr in example.com: why"
