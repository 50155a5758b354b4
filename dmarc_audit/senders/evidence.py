"""Read from the report store what each source's records say about who sent them.

Two queries, both plain SQL over ``aggregate_records``/``aggregate_reports`` (one
join, GROUP BY, no SQLite-only functions), so another store backend can answer
them the same way.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from dmarc_audit.reports.store import Store, load_auth_sets, norm_domain, period_where
from dmarc_audit.senders.naming import AuthEvidence

_JOIN = "FROM aggregate_records r JOIN aggregate_reports rep ON rep.id = r.report"
_PASS = "(r.dkim_aligned = 'pass' OR r.spf_aligned = 'pass')"


def auth_evidence(
    store: Store, domain: str | None, since: datetime | None, until: datetime | None
) -> dict[str, AuthEvidence]:
    """Per source IP: passing DKIM ``(d=, s=)``, SPF-passing and envelope domains.

    A receiver's ``mailing_list`` override is read by the classifier (it makes those
    records forwarded), not here: one classification per source.
    """
    conn = store.connection
    where, args = period_where("rep", domain, since, until)
    rows = conn.execute(
        f"SELECT r.source_ip, r.auth_set, r.envelope_from {_JOIN} {where} "
        "GROUP BY r.source_ip, r.auth_set, r.envelope_from",
        args,
    ).fetchall()
    sets = load_auth_sets(conn, f"WHERE auth_set IN (SELECT r.auth_set {_JOIN} {where})", args)
    acc: dict[str, tuple[set, set, set, list[bool]]] = defaultdict(
        lambda: (set(), set(), set(), [False, False])
    )
    for ip, set_id, envelope in rows:
        dkim, spf, env, flags = acc[ip]
        for result in sets.get(set_id, ()):
            flags[1] = True
            if result.result.lower() != "pass" or not result.domain:
                continue
            if result.method.lower() == "dkim":
                dkim.add((norm_domain(result.domain), (result.selector or "").lower()))
            elif result.method.lower() == "spf":
                spf.add(norm_domain(result.domain))
        if envelope and norm_domain(envelope):
            env.add(norm_domain(envelope))
    return {
        ip: AuthEvidence(frozenset(d), frozenset(s), frozenset(e), f[0], f[1])
        for ip, (d, s, e, f) in acc.items()
    }


def source_figures(
    store: Store, domain: str | None, since: datetime | None, until: datetime | None
) -> dict[str, tuple[int, int, int, int]]:
    """Per source IP: messages, DMARC pass, SPF-aligned and DKIM-aligned pass."""
    where, args = period_where("rep", domain, since, until)
    return {
        ip: (n, ok, spf, dkim)
        for ip, n, ok, spf, dkim in store.connection.execute(
            f"SELECT r.source_ip, SUM(r.count), "
            f"SUM(CASE WHEN {_PASS} THEN r.count ELSE 0 END), "
            "SUM(CASE WHEN r.spf_aligned = 'pass' THEN r.count ELSE 0 END), "
            "SUM(CASE WHEN r.dkim_aligned = 'pass' THEN r.count ELSE 0 END) "
            f"{_JOIN} {where} GROUP BY r.source_ip",
            args,
        )
    }
