"""The posture audit end to end: the real CLI against a real DNS server on loopback.

One server (module scope) serves every master file in fixtures/posture. Each domain
there has exactly one posture mistake, or none; the tables below say which findings
the audit must report for it, and nothing else. The CLI runs as a subprocess
(``dmarc-audit check --nameserver 127.0.0.1:PORT --format json``) in four batches:

* ``probe``: the default DKIM probe of 27 common selectors, for the domains whose DKIM
  setup is the point, the parked domains, a clean baseline and the two domains whose
  provider does not answer (the 4 s they wait overlaps the probing);
* ``selector``: ``--selector google``, the one selector every other domain publishes.
  It gives the same findings as the probe with 1 DKIM query per domain instead of 27,
  and the loopback server answers only a few hundred queries a second;
* ``explicit``: ``--selector mta2026``, for the two domains that sign with a selector no
  probe list knows;
* ``rfc7489``: the clean domains with a google key again, under ``--dmarc-mode rfc7489``.

The server answers NXDOMAIN for names outside its zones (like the closed world of
fixtures/posture/providers-down.yaml), blackholes spf.down-esp.example and answers
SERVFAIL for spf.servfail-esp.example (two sending providers whose nameservers are
down). Tests that need other failures start their own server.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from dnsserver import DnsServer

from tests.cli_helpers import ROOT, run_cli

POSTURE = ROOT / "fixtures" / "posture"
ZONE_FILES = tuple(sorted(POSTURE.glob("*.zone")))
BLACKHOLE = ("spf.down-esp.example",)
SERVFAIL = ("spf.servfail-esp.example",)
TIMEOUT = "2"
"""Seconds per DNS attempt (the CLI default). The blackholed provider costs two attempts."""
CONCURRENCY = "4"
"""Domains audited at once per run. The loopback server answers a few hundred queries a
second from one thread, and a domain asks up to ~40 questions at once (27 of them DKIM
selector probes): with the default of 32 domains over a thousand UDP queries are in
flight, the socket buffer overflows, and the dropped datagrams come back as timeouts."""
SELECTOR = "mta2026"
PUBLISHED = "google"
"""The selector of every domain outside :data:`PROBED`."""

ERR, WARN, INFO = "error", "warning", "info"
FAIL, UNKNOWN = "fail", "unknown"

Expected = dict[str, tuple[str, str]]
"""check id -> (severity, status); each id once, and no other finding."""

# Parked domains (null MX) get no advice meant for domains that exchange mail: no
# "no DKIM key found", no MTA-STS or TLS-RPT infos (audit.py drops them).
PARKED_INFO: Expected = {}
PROVIDER_DOWN: Expected = {"spf.temperror": (ERR, UNKNOWN), "dns.lookup-failed": (WARN, UNKNOWN)}

MISTAKES: dict[str, Expected] = {
    # SPF
    "spf-pass-all.example": {"spf.pass-all": (ERR, FAIL)},
    "spf-neutral-all.example": {"spf.weak-all": (WARN, FAIL)},
    "spf-too-many.example": {"spf.too-many-lookups": (ERR, FAIL)},
    "spf-void.example": {"spf.void-lookups": (ERR, FAIL)},
    "spf-include-norecord.example": {"spf.target-no-record": (ERR, FAIL)},
    "spf-loop.example": {"spf.include-loop": (ERR, FAIL)},
    "spf-multiple.example": {"spf.multiple-records": (ERR, FAIL)},
    "spf-syntax.example": {"spf.syntax-error": (ERR, FAIL)},
    "spf-ptr.example": {"spf.ptr-used": (WARN, FAIL)},
    "spf-broad.example": {"spf.overly-broad": (ERR, FAIL)},
    "spf-bloated.example": {"spf.response-too-large": (WARN, FAIL)},
    # DMARC
    "dmarc-missing.example": {"dmarc.missing": (ERR, FAIL)},
    "dmarc-none.example": {"dmarc.policy-none": (WARN, FAIL)},
    # pct is also a tag RFC 9989 removed: the info says RFC 9989 receivers ignore it
    "dmarc-pct.example": {"dmarc.pct-partial": (WARN, FAIL), "dmarc.removed-tag": (INFO, FAIL)},
    "dmarc-sp-none.example": {"dmarc.sp-weaker": (WARN, FAIL)},
    "dmarc-invalid-p.example": {"dmarc.p-invalid": (ERR, FAIL)},
    "dmarc-dup-tag.example": {"dmarc.duplicate-tag": (ERR, FAIL)},
    "dmarc-typo-tag.example": {"dmarc.unknown-tag": (INFO, FAIL)},
    # a record at the apex is no record: no DMARC applies to the domain either
    "dmarc-apex.example": {"dmarc.wrong-location": (ERR, FAIL), "dmarc.missing": (ERR, FAIL)},
    # the CNAME target is gone: no DMARC applies to the domain either
    "dmarc-dangling.example": {"dns.dangling-cname": (ERR, FAIL), "dmarc.missing": (ERR, FAIL)},
    "dmarc-rua-external.example": {"dmarc.rua-external-unauthorized": (ERR, FAIL)},
    # the only rua entry is unusable, so no aggregate reports arrive at all
    "dmarc-rua-nomailto.example": {
        "dmarc.rua-invalid-uri": (ERR, FAIL),
        "dmarc.no-rua": (WARN, FAIL),
    },
    # DKIM
    "dkim-1024.example": {"dkim.rsa-1024": (WARN, FAIL)},
    "dkim-512.example": {"dkim.rsa-too-short": (ERR, FAIL)},
    "dkim-revoked.example": {"dkim.key-revoked": (INFO, FAIL)},
    "dkim-testing.example": {"dkim.testing-mode": (WARN, FAIL)},
    "dkim-sha1.example": {"dkim.sha1": (ERR, FAIL)},
    "dkim-badbase64.example": {"dkim.key-invalid": (ERR, FAIL)},
    "dkim-dangling.example": {"dns.dangling-cname": (ERR, FAIL)},
    # MX
    "mx-cname.example": {"mx.target-invalid": (ERR, FAIL)},
    "mx-noaddr.example": {"mx.target-invalid": (ERR, FAIL)},
    "mx-null-mixed.example": {"mx.null-mx-mixed": (ERR, FAIL)},
    "mx-null-unlocked.example": {"mx.null-mx-not-locked": (WARN, FAIL), **PARKED_INFO},
    # nothing at all next to the null MX: SPF and DMARC are missing too (dmarc.missing
    # is lowered to a warning because the domain sends no mail)
    "parked-bare.example": {
        "mx.null-mx-not-locked": (WARN, FAIL),
        "spf.missing": (WARN, FAIL),
        "dmarc.missing": (WARN, FAIL),
        **PARKED_INFO,
    },
    # MTA-STS, TLS-RPT, BIMI
    "mtasts-invalid.example": {"mtasts.record-invalid": (ERR, FAIL)},
    "tlsrpt-invalid.example": {"tlsrpt.invalid": (ERR, FAIL)},
    # BIMI needs enforcement, and p=none is itself worth a warning
    "bimi-pnone.example": {
        "bimi.dmarc-not-enforced": (ERR, FAIL),
        "dmarc.policy-none": (WARN, FAIL),
    },
    # a provider's nameservers fail: could not check, never "missing"
    "esp-timeout.example": PROVIDER_DOWN,
    "esp-servfail.example": PROVIDER_DOWN,
}

CLEAN: dict[str, Expected] = {
    "clean-org.example": {},
    # the audit says where the inherited policy comes from; nothing to fix
    "shop.clean-org.example": {"dmarc.inherited": (INFO, FAIL)},
    "spf-ten.example": {"spf.lookups-near-limit": (WARN, FAIL)},
    "spf-redirect.example": {},
    "split-txt.example": {},
    "np-psd.example": {},
    "ed25519-pair.example": {},
    "ed25519-only.example": {"dkim.ed25519-only": (WARN, FAIL)},
    "dmarc-cname.example": {},
    "parent-org.example": {},
    "eu.parent-org.example": {},
    "rua-authorized.example": {},
    "rua-wildcard.example": {},
    "parked-locked.example": PARKED_INFO,
}
CLEAN_WARNING_ALLOWED = {
    "spf-ten.example": "spf.lookups-near-limit",
    "ed25519-only.example": "dkim.ed25519-only",
}
"""The two clean domains whose point is one (and only one) warning."""

PROBED = {
    "dkim-1024.example",
    "dkim-512.example",
    "dkim-revoked.example",
    "dkim-testing.example",
    "dkim-sha1.example",
    "dkim-badbase64.example",
    "dkim-dangling.example",
    "ed25519-pair.example",
    "ed25519-only.example",
    "dmarc-cname.example",
    "mx-null-unlocked.example",
    "parked-bare.example",
    "parked-locked.example",
    "clean-org.example",
    "esp-timeout.example",
    "esp-servfail.example",
}
"""Audited with the default probe of common DKIM selectors; all others publish a key
at :data:`PUBLISHED` and are audited with ``--selector google``."""
NO_GOOGLE_KEY = {
    "dkim-1024.example",
    "dkim-512.example",
    "dkim-revoked.example",
    "dkim-testing.example",
    "dkim-sha1.example",
    "dkim-badbase64.example",
    "ed25519-pair.example",
    "ed25519-only.example",
    "mx-null-unlocked.example",
    "parked-bare.example",
    "parked-locked.example",
}

EXPLICIT: dict[str, Expected] = {
    "dkim-selector-missing.example": {"dkim.selector-missing": (ERR, FAIL)},
    "custom-selector.example": {},
}
"""Audited with ``--selector mta2026``."""
HANDED_DOWN = {"www.np-psd.example": ("quarantine", "sp"), "ghost.np-psd.example": ("reject", "np")}
"""Subdomains that inherit np-psd.example's policy: (policy, tag it comes from). They run
in the ``explicit`` batch; only their DMARC discovery is checked (they publish nothing)."""

MISSING_IDS = {
    "spf.missing",
    "dmarc.missing",
    "mx.missing",
    "mtasts.missing",
    "tlsrpt.missing",
    "dkim.selector-missing",
    "spf.target-no-record",
    "dkim.no-key-found",
    "dmarc.rua-external-unauthorized",
}
"""Verdicts that say something is absent; a failed lookup must never produce them."""


def check_args(nameserver: str, *extra: str, timeout: str = TIMEOUT) -> list[str]:
    return [
        "check",
        "--no-fetch",  # DNS posture only: the fixtures serve no MTA-STS policy over HTTPS
        "--nameserver",
        nameserver,
        "--format",
        "json",
        "--timeout",
        timeout,
        "--concurrency",
        CONCURRENCY,
        "--no-dnssec",  # the server has no signed root: DNSSEC is tests/test_dnssec.py's
        *extra,
    ]


def by_domain(doc: dict) -> dict[str, dict]:
    return {d["domain"]: d for d in doc["domains"]}


def triples(report: dict) -> list[tuple[str, str, str]]:
    return sorted((f["id"], f["severity"], f["status"]) for f in report["findings"])


def expected_triples(expected: Expected) -> list[tuple[str, str, str]]:
    return sorted((check_id, *value) for check_id, value in expected.items())


def finding(report: dict, check_id: str) -> dict:
    found = [f for f in report["findings"] if f["id"] == check_id]
    assert len(found) == 1, f"{report['domain']}: {check_id} x{len(found)}"
    return found[0]


def audit(
    nameserver: str, domains: list[str], *extra: str, timeout: str = TIMEOUT
) -> dict[str, dict]:
    """Run ``check`` on ``domains`` against ``nameserver``; reports by domain."""
    run = run_cli(*check_args(nameserver, *extra, timeout=timeout), *domains)
    assert run.code in (0, 1), f"exit {run.code}: {run.err}"
    assert "Traceback" not in run.err
    doc = run.json()
    assert doc["input_errors"] == []
    reports = by_domain(doc)
    assert list(reports) == domains  # input order
    return reports


@pytest.fixture(scope="module")
def server() -> Iterator[DnsServer]:
    """One loopback server for the module (the ``dns_server`` factory is per test)."""
    with DnsServer(
        ZONE_FILES, outside="nxdomain", blackhole=BLACKHOLE, servfail=SERVFAIL
    ) as running:
        yield running
    assert not running.errors, f"DNS server failed: {running.errors}"


@pytest.fixture(scope="module")
def runs(server: DnsServer) -> dict[str, dict[str, dict]]:
    """Reports by batch and domain; ``all`` merges ``probe`` and ``selector``.

    The batches run at the same time: at most ~250 queries are in flight, which the
    server answers well within the 2 s timeout.
    """
    domains = [*MISTAKES, *CLEAN]
    batches = {
        # the blackholed provider makes its domain wait 2 x 2 s: start it first
        "probe": (
            sorted((d for d in domains if d in PROBED), key=lambda d: not d.startswith("esp-")),
            (),
        ),
        "selector": ([d for d in domains if d not in PROBED], ("--selector", PUBLISHED)),
        "explicit": ([*EXPLICIT, *HANDED_DOWN], ("--selector", SELECTOR)),
        "rfc7489": (
            [d for d in CLEAN if d not in NO_GOOGLE_KEY],
            ("--dmarc-mode", "rfc7489", "--selector", PUBLISHED),
        ),
    }
    with ThreadPoolExecutor(len(batches)) as pool:
        futures = {
            name: pool.submit(audit, server.nameserver, batch, *extra)
            for name, (batch, extra) in batches.items()
        }
        done = {name: future.result() for name, future in futures.items()}
    return {**done, "all": {**done["probe"], **done["selector"]}}


def test_fixture_keys_are_what_their_markers_say() -> None:
    """scripts/make_posture_keys.py --check: each marked key is of the marked kind."""
    check = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "make_posture_keys.py"), "--check"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (check.returncode, check.stderr) == (0, "")


PROVIDERS = {
    "goodesp.example",
    "crm-suite.example",
    "helpdesk-cloud.example",
    "newsletter-hub.example",
    "payroll-svc.example",
    "loopy-esp.example",
    "moved-esp.example",
    "dmarc-analytics.example",
    "dmarc-vendor.test",
    "wild-reports.test",
    "hosted-dmarc.example",
    "old-dmarc-host.example",
    "old-esp.example",
}
"""Zones of the providers the domains use (not audited themselves)."""


def test_every_fixture_zone_is_a_table_domain_or_a_provider() -> None:
    origins = {p.name.removesuffix(".zone") for p in ZONE_FILES}
    audited = {d for table in (MISTAKES, CLEAN, EXPLICIT) for d in table}
    top = {d for d in audited if d.count(".") == 1}
    assert origins == top | PROVIDERS
    assert not top & PROVIDERS
    assert audited - top == {"shop.clean-org.example", "eu.parent-org.example"}


@pytest.mark.parametrize("domain", list(MISTAKES))
def test_mistake_is_reported_and_nothing_else(runs, domain: str) -> None:
    report = runs["all"][domain]
    assert triples(report) == expected_triples(MISTAKES[domain])


@pytest.mark.parametrize("domain", list(CLEAN))
def test_clean_domain_raises_no_false_alarm(runs, domain: str) -> None:
    report = runs["all"][domain]
    loud = [
        (f["id"], f["severity"])
        for f in report["findings"]
        if f["severity"] in (ERR, WARN) and f["id"] != CLEAN_WARNING_ALLOWED.get(domain)
    ]
    assert loud == []
    assert triples(report) == expected_triples(CLEAN[domain])


@pytest.mark.parametrize("domain", [d for d in CLEAN if d not in NO_GOOGLE_KEY])
def test_clean_domain_is_clean_under_rfc7489_too(runs, domain: str) -> None:
    report = runs["rfc7489"][domain]
    assert report["dmarc"]["mode"] == "rfc7489"
    assert triples(report) == expected_triples(CLEAN[domain])


@pytest.mark.parametrize("domain", list(EXPLICIT))
def test_explicit_selector(runs, domain: str) -> None:
    report = runs["explicit"][domain]
    assert report["dkim"]["explicit"] is True
    assert report["dkim"]["selectors_tried"] == [SELECTOR]
    assert triples(report) == expected_triples(EXPLICIT[domain])


def test_explicit_selector_found_and_missing(runs) -> None:
    found = runs["explicit"]["custom-selector.example"]["dkim"]["results"][0]
    assert (found["status"], found["key_type"], found["bits"]) == ("found", "rsa", 2048)
    missing = finding(runs["explicit"]["dkim-selector-missing.example"], "dkim.selector-missing")
    assert missing["subject"] == f"{SELECTOR}._domainkey.dkim-selector-missing.example"


@pytest.mark.parametrize("domain", list(HANDED_DOWN))
def test_sp_and_np_handed_down(runs, domain: str) -> None:
    """RFC 9989 §4.10.1: an existing subdomain gets sp, a non-existent one np."""
    dmarc = runs["explicit"][domain]["dmarc"]
    assert (dmarc["found_at"], dmarc["record_name"]) == ("organizational", "_dmarc.np-psd.example")
    assert (dmarc["policy"], dmarc["policy_source"]) == HANDED_DOWN[domain]
    assert finding(runs["explicit"][domain], "dmarc.inherited")["severity"] == INFO


def test_provider_dns_failure_is_unknown_never_missing(runs) -> None:
    for domain, provider in (
        ("esp-timeout.example", "spf.down-esp.example"),
        ("esp-servfail.example", "spf.servfail-esp.example"),
    ):
        report = runs["all"][domain]
        assert report["spf"]["status"] == "temperror"
        assert {f["status"] for f in report["findings"]} == {UNKNOWN}
        assert not {f["id"] for f in report["findings"] if f["status"] == FAIL} & MISSING_IDS
        assert finding(report, "dns.lookup-failed")["subject"] == provider
        assert finding(report, "spf.temperror")["subject"] == domain
        step = report["spf"]["trace"][1]
        assert (step["term"], step["void"]) == (f"include:{provider}", False)
    assert runs["all"]["esp-timeout.example"]["spf"]["trace"][1]["outcome"] == "timeout"
    assert runs["all"]["esp-servfail.example"]["spf"]["trace"][1]["outcome"] == "servfail"


def test_the_right_record_is_blamed(runs) -> None:
    reports = runs["all"]
    subjects = {
        ("spf-loop.example", "spf.include-loop"): "_spf2.loopy-esp.example",
        ("spf-include-norecord.example", "spf.target-no-record"): "spf-include-norecord.example",
        ("dmarc-dangling.example", "dns.dangling-cname"): "_dmarc.dmarc-dangling.example",
        ("dkim-dangling.example", "dns.dangling-cname"): "s1._domainkey.dkim-dangling.example",
        ("dkim-512.example", "dkim.rsa-too-short"): "default._domainkey.dkim-512.example",
        ("dkim-revoked.example", "dkim.key-revoked"): "selector1._domainkey.dkim-revoked.example",
        (
            "dmarc-rua-external.example",
            "dmarc.rua-external-unauthorized",
        ): "_dmarc.dmarc-rua-external.example",
        ("mtasts-invalid.example", "mtasts.record-invalid"): "_mta-sts.mtasts-invalid.example",
        ("tlsrpt-invalid.example", "tlsrpt.invalid"): "_smtp._tls.tlsrpt-invalid.example",
        ("mx-cname.example", "mx.target-invalid"): "mx-cname.example",
    }
    for (domain, check_id), subject in subjects.items():
        assert finding(reports[domain], check_id)["subject"] == subject, (domain, check_id)
    assert (
        "mail.mx-cname.example"
        in finding(reports["mx-cname.example"], "mx.target-invalid")["message"]
    )
    assert (
        "mx1.mx-noaddr.example"
        in finding(reports["mx-noaddr.example"], "mx.target-invalid")["message"]
    )


def test_spf_counts(runs) -> None:
    reports = runs["all"]
    assert (
        reports["spf-too-many.example"]["spf"]["lookups"],
        reports["spf-too-many.example"]["spf"]["status"],
    ) == (12, "permerror")
    assert (
        reports["spf-ten.example"]["spf"]["lookups"],
        reports["spf-ten.example"]["spf"]["status"],
    ) == (10, "valid")
    assert (
        reports["spf-void.example"]["spf"]["void_lookups"],
        reports["spf-void.example"]["spf"]["status"],
    ) == (3, "permerror")
    assert reports["spf-redirect.example"]["spf"]["status"] == "valid"
    assert reports["spf-redirect.example"]["spf"]["lookups"] == 2
    split = reports["split-txt.example"]["spf"]
    assert split["record"] == "v=spf1 ip4:203.0.113.143 include:_spf.goodesp.example -all"
    assert reports["spf-loop.example"]["spf"]["status"] == "permerror"


def test_big_txt_answer_came_over_tcp(runs, server: DnsServer) -> None:
    report = runs["all"]["spf-bloated.example"]
    assert report["spf"]["status"] == "valid"
    assert server.count("spf-bloated.example", "TXT", "tcp") >= 1


def test_dkim_keys_as_published(runs) -> None:
    reports = runs["all"]

    def key(domain: str, selector: str) -> tuple:
        result = next(r for r in reports[domain]["dkim"]["results"] if r["selector"] == selector)
        return result["status"], result["key_type"], result["bits"]

    assert key("clean-org.example", "google") == ("found", "rsa", 2048)
    assert key("dkim-1024.example", "selector1") == ("found", "rsa", 1024)
    assert key("dkim-512.example", "default") == ("found", "rsa", 512)
    assert key("ed25519-pair.example", "default")[:2] == ("found", "ed25519")
    assert key("ed25519-pair.example", "selector1") == ("found", "rsa", 2048)
    assert key("dkim-dangling.example", "s1")[0] == "dangling-cname"
    via_cname = next(
        r for r in reports["dmarc-cname.example"]["dkim"]["results"] if r["selector"] == "s1"
    )
    assert via_cname["cname_chain"] == [
        "s1._domainkey.dmarc-cname.example",
        "s1.domainkey.u7001.wl.goodesp.example",
    ]
    assert via_cname["bits"] == 2048


def test_dmarc_policies_as_receivers_apply_them(runs) -> None:
    reports = runs["all"]

    def policy(domain: str) -> tuple:
        dmarc = reports[domain]["dmarc"]
        return dmarc["found_at"], dmarc["policy"], dmarc["policy_source"]

    assert policy("clean-org.example") == ("domain", "reject", "p")
    assert policy("shop.clean-org.example") == ("organizational", "reject", "sp")
    assert reports["shop.clean-org.example"]["dmarc"]["record_name"] == "_dmarc.clean-org.example"
    assert policy("np-psd.example") == ("domain", "reject", "p")
    assert reports["np-psd.example"]["dmarc"]["org_domain"] == "np-psd.example"
    assert policy("dmarc-cname.example") == ("domain", "reject", "p")
    assert policy("split-txt.example") == ("domain", "reject", "p")
    assert policy("eu.parent-org.example") == ("domain", "reject", "p")
    assert reports["eu.parent-org.example"]["dmarc"]["org_domain"] == "parent-org.example"
    assert reports["rua-wildcard.example"]["dmarc"]["rua"] == [
        "mailto:dmarc-reports@rua-wildcard.example",
        "mailto:rua+wildcard@wild-reports.test",
    ]
    assert reports["dmarc-missing.example"]["dmarc"]["status"] == "none"
    assert reports["dmarc-dangling.example"]["dmarc"]["status"] == "none"


@pytest.mark.parametrize("domain", ["mx-null-unlocked.example", "parked-bare.example"])
def test_null_mx_not_locked_suggests_the_parked_trio(runs, domain: str) -> None:
    report = runs["all"][domain]
    assert report["mx"]["status"] == "null"
    suggested = finding(report, "mx.null-mx-not-locked")["suggested_record"]
    assert suggested.splitlines() == [
        f"{domain}. MX 0 .",
        f'{domain}. TXT "v=spf1 -all"',
        f'_dmarc.{domain}. TXT "v=DMARC1; p=reject;"',
    ]


# -- DNS failures: a server that fails for chosen names of clean domains -------------

FAILING = {
    # the domain's own nameservers fail for the apex: SPF, MX (and the apex TXT DMARC reads)
    "servfail": [
        "clean-org.example",
        "_dmarc.parent-org.example",
        "_mta-sts.parent-org.example",
        "mx1.parent-org.example",
        "rua-authorized.example._report._dmarc.reports.dmarc-vendor.test",
    ],
    "blackhole": [
        "_smtp._tls.parent-org.example",
        "google._domainkey.parent-org.example",
        "google._domainkey.shop.clean-org.example",
    ],
}


FAILED_DOMAINS = [
    "clean-org.example",
    "parent-org.example",
    "rua-authorized.example",
    "shop.clean-org.example",
]


@pytest.fixture(scope="module")
def failed_run() -> Iterator[dict[str, dict]]:
    """The clean domains above audited while their nameservers fail for chosen names."""
    with DnsServer(ZONE_FILES, outside="nxdomain", **FAILING) as failing:
        # one DKIM selector per domain keeps the load low enough for a 1 s timeout, so
        # the blackholed names cost 2 s
        yield audit(failing.nameserver, FAILED_DOMAINS, "--selector", PUBLISHED, timeout="1")
    assert not failing.errors, f"DNS server failed: {failing.errors}"


def test_failed_lookups_are_unknown_never_missing(failed_run) -> None:
    reports = failed_run
    for domain, report in reports.items():
        loud = [
            (f["id"], f["status"])
            for f in report["findings"]
            if f["severity"] in (ERR, WARN) and f["status"] != UNKNOWN
        ]
        assert loud == [], domain
        said_missing = {f["id"] for f in report["findings"] if f["status"] == FAIL}
        assert not said_missing & MISSING_IDS, domain
    subjects = {
        (d, f["subject"])
        for d, r in reports.items()
        for f in r["findings"]
        if f["id"] == "dns.lookup-failed" and f["status"] == UNKNOWN
    }
    for name in FAILING["servfail"] + FAILING["blackhole"]:
        if name != "clean-org.example":
            assert any(subject == name for _, subject in subjects), name
    assert ("clean-org.example", "clean-org.example") in subjects
    assert reports["clean-org.example"]["spf"]["status"] == "temperror"
    assert reports["clean-org.example"]["mx"]["status"] == "unknown"
    assert reports["parent-org.example"]["dmarc"]["status"] == "unknown"
    assert reports["parent-org.example"]["mx"]["status"] == "unknown"
    assert reports["shop.clean-org.example"]["dmarc"]["policy"] == "reject"
    for domain in ("parent-org.example", "shop.clean-org.example"):
        (google,) = reports[domain]["dkim"]["results"]
        assert (google["selector"], google["status"]) == (PUBLISHED, "unknown")


# -- product bugs found by these fixtures (fail until the product is fixed) ----------


def test_one_failed_lookup_is_reported_once(failed_run) -> None:
    """Bug: the SPF and the DMARC audit both report the failed apex TXT query.

    dmarc_audit/audit.py ``_dedupe`` means to keep one finding per failed lookup
    ("Several audits may report the same failed lookup; keep one of each") but keys on
    ``(id, subject, message)``, and checks/spf.py ``check_lookup_failed`` ("TXT lookup
    for X failed (servfail); the SPF checks ...") and checks/dmarc.py
    ``check_lookup_failed`` ("X TXT: SERVFAIL (SERVFAIL); the DMARC checks ...") word
    the same question differently, so both stay.
    """
    report = failed_run["clean-org.example"]  # its nameservers SERVFAIL for the apex
    about_apex_txt = [
        f["message"]
        for f in report["findings"]
        if f["id"] == "dns.lookup-failed"
        and f["subject"] == "clean-org.example"
        and re.search(r"\bTXT\b", f["message"])
    ]
    assert len(about_apex_txt) == 1, about_apex_txt


def _policy_of(suggested: str) -> str | None:
    match = re.search(r"(?:^|;)\s*p=(\w+)", suggested)
    return match.group(1) if match else None


def _dmarc_suggestions(report: dict) -> dict[str, str | None]:
    """check id -> the p= of the record it tells the user to publish at _dmarc.<domain>."""
    domain = report["domain"]
    out = {}
    for f in report["findings"]:
        text = f["suggested_record"] or ""
        if f["id"].startswith("dmarc.") and text.startswith("v=DMARC1"):
            out[f["id"]] = _policy_of(text)
        for line in text.splitlines():
            if line.startswith(f"_dmarc.{domain}. TXT "):
                out[f["id"]] = _policy_of(line.split(" TXT ", 1)[1].strip('"'))
    return out


@pytest.mark.parametrize(
    "domain", [d for d in MISTAKES if d.startswith(("dmarc-", "parked-", "mx-null-", "bimi-"))]
)
def test_fixes_for_one_dmarc_record_agree_on_the_policy(runs, domain: str) -> None:
    """Bug (fails for dmarc-apex.example and parked-bare.example): two findings tell the
    user to publish different policies at the same _dmarc name.

    dmarc-apex.example: dmarc.wrong-location says move the apex record (p=reject) to
    _dmarc, while dmarc.missing says publish p=none there: checks/dmarc.py
    ``check_missing`` builds ``suggest_dmarc_record(None, ...)`` and ignores the apex
    record that ``check_wrong_location`` moves.

    parked-bare.example: mx.null-mx-not-locked says p=reject, dmarc.missing says p=none
    "then move to enforcement": audit.py ``audit_domain`` judges the DMARC facts
    without ``sends_mail`` (always True), and ``_non_sending`` only lowers the severity
    of dmarc.missing, not its suggested record and remediation.
    """
    policies = _dmarc_suggestions(runs["all"][domain])
    assert len(set(policies.values())) <= 1, policies


def test_applying_the_suggested_parked_records_gives_a_clean_domain(
    runs, dns_server, tmp_path: Path
) -> None:
    """Bug: publishing exactly the records mx.null-mx-not-locked suggests raises
    dmarc.no-rua (warning).

    checks/parked.py ``PARKED_DMARC = "v=DMARC1; p=reject;"`` has no rua, and
    checks/dmarc.py ``check_no_rua`` warns about every record without one, whether or
    not the domain sends mail (the audit's own fix is flagged on the next run).
    """
    domain = "parked-bare.example"
    trio = finding(runs["all"][domain], "mx.null-mx-not-locked")["suggested_record"]
    zone = tmp_path / f"{domain}.zone"
    zone.write_text(
        f"$ORIGIN {domain}.\n$TTL 3600\n"
        f"@ IN SOA ns1 hostmaster 2026060102 7200 3600 1209600 3600\n"
        f"@ IN NS ns1\nns1 IN A 203.0.113.204\n{trio}\n"
    )
    fixed = dns_server(zone, outside="nxdomain")
    report = audit(fixed.nameserver, [domain])[domain]
    assert report["mx"]["status"] == "null"
    assert not any(f["id"] == "mx.null-mx-not-locked" for f in report["findings"])
    loud = [(f["id"], f["severity"]) for f in report["findings"] if f["severity"] in (ERR, WARN)]
    assert loud == []
    assert Counter(f["severity"] for f in report["findings"]) == Counter()
