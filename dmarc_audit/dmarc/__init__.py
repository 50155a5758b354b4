"""DMARC: record parsing, policy discovery and the ``dmarc.*`` checks, in one import.

The parser lives in :mod:`dmarc_audit.records.dmarc`, discovery in
:mod:`dmarc_audit.dmarc.discovery`, the rules in :mod:`dmarc_audit.checks.dmarc`
and the Organizational Domain helpers in :mod:`dmarc_audit.orgdomain`.
"""

from dmarc_audit.dmarc.discovery import (
    DmarcDiscovery,
    TreeWalk,
    WalkStep,
    discover_dmarc,
    tree_walk,
)
from dmarc_audit.orgdomain import organizational_domain_psl
from dmarc_audit.records.dmarc import (
    Alignment,
    DmarcMode,
    DmarcProblem,
    DmarcRecord,
    EffectivePolicy,
    Policy,
    ReportUri,
    parse_dmarc,
)

__all__ = [
    "Alignment",
    "DmarcDiscovery",
    "DmarcMode",
    "DmarcProblem",
    "DmarcRecord",
    "EffectivePolicy",
    "Policy",
    "ReportUri",
    "TreeWalk",
    "WalkStep",
    "discover_dmarc",
    "organizational_domain_psl",
    "parse_dmarc",
    "tree_walk",
]


def __getattr__(name: str):  # the rules import discovery, so load them lazily
    if name in ("dmarc_findings", "suggest_dmarc_record"):
        from dmarc_audit.checks import dmarc as checks

        return getattr(checks, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
