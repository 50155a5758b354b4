"""SARIF 2.1.0 for code-scanning uploads: one rule per check id, one result per finding.

With zone files audited, a result points at the file and line that define the record
(or, for a missing record, the zone's SOA line); otherwise it carries a logical
location, the record name. A finding that could not be checked is a result of kind
``review`` (level ``none``, as SARIF requires for kinds other than ``fail``) whose
message starts with "could not check:"; its intended severity stays in ``properties``.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from pathlib import PurePath
from typing import TYPE_CHECKING
from urllib.parse import quote

from dmarc_audit.catalog import CATALOG, CHECKS
from dmarc_audit.findings import Finding, Severity, Status

if TYPE_CHECKING:
    from dmarc_audit.dns.zonelines import Location
    from dmarc_audit.output.context import RenderContext
    from dmarc_audit.report import DomainReport

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
LEVELS = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}
FINGERPRINT = "dmarcAuditFinding/v1"
_ORDER = {info.id: index for index, info in enumerate(CHECKS)}


def render_sarif(reports: Sequence[DomainReport], context: RenderContext) -> str:
    """The SARIF log as indented JSON."""
    ids = sorted(
        {f.id for r in reports for f in r.findings}, key=lambda i: (_ORDER.get(i, len(_ORDER)), i)
    )
    index = {check_id: n for n, check_id in enumerate(ids)}
    results = [
        _result(report, finding, index[finding.id], context)
        for report in reports
        for finding in report.findings
    ]
    log = {
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "dmarc-audit",
                        "version": context.tool_version,
                        "rules": [_rule(check_id) for check_id in ids],
                    }
                },
                "invocations": [_invocation(context.input_errors)],
                "results": results,
                "properties": {"domains": [r.domain.ascii for r in reports]},
            }
        ],
    }
    return json.dumps(log, indent=2, ensure_ascii=False) + "\n"


def _rule(check_id: str) -> dict[str, object]:
    info = CATALOG.get(check_id)
    if info is None:
        return {"id": check_id}
    docs = f"docs/checks.md#{anchor(check_id)}"
    references = "; ".join(info.references)
    return {
        "id": check_id,
        "name": _pascal(check_id),
        "shortDescription": {"text": info.title},
        "fullDescription": {"text": info.why},
        "help": {
            "text": f"Fix: {info.fix}\nReferences: {references}\n"
            f"More: {docs}, or run: dmarc-audit explain {check_id}",
            "markdown": f"**Fix:** {info.fix}\n\n**References:** {references}\n\n"
            f"More: `{docs}`, or run `dmarc-audit explain {check_id}`",
        },
        "defaultConfiguration": {"level": LEVELS[info.severity]},
        "properties": {"tags": ["email-authentication", info.area]},
    }


def _result(
    report: DomainReport, finding: Finding, rule_index: int, context: RenderContext
) -> dict[str, object]:
    unknown = finding.status is Status.UNKNOWN
    text = ("could not check: " if unknown else "") + finding.message
    location: dict[str, object] = {}
    place = context.locate(finding)
    if place is not None:
        location["physicalLocation"] = _physical(place)
    location["logicalLocations"] = [
        {"name": finding.subject, "fullyQualifiedName": finding.subject, "kind": "resource"}
    ]
    properties: dict[str, object] = {
        "domain": report.domain.ascii,
        "subject": finding.subject,
        "severity": finding.severity.value,
        "status": finding.status.value,
        "record": finding.record,
        "remediation": finding.remediation,
        "suggestedRecord": finding.suggested_record,
        "references": list(finding.references),
        "evidence": list(finding.evidence),
    }
    return {
        "ruleId": finding.id,
        "ruleIndex": rule_index,
        "kind": "review" if unknown else "fail",
        "level": "none" if unknown else LEVELS[finding.severity],
        "message": {"text": text},
        "locations": [location],
        "partialFingerprints": {FINGERPRINT: _fingerprint(report, finding)},
        "properties": properties,
    }


def _physical(place: Location) -> dict[str, object]:
    region: dict[str, int] = {"startLine": place.line}
    if place.end_line is not None:
        region["endLine"] = place.end_line
    return {"artifactLocation": {"uri": artifact_uri(place.path)}, "region": region}


def artifact_uri(path: str) -> str:
    """A relative path as a relative URI reference; an absolute one as a ``file:`` URI."""
    pure = PurePath(path)
    if pure.is_absolute():
        return pure.as_uri()
    return quote(pure.as_posix())


def _invocation(input_errors: Sequence[str]) -> dict[str, object]:
    invocation: dict[str, object] = {"executionSuccessful": not input_errors}
    if input_errors:
        invocation["toolExecutionNotifications"] = [
            {"level": "error", "message": {"text": error}} for error in input_errors
        ]
    return invocation


def _fingerprint(report: DomainReport, finding: Finding) -> str:
    """Stable across runs for the same problem, so uploads track it over time."""
    key = "\0".join((report.domain.ascii, finding.id, finding.subject.lower()))
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def anchor(check_id: str) -> str:
    """GitHub's heading anchor for ``### `spf.missing``` in docs/checks.md: ``spfmissing``."""
    return re.sub(r"[^\w\- ]", "", check_id.lower()).replace(" ", "-")


def _pascal(check_id: str) -> str:
    """``spf.too-many-lookups`` → ``SpfTooManyLookups`` (SARIF rule names are identifiers)."""
    return "".join(part.capitalize() for part in re.split(r"[.\-_]", check_id) if part)


__all__ = ["render_sarif"]
