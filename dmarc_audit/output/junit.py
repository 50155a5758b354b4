"""JUnit XML for CI test dashboards: a test suite per domain, a test case per check.

Each check id that fired on a domain is one test case (classname ``DOMAIN.AREA``,
name the id). Its outcome follows ``--fail-on`` so that the dashboard agrees with the
exit status: ``failure`` when a finding at or above the threshold failed; ``skipped``
when findings could not be checked (status unknown: never exit 1 by itself, exit 3
with ``--strict``); else passing, with the findings below the threshold in
``system-out``. Messages of unknown
findings start with "could not check:". Each audited area (spf, dmarc, dkim, mx,
mail-records) without any finding is one passing test case named after the area.
Input errors (bad domain names) are ``error`` test cases in a suite named ``input``.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from typing import TYPE_CHECKING

from dmarc_audit.findings import FailOn, Finding, Status

if TYPE_CHECKING:
    from dmarc_audit.output.context import RenderContext
    from dmarc_audit.report import DomainReport

AREAS = ("spf", "dmarc", "dkim", "mx", "mail-records")
_SECTIONS = {
    "spf": "spf",
    "dkim": "dkim",
    "mx": "mx",
    "mail-records": "mail_records",
    "dmarc": "dmarc",
}
_PREFIX_AREA = {
    "spf": "spf",
    "dmarc": "dmarc",
    "align": "dmarc",
    "dkim": "dkim",
    "mx": "mx",
    "mtasts": "mail-records",
    "tlsrpt": "mail-records",
    "bimi": "mail-records",
}
_LABEL_AREA = {
    "_dmarc": "dmarc",
    "_domainkey": "dkim",
    "_mta-sts": "mail-records",
    "_smtp": "mail-records",
    "_bimi": "mail-records",
}
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def render_junit(reports: Sequence[DomainReport], context: RenderContext) -> str:
    """The JUnit XML document."""
    root = ET.Element("testsuites", name="dmarc-audit")
    threshold = context.threshold
    for report in reports:
        root.append(_suite(report, threshold, context))
    if context.input_errors:
        root.append(_input_suite(context.input_errors))
    _count(root, root.findall("testsuite/testcase"))
    ET.indent(root, "  ")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, "unicode") + "\n"


def area_of(report: DomainReport, finding: Finding) -> str:
    """The audit a finding came from: the section that reported it, else its id and name."""
    key = (finding.id, finding.subject, finding.message)
    for area, attribute in _SECTIONS.items():
        section = getattr(report, attribute)
        if any((f.id, f.subject, f.message) == key for f in getattr(section, "findings", ())):
            return area
    prefix = finding.id.split(".", 1)[0]
    if prefix in _PREFIX_AREA:
        return _PREFIX_AREA[prefix]
    for label in finding.subject.lower().split("."):
        if label in _LABEL_AREA:
            return _LABEL_AREA[label]
    return prefix


def _suite(report: DomainReport, threshold: FailOn, context: RenderContext) -> ET.Element:
    domain = report.domain.ascii
    suite = ET.Element("testsuite", name=domain)
    if report.domain.unicode != domain:
        properties = ET.SubElement(suite, "properties")
        ET.SubElement(
            properties, "property", name="domain_unicode", value=_clean(report.domain.unicode)
        )
    groups: dict[tuple[str, str], list[Finding]] = {}
    for finding in report.findings:
        groups.setdefault((area_of(report, finding), finding.id), []).append(finding)
    for (area, check_id), findings in groups.items():
        suite.append(_case(f"{domain}.{area}", check_id, findings, threshold, context))
    seen = {area for area, _ in groups}
    for area in AREAS:
        if area not in seen and getattr(report, _SECTIONS[area]) is not None:
            ET.SubElement(suite, "testcase", classname=f"{domain}.{area}", name=area)
    _count(suite, suite.findall("testcase"))
    return suite


def _case(
    classname: str,
    check_id: str,
    findings: list[Finding],
    threshold: FailOn,
    context: RenderContext,
) -> ET.Element:
    case = ET.Element("testcase", classname=classname, name=check_id)
    body = _clean("\n\n".join(_details(f, context) for f in findings))
    tripping = [f for f in findings if threshold.trips(f.severity)]
    failing = [f for f in tripping if f.status is Status.FAIL]
    unknown = [f for f in findings if f.status is Status.UNKNOWN]
    if failing:
        element = ET.SubElement(case, "failure", message=_summary(failing, ""), type=check_id)
    elif unknown:
        element = ET.SubElement(case, "skipped", message=_summary(unknown, "could not check: "))
    else:
        element = ET.SubElement(case, "system-out")
    element.text = body
    return case


def _summary(findings: list[Finding], prefix: str) -> str:
    more = f" (+{len(findings) - 1} more)" if len(findings) > 1 else ""
    return _clean(prefix + findings[0].message + more)


def _details(finding: Finding, context: RenderContext) -> str:
    """Everything about one finding, as plain text lines."""
    place = context.locate(finding)
    where = f" ({place.path}:{place.line})" if place is not None else ""
    status = " (could not check)" if finding.status is Status.UNKNOWN else ""
    lines = [
        f"{finding.severity.value}{status}: {finding.id} at {finding.subject}{where}",
        finding.message,
    ]
    if finding.record:
        lines.append(f"record: {finding.record}")
    if finding.remediation:
        lines.append(f"fix: {finding.remediation}")
    if finding.suggested_record:
        lines.append(f"publish: {finding.suggested_record}")
    if finding.references:
        lines.append("references: " + "; ".join(finding.references))
    if finding.evidence:
        lines.append("evidence:")
        lines.extend(f"  {line}" for line in finding.evidence)
    return "\n".join(lines)


def _input_suite(errors: Sequence[str]) -> ET.Element:
    suite = ET.Element("testsuite", name="input")
    for number, error in enumerate(errors, 1):
        case = ET.SubElement(
            suite, "testcase", classname="dmarc-audit.input", name=f"input {number}"
        )
        ET.SubElement(case, "error", message=_clean(error), type="input-error")
    _count(suite, suite.findall("testcase"))
    return suite


def _count(element: ET.Element, cases: list[ET.Element]) -> None:
    element.set("tests", str(len(cases)))
    for kind, attribute in (("failure", "failures"), ("error", "errors"), ("skipped", "skipped")):
        element.set(attribute, str(sum(1 for c in cases if c.find(kind) is not None)))


def _clean(text: str) -> str:
    """XML 1.0 cannot carry most control characters: show them as ``\\xNN``."""
    return _NOT_XML.sub(lambda m: f"\\x{ord(m.group(0)):02x}", text)


__all__ = ["AREAS", "area_of", "render_junit"]
