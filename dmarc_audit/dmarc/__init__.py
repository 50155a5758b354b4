"""DMARC: the collector's half of the area (discovery, the lookups around it, the facts).

The parser lives in :mod:`dmarc_audit.records.dmarc`, discovery in
:mod:`dmarc_audit.dmarc.discovery`, the other lookups in :mod:`dmarc_audit.dmarc.collect`,
the facts in :mod:`dmarc_audit.dmarc.facts`, the record to publish in
:mod:`dmarc_audit.dmarc.suggest`, the rules in :mod:`dmarc_audit.checks.dmarc` and the
Organizational Domain helpers in :mod:`dmarc_audit.orgdomain`.
"""

from dmarc_audit.dmarc.discovery import discover_dmarc, tree_walk
from dmarc_audit.dmarc.facts import (
    DiscoveryStatus,
    DmarcDiscovery,
    FoundAt,
    PolicySource,
    TreeWalk,
    WalkStep,
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
    "DiscoveryStatus",
    "DmarcDiscovery",
    "DmarcMode",
    "DmarcProblem",
    "DmarcRecord",
    "EffectivePolicy",
    "FoundAt",
    "Policy",
    "PolicySource",
    "ReportUri",
    "TreeWalk",
    "WalkStep",
    "discover_dmarc",
    "organizational_domain_psl",
    "parse_dmarc",
    "tree_walk",
]
