"""Gate controls: which findings count, at which severity, and which are already known.

Applied after the audit, in this order, per domain:

1. ``select``: keep only findings whose id matches (none given: keep all);
2. ``ignore``: drop findings whose id matches, remembering the reason;
3. severity overrides (the most specific pattern wins);
4. baseline: findings whose ``(domain, id, subject)`` key is in the baseline stay in
   the report but are marked baselined and do not count for the exit status.

A pattern is a full check id (``spf.too-many-lookups``) or a prefix: an area with
or without the dot (``dmarc.``, ``dmarc``). Patterns are checked against the catalog,
so a typo is an input error rather than a filter that silently matches nothing.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from dmarc_audit.errors import InputError
from dmarc_audit.exit_status import ExitStatus
from dmarc_audit.findings import FailOn, Finding, Severity, sort_findings

if TYPE_CHECKING:
    from dmarc_audit.report import DomainReport

BASELINE_SCHEMA_VERSION = 1
BASELINE_KIND = "dmarc-audit-baseline"


@dataclass(frozen=True, slots=True)
class IdPattern:
    """A check id or an id prefix (``dmarc.``), as given by the user."""

    text: str

    @property
    def is_prefix(self) -> bool:
        return self.text.endswith(".") or "." not in self.text

    @property
    def specificity(self) -> int:
        """Longer patterns are more specific; a full id beats any prefix."""
        return len(self.text) + (1000 if not self.is_prefix else 0)

    def matches(self, check_id: str) -> bool:
        if not self.is_prefix:
            return check_id == self.text
        prefix = self.text if self.text.endswith(".") else self.text + "."
        return check_id.startswith(prefix)

    @classmethod
    def parse(cls, text: str, where: str = "") -> IdPattern:
        """Validate ``text`` against the catalog; raises :class:`InputError`."""
        from dmarc_audit.catalog import CATALOG, closest_ids

        wanted = text.strip().lower()
        pattern = cls(wanted)
        if wanted and any(pattern.matches(check_id) for check_id in CATALOG):
            return pattern
        if pattern.is_prefix:
            areas = sorted({check_id.split(".", 1)[0] + "." for check_id in CATALOG})
            hint = difflib.get_close_matches(wanted.rstrip(".") + ".", areas, n=1)
        else:
            hint = closest_ids(wanted, limit=1)
        tail = f" (did you mean {hint[0]}?)" if hint else " (see dmarc-audit explain)"
        head = f"{where}: " if where else ""
        raise InputError(f"{head}unknown check id or prefix {text!r}{tail}")


@dataclass(frozen=True, slots=True)
class IgnoreRule:
    """Drop findings matching ``pattern``; ``reason`` is shown in the output."""

    pattern: IdPattern
    reason: str = ""


@dataclass(frozen=True, slots=True)
class SeverityOverride:
    """Report findings matching ``pattern`` at ``severity``."""

    pattern: IdPattern
    severity: Severity


@dataclass(frozen=True, slots=True)
class FilterRules:
    """Select, ignore and severity rules for one scope (global or one domain)."""

    select: tuple[IdPattern, ...] = ()
    ignore: tuple[IgnoreRule, ...] = ()
    severity: tuple[SeverityOverride, ...] = ()

    def merged(self, more: FilterRules) -> FilterRules:
        """``more`` (a domain's rules) narrows select, adds ignores and wins on severity."""
        return FilterRules(
            select=more.select or self.select,
            ignore=self.ignore + more.ignore,
            severity=self.severity + more.severity,
        )

    def selected(self, check_id: str) -> bool:
        return not self.select or any(p.matches(check_id) for p in self.select)

    def ignored_by(self, check_id: str) -> IgnoreRule | None:
        return next((rule for rule in self.ignore if rule.pattern.matches(check_id)), None)

    def severity_for(self, finding: Finding) -> Severity:
        best: SeverityOverride | None = None
        for override in self.severity:  # later (domain) rules win ties
            if override.pattern.matches(finding.id) and (
                best is None or override.pattern.specificity >= best.pattern.specificity
            ):
                best = override
        return best.severity if best is not None else finding.severity


@dataclass(frozen=True, slots=True, order=True)
class BaselineKey:
    """What identifies a known finding across runs (messages and counts may change)."""

    domain: str
    id: str
    subject: str

    @classmethod
    def of(cls, domain: str, finding: Finding) -> BaselineKey:
        return cls(domain, finding.id, finding.subject)

    def to_json(self) -> dict[str, str]:
        return {"domain": self.domain, "id": self.id, "subject": self.subject}


@dataclass(frozen=True, slots=True)
class Baseline:
    """Accepted findings, loaded from a file written by ``--write-baseline``."""

    keys: frozenset[BaselineKey]
    path: str = ""

    def __contains__(self, key: object) -> bool:
        return key in self.keys


@dataclass(frozen=True, slots=True)
class Suppressed:
    """A finding dropped by an ignore rule (listed so that ignores stay visible)."""

    domain: str
    finding: Finding
    reason: str

    def to_json(self) -> dict[str, str]:
        return {
            "domain": self.domain,
            "id": self.finding.id,
            "subject": self.finding.subject,
            "reason": self.reason,
        }


@dataclass(frozen=True, slots=True)
class GatedReport:
    """A report after the gate: ``report.findings`` holds active and baselined findings."""

    report: DomainReport
    baselined: frozenset[Finding] = frozenset()
    suppressed: tuple[Suppressed, ...] = ()

    @property
    def domain(self) -> str:
        return self.report.domain.ascii

    @property
    def active(self) -> tuple[Finding, ...]:
        """Findings that count for the exit status."""
        return tuple(f for f in self.report.findings if f not in self.baselined)

    def is_baselined(self, finding: Finding) -> bool:
        return finding in self.baselined

    def counting(self) -> DomainReport:
        """The report with only the findings that count (for exit status and summary)."""
        return replace(self.report, findings=self.active)


def gate_report(
    report: DomainReport, rules: FilterRules, baseline: Baseline | None = None
) -> GatedReport:
    """Apply ``rules`` and ``baseline`` to one domain's report."""
    domain = report.domain.ascii
    kept: list[Finding] = []
    suppressed: list[Suppressed] = []
    for finding in report.findings:
        if not rules.selected(finding.id):
            continue
        rule = rules.ignored_by(finding.id)
        if rule is not None:
            suppressed.append(Suppressed(domain, finding, rule.reason))
            continue
        severity = rules.severity_for(finding)
        kept.append(finding if severity is finding.severity else finding.with_severity(severity))
    baselined = frozenset(
        f for f in kept if baseline is not None and BaselineKey.of(domain, f) in baseline
    )
    return GatedReport(
        replace(report, findings=tuple(sort_findings(kept))), baselined, tuple(suppressed)
    )


def gate_exit_status(
    gated: Sequence[GatedReport], fail_on: FailOn, strict: bool, input_errors: bool
) -> ExitStatus:
    """:func:`dmarc_audit.report.exit_status_for` over the findings that count."""
    from dmarc_audit.report import exit_status_for

    return exit_status_for([g.counting() for g in gated], fail_on, strict, input_errors)


def load_baseline(path: str | Path) -> Baseline:
    """Read a baseline file; raises :class:`InputError` naming the file."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(
            f"baseline {path}: file not found (write one with --write-baseline FILE)"
        ) from None
    except OSError as exc:
        raise InputError(f"cannot read baseline {path}: {exc.strerror}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        line = getattr(exc, "lineno", None)
        where = f"{path}:{line}" if line else str(path)
        raise InputError(f"{where}: baseline is not valid JSON") from None
    if not isinstance(data, dict) or data.get("kind") != BASELINE_KIND:
        raise InputError(
            f"{path}: not a dmarc-audit baseline (write one with --write-baseline FILE)"
        )
    if data.get("schema_version") != BASELINE_SCHEMA_VERSION:
        raise InputError(
            f"{path}: baseline schema_version {data.get('schema_version')!r} "
            f"is not supported (expected {BASELINE_SCHEMA_VERSION})"
        )
    entries = data.get("findings")
    if not isinstance(entries, list):
        raise InputError(f"{path}: baseline 'findings' must be a list")
    keys = []
    for index, entry in enumerate(entries):
        if not (
            isinstance(entry, dict)
            and all(isinstance(entry.get(k), str) for k in ("domain", "id", "subject"))
        ):
            raise InputError(
                f"{path}: baseline findings[{index}] needs string 'domain', 'id' and 'subject'"
            )
        keys.append(BaselineKey(entry["domain"].lower(), entry["id"], entry["subject"]))
    return Baseline(frozenset(keys), str(path))


def baseline_document(gated: Iterable[GatedReport]) -> dict[str, object]:
    """The baseline of a run: every finding, failed or could-not-check, sorted.

    Unknown findings are recorded too, so that ``--strict`` with the baseline is green
    on the run that wrote it; only new findings count afterwards.
    """
    keys = sorted({BaselineKey.of(g.domain, f) for g in gated for f in g.report.findings})
    return {
        "schema_version": BASELINE_SCHEMA_VERSION,
        "kind": BASELINE_KIND,
        "findings": [key.to_json() for key in keys],
    }


def write_baseline(path: str | Path, gated: Sequence[GatedReport]) -> Baseline:
    """Write the run's findings as a baseline file and return it."""
    document = baseline_document(gated)
    path = Path(path)
    try:
        path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot write baseline {path}: {exc.strerror}") from None
    findings = document["findings"]
    assert isinstance(findings, list)
    return Baseline(frozenset(BaselineKey(**entry) for entry in findings), str(path))


def annotate_check_document(
    document: dict[str, object], gated: Sequence[GatedReport]
) -> dict[str, object]:
    """Add ``baselined`` to every finding of a ``check`` JSON document and ``suppressed``.

    The domains of ``document`` must be those of ``gated``, in the same order.
    """
    domains = document["domains"]
    assert isinstance(domains, list) and len(domains) == len(gated)
    for data, g in zip(domains, gated, strict=True):
        for item, finding in zip(data["findings"], g.report.findings, strict=True):
            item["baselined"] = g.is_baselined(finding)
    document["suppressed"] = [s.to_json() for g in gated for s in g.suppressed]
    return document
