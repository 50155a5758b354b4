"""DNS: one async resolver interface, live and offline sources, a shared cache."""

from dmarc_audit.dns.types import (
    AddressRecord,
    Answer,
    MxRecord,
    NameRecord,
    Outcome,
    Record,
    Resolver,
    Trace,
    TraceEntry,
    TxtRecord,
)

__all__ = [
    "AddressRecord",
    "Answer",
    "MxRecord",
    "NameRecord",
    "Outcome",
    "Record",
    "Resolver",
    "Trace",
    "TraceEntry",
    "TxtRecord",
]
