"""SMTP TLS reports (RFC 8460 §4): JSON, plain or gzip, on disk or in mail."""

from __future__ import annotations

import json
from collections.abc import Callable
from contextlib import closing
from datetime import UTC, datetime
from typing import Any

from dmarc_audit.reports.model import ParseWarning, ReportError, TlsPolicySummary, TlsReport
from dmarc_audit.reports.safety import Readable, Warn, read_capped

MAX_JSON_BYTES = 64 << 20
"""A TLS report is parsed whole; real ones are kilobytes."""


def read_tls(
    source: str, opener: Callable[[Warn], Readable], warnings: tuple[ParseWarning, ...] = ()
) -> TlsReport | ReportError:
    """Parse one RFC 8460 JSON report; a :class:`ReportError` says what is missing."""
    found = list(warnings)
    with closing(opener(found.append)) as stream:
        data = read_capped(stream, MAX_JSON_BYTES, "the JSON document")
    return parse_tls(data, source, tuple(found))


def parse_tls(
    data: bytes, source: str, warnings: tuple[ParseWarning, ...] = ()
) -> TlsReport | ReportError:
    found = list(warnings)
    if data.startswith(b"\xef\xbb\xbf"):
        found.append(ParseWarning("UTF-8 byte-order mark at the start ignored"))
        data = data[3:]
    try:
        document = json.loads(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        return ReportError(source, f"JSON is not UTF-8 (byte {exc.start})")
    except json.JSONDecodeError as exc:
        return ReportError(
            source, f"not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}"
        )
    except RecursionError:
        return ReportError(source, "not valid JSON: nested too deeply")
    if not isinstance(document, dict) or "policies" not in document:
        return ReportError(source, 'JSON without "policies": not an SMTP TLS report (RFC 8460)')
    try:
        return _report(document, source, found)
    except _Missing as exc:
        return ReportError(source, f"not a usable SMTP TLS report: {exc}")


class _Missing(Exception):
    pass


def _report(doc: dict[str, Any], source: str, warnings: list[ParseWarning]) -> TlsReport:
    dates = doc.get("date-range")
    if not isinstance(dates, dict):
        raise _Missing('no "date-range"')
    policies = doc.get("policies")
    if not isinstance(policies, list):
        raise _Missing('"policies" is not a list')
    summaries = []
    for number, item in enumerate(policies, 1):
        summary = _policy(item, number, warnings)
        if summary is not None:
            summaries.append(summary)
    org_name = _text(doc, "organization-name", warnings)
    report_id = _text(doc, "report-id", warnings)
    if not report_id:
        raise _Missing('no "report-id"')
    return TlsReport(
        source=source,
        org_name=org_name,
        report_id=report_id,
        begin=_when(dates, "start-datetime"),
        end=_when(dates, "end-datetime"),
        contact=_text(doc, "contact-info", warnings) or None,
        policies=tuple(summaries),
        warnings=tuple(warnings),
    )


def _policy(item: object, number: int, warnings: list[ParseWarning]) -> TlsPolicySummary | None:
    where = f"policies[{number - 1}]"
    if not isinstance(item, dict):
        warnings.append(ParseWarning("not an object; ignored", where))
        return None
    policy = item.get("policy") if isinstance(item.get("policy"), dict) else {}
    summary = item.get("summary") if isinstance(item.get("summary"), dict) else {}
    if not summary:
        warnings.append(ParseWarning('no "summary"; counts read as 0', where))
    details = item.get("failure-details") or []
    if not isinstance(details, list):
        warnings.append(ParseWarning('"failure-details" is not a list; ignored', where))
        details = []
    return TlsPolicySummary(
        policy_type=str(policy.get("policy-type", "")),
        policy_domain=str(policy.get("policy-domain", "")),
        successful=_count(summary, "total-successful-session-count", where, warnings),
        failed=_count(summary, "total-failure-session-count", where, warnings),
        failure_details=tuple(d for d in details if isinstance(d, dict)),
    )


def _count(obj: dict[str, Any], key: str, where: str, warnings: list[ParseWarning]) -> int:
    value = obj.get(key, 0)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        if isinstance(value, str) and value.isascii() and value.isdigit():
            warnings.append(ParseWarning(f'"{key}" is a string; read as a number', where))
            return int(value)
        warnings.append(ParseWarning(f'"{key}" is {value!r}, not a count; read as 0', where))
        return 0
    return value


def _text(obj: dict[str, Any], key: str, warnings: list[ParseWarning]) -> str:
    value = obj.get(key)
    if value is None:
        warnings.append(ParseWarning(f'no "{key}"'))
        return ""
    return str(value).strip()


def _when(dates: dict[str, Any], key: str) -> datetime:
    value = dates.get(key)
    if not isinstance(value, str):
        raise _Missing(f'no "{key}" in "date-range"')
    try:
        when = datetime.fromisoformat(value.strip())
    except ValueError:
        raise _Missing(f'"{key}" {value!r} is not an RFC 3339 date-time') from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(UTC)
