"""The CI-facing renderers (sarif, junit, github, markdown, csv) and the registry.

Golden files live in tests/golden/. After an intended change of output, rewrite them
with ``UPDATE_GOLDEN=1 pytest tests/test_output_formats.py`` and review the diff. Two
data sets: hand-built findings that exercise escaping and every status (no zone
files), and the real audit of fixtures/demo with zone-file locations.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import os
from collections.abc import Sequence
from pathlib import Path

import jsonschema
import pytest
from junitparser import Error, Failure, JUnitXml, Skipped

from dmarc_audit.audit import audit_domains
from dmarc_audit.catalog import CATALOG, finding
from dmarc_audit.dns.setup import DnsOptions, build_resolver
from dmarc_audit.dns.zonelines import ZoneLineIndex
from dmarc_audit.domains import parse_domain
from dmarc_audit.filters import GatedReport
from dmarc_audit.findings import Severity, Status
from dmarc_audit.output.context import RenderContext
from dmarc_audit.output.csv_output import COLUMNS
from dmarc_audit.output.formats import RenderFormat
from dmarc_audit.output.github import escape_data, escape_property
from dmarc_audit.output.markdown import code_block, code_span
from dmarc_audit.output.markdown import escape as md_escape
from dmarc_audit.output.render import RENDERERS
from dmarc_audit.report import AuditOptions, DomainReport

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = Path(__file__).parent / "golden"
SCHEMA = Path(__file__).parent / "data" / "sarif-schema-2.1.0.json"
VERSION = "0.0.0-test"
"""Fixed so that the golden files do not change with each release."""
DEMO_DOMAINS = (
    "northwind.example",
    "branch.example",
    "franchise.example",
    "oldshop.example",
    "crm.example",
)
INPUT_ERROR = "invalid domain name 'bad..name': empty label"
EXTENSIONS = {
    RenderFormat.SARIF: "sarif.json",
    RenderFormat.JUNIT: "junit.xml",
    RenderFormat.GITHUB: "github.txt",
    RenderFormat.MARKDOWN: "md",
    RenderFormat.CSV: "csv",
}


# -- data --------------------------------------------------------------------------------


def synthetic_reports() -> list[DomainReport]:
    """Fixed findings: every severity and status, text that needs escaping, an IDN."""
    shop = parse_domain("shop.example")
    idn = parse_domain("bücher.example")
    shop_findings = (
        finding(
            "spf.too-many-lookups",
            "shop.example",
            "SPF needs 12 DNS lookups; receivers stop at 10 (permerror)",
            record="v=spf1 include:a.example include:b.example -all",
            evidence=(
                "#1 include:a.example in shop.example → TXT a.example: records",
                "#2 include:b.example in shop.example → TXT b.example: records",
            ),
        ),
        finding(
            "spf.temperror",
            "shop.example",
            "SPF could not be evaluated: TXT b.example timeout",
            status=Status.UNKNOWN,
            record="v=spf1 include:b.example -all",
        ),
        finding(
            "dmarc.policy-none",
            "_dmarc.shop.example",
            'p=none | pipes, commas; 100% "quotes" <tags> *stars* `ticks` _under_',
            record="v=DMARC1; p=none; rua=mailto:d@shop.example",
            suggested_record='_dmarc.shop.example. IN TXT "v=DMARC1; p=quarantine"\n'
            'shop.example. IN TXT "v=spf1 -all"',
        ),
        finding(
            "dns.lookup-failed",
            "s1._domainkey.shop.example",
            "TXT lookup for s1._domainkey.shop.example failed (timeout)",
            status=Status.UNKNOWN,
        ),
        finding(
            "mtasts.missing",
            "_mta-sts.shop.example",
            "line one\r\nline two: a colon, a comma\n- and a dash",
        ),
    )
    return [
        DomainReport(shop, shop_findings),
        DomainReport(
            idn,
            (
                finding(
                    "dmarc.missing",
                    idn.ascii,
                    f"no DMARC record for {idn.ascii}",
                    suggested_record="v=DMARC1; p=none",
                ),
            ),
        ),
        DomainReport(parse_domain("clean.example"), ()),
    ]


@pytest.fixture(scope="module")
def demo() -> tuple[list[DomainReport], ZoneLineIndex]:
    """The real audit of fixtures/demo (offline), and the index of its zone files."""
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(ROOT)
        resolver = build_resolver(DnsOptions(zones=("fixtures/demo",), offline=True))
        domains = [parse_domain(d) for d in DEMO_DOMAINS]
        reports = asyncio.run(audit_domains(resolver, domains, AuditOptions(fetch=False)))
        index = ZoneLineIndex.from_zone_args(["fixtures/demo"])
    return reports, index


def datasets(
    demo_data: tuple[list[DomainReport], ZoneLineIndex], name: str
) -> tuple[list[DomainReport], RenderContext]:
    if name == "synthetic":
        return synthetic_reports(), RenderContext(VERSION, input_errors=(INPUT_ERROR,))
    reports, index = demo_data
    return reports, RenderContext(VERSION, zone_index=index, input_errors=(INPUT_ERROR,))


def render(fmt: RenderFormat, reports: Sequence[DomainReport], context: RenderContext) -> str:
    """Every renderer takes gated reports: here nothing is baselined or suppressed."""
    return RENDERERS[fmt]([GatedReport(r) for r in reports], context)


# -- the registry ----------------------------------------------------------------------


def test_every_format_has_a_renderer() -> None:
    assert set(RENDERERS) == set(RenderFormat)
    context = RenderContext(VERSION)
    for fmt in RenderFormat:
        assert isinstance(render(fmt, synthetic_reports(), context), str), fmt
        assert isinstance(render(fmt, [], context), str), fmt


def test_format_values_are_the_cli_names() -> None:
    assert [f.value for f in RenderFormat] == [
        "text",
        "json",
        "sarif",
        "junit",
        "github",
        "markdown",
        "csv",
    ]


def test_text_adapter_has_no_colour_codes() -> None:
    out = render(RenderFormat.TEXT, synthetic_reports(), RenderContext(VERSION))
    assert "\x1b[" not in out
    assert "shop.example" in out and "spf.too-many-lookups" in out
    assert "clean.example" in out and "no problems found" in out
    assert "bücher.example (xn--bcher-kva.example)" in out


def test_json_adapter_builds_the_check_document() -> None:
    reports = synthetic_reports()
    dns = {"queries": 3, "cache_hits": 1, "trace": []}
    document = json.loads(
        render(RenderFormat.JSON, reports, RenderContext(VERSION, input_errors=("bad",), dns=dns))
    )
    assert list(document) == [
        "schema_version",
        "schema_minor",
        "domains",
        "input_errors",
        "dns",
        "suppressed",
    ]
    expected = [r.to_json() for r in reports]
    for domain in expected:
        for item in domain["findings"]:
            item["baselined"] = False
    assert document["domains"] == expected
    assert document["suppressed"] == []
    assert document["input_errors"] == ["bad"] and document["dns"] == dns
    bare = json.loads(render(RenderFormat.JSON, reports, RenderContext(VERSION)))
    assert bare["dns"] is None


# -- golden files ----------------------------------------------------------------------


@pytest.mark.parametrize("dataset", ["synthetic", "demo"])
@pytest.mark.parametrize("fmt", list(EXTENSIONS), ids=lambda f: f.value)
def test_golden(fmt: RenderFormat, dataset: str, demo) -> None:
    reports, context = datasets(demo, dataset)
    output = render(fmt, reports, context)
    path = GOLDEN / f"{dataset}.{EXTENSIONS[fmt]}"
    if os.environ.get("UPDATE_GOLDEN") == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(output.encode("utf-8"))
    assert path.exists(), f"no golden file {path}: run with UPDATE_GOLDEN=1"
    assert output == path.read_bytes().decode("utf-8")


# -- sarif -----------------------------------------------------------------------------


@pytest.mark.parametrize("dataset", ["synthetic", "demo"])
def test_sarif_is_valid_against_the_schema(dataset: str, demo) -> None:
    reports, context = datasets(demo, dataset)
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    validator = jsonschema.Draft4Validator(schema, format_checker=jsonschema.FormatChecker())
    log = json.loads(render(RenderFormat.SARIF, reports, context))
    errors = sorted(validator.iter_errors(log), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors[:5])


def _line_of(path: str, text: str) -> int:
    lines = (ROOT / path).read_text(encoding="utf-8").splitlines()
    return next(n for n, line in enumerate(lines, 1) if text in line)


def _results(log: dict) -> dict[tuple[str, str], dict]:
    return {(r["properties"]["domain"], r["ruleId"]): r for r in log["runs"][0]["results"]}


def test_sarif_results_point_at_the_zone_line(demo) -> None:
    reports, context = datasets(demo, "demo")
    results = _results(json.loads(render(RenderFormat.SARIF, reports, context)))

    def where(domain: str, rule: str) -> tuple[str, int]:
        physical = results[(domain, rule)]["locations"][0]["physicalLocation"]
        return physical["artifactLocation"]["uri"], physical["region"]["startLine"]

    franchise = "fixtures/demo/franchise.example.zone"
    assert where("franchise.example", "spf.too-many-lookups") == (
        franchise,
        _line_of(franchise, '@       IN TXT "v=spf1 a mx'),
    )
    assert where("franchise.example", "dmarc.policy-none") == (
        franchise,
        _line_of(franchise, "_dmarc"),
    )
    oldshop = "fixtures/demo/oldshop.example.zone"
    assert where("oldshop.example", "dkim.rsa-1024") == (
        oldshop,
        _line_of(oldshop, "default._domainkey"),
    )
    branch = "fixtures/demo/branch.example.zone"
    # the failed lookup is of the provider's name; the record that asked for it is here
    assert where("branch.example", "dns.lookup-failed") == (branch, _line_of(branch, "v=spf1"))
    crm = "fixtures/demo/crm.example.zone"
    assert where("crm.example", "dmarc.missing") == (crm, _line_of(crm, "SOA"))


def test_sarif_without_zone_files_uses_logical_locations() -> None:
    log = json.loads(render(RenderFormat.SARIF, synthetic_reports(), RenderContext(VERSION)))
    for result in log["runs"][0]["results"]:
        (location,) = result["locations"]
        assert "physicalLocation" not in location
        assert location["logicalLocations"][0]["name"] == result["properties"]["subject"]


def test_sarif_rules_come_from_the_catalog() -> None:
    log = json.loads(render(RenderFormat.SARIF, synthetic_reports(), RenderContext(VERSION)))
    run = log["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    assert run["tool"]["driver"]["version"] == VERSION
    assert len({r["id"] for r in rules}) == len(rules)
    levels = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}
    for rule in rules:
        info = CATALOG[rule["id"]]
        assert rule["shortDescription"]["text"] == info.title
        assert rule["fullDescription"]["text"] == info.why
        assert info.fix in rule["help"]["text"]
        assert all(ref in rule["help"]["text"] for ref in info.references)
        assert rule["defaultConfiguration"]["level"] == levels[info.severity]
    for result in run["results"]:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]


def test_sarif_unknown_findings_are_visible() -> None:
    log = json.loads(render(RenderFormat.SARIF, synthetic_reports(), RenderContext(VERSION)))
    results = _results(log)
    unknown = results[("shop.example", "spf.temperror")]
    assert unknown["kind"] == "review" and unknown["level"] == "none"
    assert unknown["message"]["text"].startswith("could not check: ")
    assert unknown["properties"]["status"] == "unknown"
    assert unknown["properties"]["severity"] == "error"
    failed = results[("shop.example", "spf.too-many-lookups")]
    assert failed["kind"] == "fail" and failed["level"] == "error"
    assert results[("shop.example", "mtasts.missing")]["level"] == "note"


def test_sarif_input_errors_are_notifications() -> None:
    log = json.loads(render(RenderFormat.SARIF, [], RenderContext(VERSION, input_errors=("bad",))))
    (invocation,) = log["runs"][0]["invocations"]
    assert invocation["executionSuccessful"] is False
    assert invocation["toolExecutionNotifications"][0]["message"]["text"] == "bad"
    clean = json.loads(render(RenderFormat.SARIF, [], RenderContext(VERSION)))
    assert clean["runs"][0]["invocations"] == [{"executionSuccessful": True}]


# -- junit -----------------------------------------------------------------------------


def _junit(reports: Sequence[DomainReport], context: RenderContext) -> JUnitXml:
    return JUnitXml.fromstring(render(RenderFormat.JUNIT, reports, context).encode("utf-8"))


def _cases(xml: JUnitXml) -> dict[tuple[str, str], object]:
    return {(suite.name, case.name): case for suite in xml for case in suite}


def test_junit_parses_and_counts() -> None:
    xml = _junit(synthetic_reports(), RenderContext(VERSION, input_errors=(INPUT_ERROR,)))
    suites = {suite.name: suite for suite in xml}
    assert list(suites) == ["shop.example", "xn--bcher-kva.example", "clean.example", "input"]
    shop = suites["shop.example"]
    assert (shop.tests, shop.failures, shop.errors, shop.skipped) == (5, 1, 0, 2)
    assert (xml.tests, xml.failures, xml.errors, xml.skipped) == (7, 2, 1, 2)
    assert suites["clean.example"].tests == 0  # hand-built: no area was audited
    (input_case,) = list(suites["input"])
    assert isinstance(input_case.result[0], Error)
    assert input_case.result[0].message == INPUT_ERROR


def test_junit_failures_carry_the_message_and_the_fix() -> None:
    cases = _cases(_junit(synthetic_reports(), RenderContext(VERSION)))
    case = cases[("shop.example", "spf.too-many-lookups")]
    assert case.classname == "shop.example.spf"
    (failure,) = case.result
    assert isinstance(failure, Failure)
    assert failure.message == "SPF needs 12 DNS lookups; receivers stop at 10 (permerror)"
    assert failure.type == "spf.too-many-lookups"
    assert CATALOG["spf.too-many-lookups"].fix in failure.text
    assert "#2 include:b.example" in failure.text
    idn = cases[("xn--bcher-kva.example", "dmarc.missing")]
    assert "publish: v=DMARC1; p=none" in idn.result[0].text


def test_junit_outcome_follows_fail_on() -> None:
    default = _cases(_junit(synthetic_reports(), RenderContext(VERSION)))
    temperror = default[("shop.example", "spf.temperror")].result[0]
    assert isinstance(
        temperror, Skipped
    )  # could not check: never a failure (exit 3 only with --strict)
    assert temperror.message.startswith("could not check: ")
    lookup = default[("shop.example", "dns.lookup-failed")].result[0]
    assert isinstance(lookup, Skipped) and lookup.message.startswith("could not check: ")
    warning = default[("shop.example", "dmarc.policy-none")]
    assert warning.is_passed and "p=none | pipes" in warning.system_out
    strict = _cases(_junit(synthetic_reports(), RenderContext(VERSION, fail_on="warning")))
    assert isinstance(strict[("shop.example", "dmarc.policy-none")].result[0], Failure)
    assert isinstance(strict[("shop.example", "dns.lookup-failed")].result[0], Skipped)
    never = _junit(synthetic_reports(), RenderContext(VERSION, fail_on="never"))
    assert (never.failures, never.errors, never.skipped) == (0, 0, 2)


def test_junit_passing_case_per_clean_area(demo) -> None:
    reports, context = datasets(demo, "demo")
    cases = _cases(_junit(reports, context))
    northwind = sorted(name for suite, name in cases if suite == "northwind.example")
    assert northwind == ["dkim", "dmarc", "mail-records", "mx", "spf"]
    assert all(cases[("northwind.example", n)].is_passed for n in northwind)
    franchise = {name for suite, name in cases if suite == "franchise.example"}
    assert "spf" not in franchise and "spf.too-many-lookups" in franchise
    assert {"mx"} <= franchise
    # a failed lookup made by the SPF audit belongs to the spf area
    assert cases[("branch.example", "dns.lookup-failed")].classname == "branch.example.spf"


def test_junit_escapes_control_characters() -> None:
    report = DomainReport(
        parse_domain("ctl.example"),
        (
            finding(
                "spf.syntax-error",
                "ctl.example",
                "bad octet \x01 in record",
                record="v=spf1 \x07 -all",
            ),
        ),
    )
    xml = _junit([report], RenderContext(VERSION))
    (case,) = list(next(iter(xml)))
    assert case.result[0].message == "bad octet \\x01 in record"


# -- github ----------------------------------------------------------------------------


def test_github_escaping() -> None:
    assert escape_data("100%\r\nnext") == "100%25%0D%0Anext"
    assert escape_property("a:b,c%\n") == "a%3Ab%2Cc%25%0A"


def test_github_one_annotation_per_finding() -> None:
    reports = synthetic_reports()
    out = render(RenderFormat.GITHUB, reports, RenderContext(VERSION, input_errors=("x, y",)))
    lines = out.splitlines()
    assert len(lines) == sum(len(r.findings) for r in reports) + 1
    assert all(line.startswith(("::error ", "::warning ", "::notice ")) for line in lines)
    assert not any("file=" in line for line in lines)
    assert lines[0].startswith("::error title=spf.too-many-lookups (shop.example)::SPF needs")
    mta = next(line for line in lines if "mtasts.missing" in line)
    assert mta.startswith("::notice ")
    assert "line one%0D%0Aline two: a colon, a comma%0A- and a dash" in mta
    unknown = next(line for line in lines if "spf.temperror" in line)
    assert unknown.startswith("::notice ") and "::could not check: " in unknown
    assert lines[-1] == "::error title=dmarc-audit%3A input error::x, y"


def test_github_annotations_with_zone_lines(demo) -> None:
    reports, context = datasets(demo, "demo")
    lines = render(RenderFormat.GITHUB, reports, context).splitlines()
    path = "fixtures/demo/oldshop.example.zone"
    line = _line_of(path, "+all")
    assert any(
        entry.startswith(f"::error file={path},line={line},title=spf.pass-all") for entry in lines
    )


# -- markdown --------------------------------------------------------------------------


def test_markdown_table_and_escaping() -> None:
    out = render(RenderFormat.MARKDOWN, synthetic_reports(), RenderContext(VERSION))
    table = [line for line in out.splitlines() if line.startswith("| ")]
    assert len(table) == 2 + 3
    assert table[2] == "| shop.example | — | — | — | — | 2 | 2 | 1 |"
    assert "bücher.example (xn--bcher-kva.example)" in table[3]
    assert "p=none \\| pipes" in out and "\\<tags\\>" in out and "\\*stars\\*" in out
    assert '```text\n_dmarc.shop.example. IN TXT "v=DMARC1; p=quarantine"\n' in out
    assert "### clean.example" not in out


def test_markdown_code_survives_backticks() -> None:
    assert code_span("a`b") == "``a`b``"
    assert code_span("`x`") == "`` `x` ``"
    assert code_block("```\nx") == "````text\n```\nx\n````"
    assert md_escape("- item\n1. a|b") == "- item<br>1. a\\|b"


# -- csv -------------------------------------------------------------------------------


def test_csv_round_trips_every_finding() -> None:
    reports = synthetic_reports()
    out = render(RenderFormat.CSV, reports, RenderContext(VERSION))
    assert out.endswith("\r\n")
    rows = list(csv.reader(io.StringIO(out, newline="")))
    assert tuple(rows[0]) == COLUMNS
    findings = [(r, f) for r in reports for f in r.findings]
    assert len(rows) == 1 + len(findings)  # clean.example has no row
    for row, (report, f) in zip(rows[1:], findings, strict=True):
        record = dict(zip(COLUMNS, row, strict=True))
        assert record["domain"] == report.domain.ascii
        assert (record["id"], record["severity"], record["status"]) == (
            f.id,
            f.severity.value,
            f.status.value,
        )
        assert record["message"] == f.message and record["subject"] == f.subject
        assert record["suggested_record"] == (f.suggested_record or "")
        assert record["references"] == "; ".join(f.references)
        assert record["location"] == ""


def test_csv_location_with_zone_files(demo) -> None:
    reports, context = datasets(demo, "demo")
    rows = list(csv.DictReader(io.StringIO(render(RenderFormat.CSV, reports, context), newline="")))
    pass_all = next(r for r in rows if r["id"] == "spf.pass-all")
    path = "fixtures/demo/oldshop.example.zone"
    assert pass_all["location"] == f"{path}:{_line_of(path, '+all')}"
