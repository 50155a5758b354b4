"""The period's aggregate-report figures for one domain, and the daily series.

Everything but the daily series and the previous period's totals comes from
:func:`dmarc_audit.reports.summary.build_summary`, so a digest says what
``reports summary --domain D --since … --until …`` says. A report belongs to the
day (and the period) its begin time falls in, as in the summary.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from dmarc_audit.reports.store import Store, period_where
from dmarc_audit.reports.summary import (
    DayFigures,
    Figures,
    PeriodFilter,
    PtrInfo,
    Summary,
    build_summary,
)

_PASS = "(r.dkim_aligned = 'pass' OR r.spf_aligned = 'pass')"
_JOIN = "FROM aggregate_records r JOIN aggregate_reports rep ON rep.id = r.report"


@dataclass(frozen=True, slots=True)
class Period:
    """``[since, until)`` in UTC."""

    since: datetime
    until: datetime

    @property
    def length(self) -> timedelta:
        return self.until - self.since

    @property
    def previous(self) -> Period:
        """The period of the same length just before this one."""
        return Period(self.since - self.length, self.since)

    @property
    def label(self) -> str:
        """``weekly``, ``daily``, ``monthly`` or ``14-day``, for the subject."""
        days = self.length / timedelta(days=1)
        if days == 7:
            return "weekly"
        if days == 1:
            return "daily"
        if 28 <= days <= 31:
            return "monthly"
        return f"{days:g}-day" if days == int(days) else "digest"

    def days(self) -> list[date]:
        """Every UTC day the period touches, oldest first."""
        first = self.since.astimezone(UTC).date()
        last = (self.until - timedelta(microseconds=1)).astimezone(UTC).date()
        return [first + timedelta(days=i) for i in range((last - first).days + 1)]

    def describe(self) -> str:
        """``2024-06-10 → 2024-06-16 (7 days, UTC)``: the last day is included."""
        whole = _midnight(self.since) and _midnight(self.until)
        last = self.until - (timedelta(days=1) if whole else timedelta())
        fmt = "%Y-%m-%d" if whole else "%Y-%m-%d %H:%M"
        days = self.length / timedelta(days=1)
        span = f"{days:g} day{'s' if days != 1 else ''}"
        if whole and days == 1:
            return f"{self.since.strftime(fmt)} (1 day, UTC)"
        return f"{self.since.strftime(fmt)} → {last.strftime(fmt)} ({span}, UTC)"


def _midnight(moment: datetime) -> bool:
    return moment.astimezone(UTC).time() == datetime.min.time()


@dataclass(frozen=True, slots=True)
class DomainFigures:
    """One policy domain's figures for the period, and the previous period's totals."""

    domain: str
    summary: Summary
    previous: Figures
    days: tuple[DayFigures, ...]

    @property
    def totals(self) -> Figures:
        return self.summary.totals

    @property
    def new_senders(self) -> int:
        return len(self.summary.new_sources or ())

    @property
    def rate_delta(self) -> float | None:
        """The change of the shown DMARC pass percentage, in points (None without both)."""
        return shown_delta(self.totals.pass_rate, self.previous.pass_rate)

    @property
    def volume_change(self) -> float | None:
        """Relative change of the message count (None when the previous period had none)."""
        if not self.previous.messages:
            return None
        return self.totals.messages / self.previous.messages - 1


def shown_percent(rate: float) -> float:
    """The percentage as :func:`~dmarc_audit.reports.summary.percent` shows it (rounded down)."""
    return math.floor(rate * 1000 + 1e-9) / 10


def shown_delta(now: float | None, before: float | None) -> float | None:
    if now is None or before is None:
        return None
    return round(shown_percent(now) - shown_percent(before), 1)


def domain_figures(
    store: Store,
    domain: str,
    period: Period,
    *,
    ptrs: Mapping[str, PtrInfo] | None = None,
    published: str | None = None,
) -> DomainFigures:
    """The summary of ``domain`` for ``period``, the previous period's totals, the days.

    ``published`` is the DMARC record at ``_dmarc.<domain>`` (from the posture audit),
    so the readiness record keeps its ``rua``.
    """
    summary = build_summary(
        store,
        PeriodFilter(domain, period.since, period.until),
        ptrs=ptrs,
        published={domain: published} if published else None,
    )
    return DomainFigures(
        domain, summary, period_totals(store, domain, period.previous), daily(store, domain, period)
    )


def period_totals(store: Store, domain: str | None, period: Period) -> Figures:
    """Messages and DMARC-passing messages of the reports that begin in ``period``."""
    where, args = period_where("rep", domain, period.since, period.until)
    row = store.connection.execute(
        f"SELECT COALESCE(SUM(r.count), 0), "
        f"COALESCE(SUM(CASE WHEN {_PASS} THEN r.count ELSE 0 END), 0), "
        "COALESCE(SUM(CASE WHEN r.spf_aligned = 'pass' THEN r.count ELSE 0 END), 0), "
        "COALESCE(SUM(CASE WHEN r.dkim_aligned = 'pass' THEN r.count ELSE 0 END), 0) "
        f"{_JOIN} {where}",
        args,
    ).fetchone()
    return Figures(*row)


def daily(store: Store, domain: str | None, period: Period) -> tuple[DayFigures, ...]:
    """Messages and DMARC passes per UTC day of the reports' begin time (every day listed)."""
    where, args = period_where("rep", domain, period.since, period.until)
    found: dict[date, tuple[int, int]] = {}
    for day_ts, messages, passed in store.connection.execute(
        f"SELECT rep.begin_ts - (rep.begin_ts % 86400) AS day, SUM(r.count), "
        f"SUM(CASE WHEN {_PASS} THEN r.count ELSE 0 END) {_JOIN} {where} GROUP BY day",
        args,
    ):
        found[datetime.fromtimestamp(day_ts, UTC).date()] = (messages, passed)
    return tuple(DayFigures(day, *found.get(day, (0, 0))) for day in period.days())


def store_domains(store: Store, period: Period) -> list[str]:
    """The policy domains with aggregate reports that begin in ``period``."""
    where, args = period_where("rep", None, period.since, period.until)
    return [
        row[0]
        for row in store.connection.execute(
            f"SELECT DISTINCT rep.domain FROM aggregate_reports rep {where} ORDER BY rep.domain",
            args,
        )
    ]
