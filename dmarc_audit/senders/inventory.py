"""The sender inventory: when each source and each named sender was first and last seen.

``source_history`` (one row per policy domain and source IP) is kept by every stored
aggregate report; ``sender_inventory`` (one row per policy domain and named sender)
is kept by every summary that names senders, so a sender seen before on other IPs
is not "new" again. Plain SQL with ``?`` placeholders and ``ON CONFLICT … DO
UPDATE`` with ``CASE`` (no SQLite-only functions): SQLite and PostgreSQL alike.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from dmarc_audit.reports.database import DatabaseError
from dmarc_audit.reports.store import Store


@dataclass(frozen=True, slots=True)
class Sighting:
    """First and last time (Unix seconds) something was reported for a domain."""

    first: int
    last: int


def source_sightings(
    store: Store, domains: Iterable[str], ips: Iterable[str]
) -> dict[tuple[str, str], Sighting]:
    """``(domain, ip) -> Sighting`` from ``source_history``, for these domains and IPs."""
    wanted = set(ips)
    out: dict[tuple[str, str], Sighting] = {}
    for domain in sorted(set(domains)):
        for ip, first, last in store.connection.execute(
            "SELECT source_ip, first_seen, last_seen FROM source_history WHERE domain = ?",
            (domain,),
        ):
            if ip in wanted:
                out[(domain, ip)] = Sighting(int(first), int(last))
    return out


_UPSERT = (
    "INSERT INTO sender_inventory (domain, sender_key, name, first_seen, last_seen) "
    "VALUES (?,?,?,?,?) ON CONFLICT (domain, sender_key) DO UPDATE SET "
    "name = excluded.name, "
    "first_seen = CASE WHEN excluded.first_seen < sender_inventory.first_seen "
    "THEN excluded.first_seen ELSE sender_inventory.first_seen END, "
    "last_seen = CASE WHEN excluded.last_seen > sender_inventory.last_seen "
    "THEN excluded.last_seen ELSE sender_inventory.last_seen END"
)


def record_senders(
    store: Store, seen: dict[tuple[str, str], tuple[str, Sighting]]
) -> dict[tuple[str, str], Sighting]:
    """Merge ``(domain, sender key) -> (name, sighting)`` into the inventory; return it all.

    The result holds the stored first/last sighting of every sender of those domains
    (earlier sightings on other IPs included). A store that cannot be written (read
    only) is still read: the merge is then done here, not stored.
    """
    rows = [
        (domain, key, name, s.first, s.last) for (domain, key), (name, s) in sorted(seen.items())
    ]
    try:
        if rows:
            with store.transaction() as conn:
                conn.executemany(_UPSERT, rows)
    except DatabaseError:
        pass
    out: dict[tuple[str, str], Sighting] = {}
    for domain in sorted({d for d, _ in seen}):
        for key, first, last in store.connection.execute(
            "SELECT sender_key, first_seen, last_seen FROM sender_inventory WHERE domain = ?",
            (domain,),
        ):
            out[(domain, key)] = Sighting(int(first), int(last))
    for (domain, key), (_name, s) in seen.items():
        held = out.get((domain, key))
        if held is None or s.first < held.first or s.last > held.last:
            out[(domain, key)] = Sighting(
                min(s.first, held.first) if held else s.first,
                max(s.last, held.last) if held else s.last,
            )
    return out
