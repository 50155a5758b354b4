"""Live DNS and zone files agree: ``check`` and ``spf`` give the same findings whether the
answers come from a real DNS server on loopback (``--nameserver``) or from the same
master files read directly (``--zone``).

Two corpora: the demo zones (fixtures/demo) and the posture fixtures (fixtures/posture).
The server serves every ``*.zone`` file of the corpus and answers NXDOMAIN outside
them; the zone side loads the corpus directory, whose YAML file closes the world the
same way. A provider that fails is blackholed (or answers SERVFAIL) on the server and
marked ``TIMEOUT`` in the YAML file (providers-down.yaml).

Findings are compared as ``(id, severity, status, subject)``; the JSON sections behind
them (SPF tree and trace, DMARC discovery, DKIM lookups, MX, mail records) and the set
of DNS questions asked must match too. Where the two sources legitimately differ, the
difference is asserted exactly:

* the resolver's error text of a failed lookup ("no answer from 127.0.0.1:PORT in 1s"
  against "TIMEOUT in zone data", "SERVFAIL"), in trace notes, DKIM ``detail`` and the
  message and evidence of ``unknown`` findings;
* spf.servfail-esp.example: the server answers SERVFAIL, YAML zone data can only say
  TIMEOUT, so that one question ends in ``servfail`` live and ``timeout`` from zones.

``check`` runs as a subprocess over every domain (a few batches). ``spf`` takes one
domain per run, so it runs in-process through the same entry point
(``dmarc_audit.cli.app.main``) to keep the suite fast, for every demo domain and for the
posture domains whose SPF record is the point (the others all publish the same
``ip4 + include:_spf.goodesp.example -all`` shape; one of them stands for the rest).
Its zone side loads only the master files that hold the names the live run asked, plus
the YAML file: reading all of fixtures/posture takes about half a second a run.
"""

from __future__ import annotations

import contextlib
import copy
import io
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
from dnsserver import DnsServer
from test_posture_e2e import CLEAN, CONCURRENCY, MISTAKES, PROBED, PUBLISHED

from dmarc_audit.cli.app import main
from tests.cli_helpers import DEMO, ROOT, Run, run_cli

POSTURE = ROOT / "fixtures" / "posture"
TIMEOUT = "1"
"""Seconds per attempt for ``check``: a blackholed provider costs 2 s (one retry)."""
SPF_TIMEOUT = "0.3"
"""``spf`` asks a handful of questions at a time, so a short timeout is safe."""


@dataclass(frozen=True)
class Corpus:
    name: str
    directory: Path
    blackhole: tuple[str, ...]
    servfail: tuple[str, ...]
    batches: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...]
    """``(domains, extra check options)`` for each ``check`` run."""
    spf_domains: tuple[str, ...]
    """The domains ``spf`` is compared for."""

    @property
    def zone_files(self) -> list[Path]:
        return sorted(self.directory.glob("*.zone"))

    @property
    def yaml(self) -> Path:
        (path,) = self.directory.glob("*.yaml")
        return path

    @property
    def domains(self) -> list[str]:
        return [d for domains, _ in self.batches for d in domains]


def _demo_domains() -> tuple[str, ...]:
    """Every demo zone's origin; branch.example (its provider is down) first, as it waits."""
    origins = sorted(p.name.removesuffix(".zone") for p in DEMO.glob("*.zone"))
    return tuple(sorted(origins, key=lambda d: d != "branch.example"))


_POSTURE_DOMAINS = [*MISTAKES, *CLEAN]
_POSTURE_SPF = (
    *(d for d in _POSTURE_DOMAINS if d.startswith(("spf-", "esp-", "parked-"))),
    "clean-org.example",
    "shop.clean-org.example",
    "eu.parent-org.example",
    "dmarc-cname.example",
    "split-txt.example",
    "mx-null-unlocked.example",
    "dmarc-none.example",  # stands for the domains with the common SPF shape
)
CORPORA = {
    "demo": Corpus(
        "demo",
        DEMO,
        blackhole=("spf.flaky-provider.example",),
        servfail=(),
        batches=((_demo_domains(), ()),),
        spf_domains=_demo_domains(),
    ),
    "posture": Corpus(
        "posture",
        POSTURE,
        blackhole=("spf.down-esp.example",),
        servfail=("spf.servfail-esp.example",),
        batches=(
            (
                tuple(
                    sorted(
                        (d for d in _POSTURE_DOMAINS if d in PROBED),
                        key=lambda d: not d.startswith("esp-"),
                    )
                ),
                (),
            ),
            (tuple(d for d in _POSTURE_DOMAINS if d not in PROBED), ("--selector", PUBLISHED)),
        ),
        spf_domains=_POSTURE_SPF,
    ),
}
SERVFAIL_ONLY_LIVE = {("spf.servfail-esp.example", "TXT")}
"""Questions the server answers SERVFAIL and the YAML zone data TIMEOUT."""


# -- running the CLI --------------------------------------------------------------


def check(corpus: Corpus, dns: list[str]) -> tuple[dict[str, dict], list[dict]]:
    """``check`` over every batch of the corpus: reports by domain, and the DNS trace."""
    out: dict[str, dict] = {}
    trace: list[dict] = []
    for domains, extra in corpus.batches:
        run = run_cli(
            "check",
            "--no-fetch",  # DNS answers are compared; HTTPS fetches are not DNS
            *dns,
            "--format",
            "json",
            "--timeout",
            TIMEOUT,
            "--concurrency",
            CONCURRENCY,
            "--no-dnssec",  # zone data is never DNSSEC-checked: compare the rest
            *extra,
            *domains,
        )
        assert run.code in (0, 1), run.err
        doc = run.json()
        assert [d["domain"] for d in doc["domains"]] == list(domains)
        out.update({d["domain"]: d for d in doc["domains"]})
        trace.extend(doc["dns"]["trace"])
    return out, trace


def spf_in_process(*argv: str) -> Run:
    """``dmarc-audit spf ...`` through the CLI entry point, in this process."""
    out, err = io.StringIO(), io.StringIO()
    code: int | str | None = 0
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            main(["spf", *argv])
        except SystemExit as exc:
            code = exc.code
    assert isinstance(code, int), (code, err.getvalue())
    return Run(code, out.getvalue(), err.getvalue())


def covering_files(corpus: Corpus, names: set[str]) -> list[Path]:
    """The master files of the corpus that hold ``names`` (longest origin wins)."""
    origins = {p.name.removesuffix(".zone"): p for p in corpus.zone_files}
    files = set()
    for name in names:
        holders = [o for o in origins if name == o or name.endswith("." + o)]
        if holders:
            files.add(origins[max(holders, key=len)])
    return sorted(files)


@dataclass
class Results:
    corpus: Corpus
    live_check: dict[str, dict]
    zone_check: dict[str, dict]
    live_trace: list[dict]
    zone_trace: list[dict]
    live_spf: dict[str, dict]
    zone_spf: dict[str, dict]


@pytest.fixture(scope="module", params=list(CORPORA))
def results(request) -> Iterator[Results]:
    corpus = CORPORA[request.param]
    with DnsServer(
        corpus.zone_files, outside="nxdomain", blackhole=corpus.blackhole, servfail=corpus.servfail
    ) as server:
        live = ["--nameserver", server.nameserver]
        zone = ["--zone", str(corpus.directory), "--offline"]
        with ThreadPoolExecutor(2) as pool:
            live_future = pool.submit(check, corpus, live)
            zone_future = pool.submit(check, corpus, zone)
            (live_check, live_trace), (zone_check, zone_trace) = (
                live_future.result(),
                zone_future.result(),
            )
        live_spf, zone_spf = {}, {}
        for domain in corpus.spf_domains:
            run = spf_in_process(*live, "--timeout", SPF_TIMEOUT, "--format", "json", domain)
            live_spf[domain] = {**run.json(), "exit": run.code}
            asked = {entry["name"] for entry in live_spf[domain]["dns"]["trace"]}
            files = [*covering_files(corpus, asked), corpus.yaml]
            zone_args = [arg for path in files for arg in ("--zone", str(path))]
            run = spf_in_process(*zone_args, "--offline", "--format", "json", domain)
            zone_spf[domain] = {**run.json(), "exit": run.code}
        yield Results(corpus, live_check, zone_check, live_trace, zone_trace, live_spf, zone_spf)
    assert not server.errors, f"DNS server failed: {server.errors}"


# -- comparing ----------------------------------------------------------------------


def keys(findings: list[dict]) -> Counter:
    return Counter((f["id"], f["severity"], f["status"], f["subject"]) for f in findings)


def _normalize_steps(steps: list[dict]) -> None:
    for step in steps:
        if step["outcome"] in ("servfail", "timeout", "refused", "offline"):
            if (step["name"], step["type"]) in SERVFAIL_ONLY_LIVE:
                assert step["outcome"] in ("servfail", "timeout")
                step["outcome"] = "servfail-or-timeout"
            step["note"] = "<resolver error>"


def _normalize_tree(node: dict | None) -> None:
    if node is None:
        return
    if (
        node["outcome"] in ("servfail", "timeout")
        and node["term"]
        and any(node["domain"] == name for name, _ in SERVFAIL_ONLY_LIVE)
    ):
        node["outcome"] = "servfail-or-timeout"
    for child in node["children"]:
        _normalize_tree(child)


def normalized_spf(spf: dict) -> dict:
    spf = copy.deepcopy(spf)
    _normalize_steps(spf["trace"])
    _normalize_tree(spf["tree"])
    return spf


def normalized_sections(report: dict) -> dict:
    """The domain's JSON sections with the resolver's error texts blanked out."""
    out = {key: copy.deepcopy(report[key]) for key in ("dmarc", "dkim", "mx", "mail_records")}
    out["spf"] = normalized_spf(report["spf"]) if report["spf"] is not None else None
    for result in out["dkim"]["results"]:
        if result["status"] == "unknown":
            result["detail"] = "<resolver error>"
    return out


def test_corpus_domains_are_all_audited(results: Results) -> None:
    assert list(results.live_check) == list(results.zone_check) == results.corpus.domains
    assert list(results.live_spf) == list(results.zone_spf) == list(results.corpus.spf_domains)
    assert set(results.corpus.spf_domains) <= set(results.corpus.domains)


def test_check_findings_agree(results: Results) -> None:
    for domain in results.corpus.domains:
        live, zone = results.live_check[domain], results.zone_check[domain]
        assert keys(live["findings"]) == keys(zone["findings"]), domain


def test_check_findings_agree_word_for_word_unless_a_lookup_failed(results: Results) -> None:
    """Every finding that does not carry a resolver error is identical, field by field."""
    for domain in results.corpus.domains:
        live = [f for f in results.live_check[domain]["findings"] if f["status"] == "fail"]
        zone = [f for f in results.zone_check[domain]["findings"] if f["status"] == "fail"]
        assert live == zone, domain


def test_check_sections_agree(results: Results) -> None:
    for domain in results.corpus.domains:
        live = normalized_sections(results.live_check[domain])
        zone = normalized_sections(results.zone_check[domain])
        assert live == zone, domain


def test_same_questions_same_outcomes(results: Results) -> None:
    """Both sources were asked the same questions; only the SERVFAIL one ends differently."""
    live = {(t["name"], t["type"]): t["outcome"] for t in results.live_trace}
    zone = {(t["name"], t["type"]): t["outcome"] for t in results.zone_trace}
    assert set(live) == set(zone)
    differ = {q: (live[q], zone[q]) for q in live if live[q] != zone[q]}
    expected = (
        {q: ("servfail", "timeout") for q in SERVFAIL_ONLY_LIVE} if results.corpus.servfail else {}
    )
    assert differ == expected
    for blackholed in results.corpus.blackhole:
        assert live[(blackholed, "TXT")] == zone[(blackholed, "TXT")] == "timeout"


def test_unknown_findings_carry_each_sources_error(results: Results) -> None:
    """The legitimate difference: the resolver's own words for the failed lookup."""
    for domain in results.corpus.domains:
        for source, report in (
            ("live", results.live_check[domain]),
            ("zone", results.zone_check[domain]),
        ):
            for f in report["findings"]:
                if f["id"] != "dns.lookup-failed" or f["status"] != "unknown":
                    continue
                text = f["message"] + " ".join(f["evidence"])
                if source == "zone":
                    assert "timeout" in text.lower(), (domain, f)
                elif f["subject"] in {name for name, _ in SERVFAIL_ONLY_LIVE}:
                    assert "servfail" in text.lower(), (domain, f)
                else:
                    assert "no answer from 127.0.0.1" in text or "timeout" in text, (domain, f)


def test_spf_findings_agree(results: Results) -> None:
    for domain in results.corpus.spf_domains:
        live, zone = results.live_spf[domain], results.zone_spf[domain]
        assert live["domain"] == zone["domain"] == domain
        assert live["exit"] == zone["exit"], domain
        assert keys(live["findings"]) == keys(zone["findings"]), domain
        assert normalized_spf(live["spf"]) == normalized_spf(zone["spf"]), domain


def test_spf_command_agrees_with_check(results: Results) -> None:
    """What ``spf`` reports about a domain, ``check`` reports too (same source)."""
    for domain in results.corpus.spf_domains:
        for spf_doc, report in (
            (results.live_spf[domain], results.live_check[domain]),
            (results.zone_spf[domain], results.zone_check[domain]),
        ):
            assert not keys(spf_doc["findings"]) - keys(report["findings"]), domain
            assert normalized_spf(spf_doc["spf"]) == normalized_spf(report["spf"]), domain


def test_failing_provider_is_unknown_on_both_sides(results: Results) -> None:
    failing = {
        "demo": ["branch.example"],
        "posture": ["esp-timeout.example", "esp-servfail.example"],
    }
    for domain in failing[results.corpus.name]:
        for report in (
            results.live_check[domain],
            results.zone_check[domain],
            results.live_spf[domain],
            results.zone_spf[domain],
        ):  # all four
            assert report["spf"]["status"] == "temperror", domain
            spf_ids = {
                (f["id"], f["status"])
                for f in report["findings"]
                if f["id"].startswith(("spf.", "dns."))
            }
            assert spf_ids == {("spf.temperror", "unknown"), ("dns.lookup-failed", "unknown")}


def test_the_corpus_is_not_trivial(results: Results) -> None:
    """Guard against an empty comparison: many findings, of many kinds, both ways."""
    found = sum(
        (keys(results.live_check[d]["findings"]) for d in results.corpus.domains), Counter()
    )
    kinds = {key[0] for key in found}
    minimum = {"demo": 6, "posture": 35}[results.corpus.name]
    assert len(kinds) >= minimum, sorted(kinds)
    assert sum(found.values()) >= minimum
