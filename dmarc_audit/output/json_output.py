"""JSON renderer. The shape is documented in docs/json.md; bump SCHEMA_VERSION on breaks."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from dmarc_audit.cli.common import print_json

if TYPE_CHECKING:
    from dmarc_audit.audit import DomainReport
    from dmarc_audit.dns.cache import CachingResolver


def dns_section(resolver: CachingResolver) -> dict[str, object]:
    return {
        "queries": resolver.queries,
        "cache_hits": resolver.hits,
        "trace": [entry.to_json() for entry in resolver.trace.entries],
    }


def check_document(
    reports: Sequence[DomainReport], resolver: CachingResolver, input_errors: Sequence[str]
) -> dict[str, object]:
    from dmarc_audit.audit import SCHEMA_VERSION

    return {
        "schema_version": SCHEMA_VERSION,
        "domains": [report.to_json() for report in reports],
        "input_errors": list(input_errors),
        "dns": dns_section(resolver),
    }


def render_check_json(
    reports: Sequence[DomainReport], resolver: CachingResolver, input_errors: Sequence[str]
) -> None:
    print_json(check_document(reports, resolver, input_errors))
