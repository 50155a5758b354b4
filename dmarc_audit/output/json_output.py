"""JSON renderer. The shape is documented in docs/json.md; bump SCHEMA_VERSION on breaks."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from dmarc_audit.output.console import json_text

if TYPE_CHECKING:
    from dmarc_audit.dns.cache import CachingResolver
    from dmarc_audit.filters import GatedReport
    from dmarc_audit.output.context import RenderContext
    from dmarc_audit.report import DomainReport


def dns_section(resolver: CachingResolver) -> dict[str, object]:
    """The ``dns`` section of every JSON document: query counts and the trace."""
    return {
        "queries": resolver.queries,
        "cache_hits": resolver.hits,
        "trace": [entry.to_json() for entry in resolver.trace.entries],
    }


def check_document(
    reports: Sequence[DomainReport],
    dns: dict[str, object] | None,
    input_errors: Sequence[str],
) -> dict[str, object]:
    """The ``check`` document before the gate's annotations (``dns``: :func:`dns_section`)."""
    from dmarc_audit.report import SCHEMA_MINOR, SCHEMA_VERSION

    return {
        "schema_version": SCHEMA_VERSION,
        "schema_minor": SCHEMA_MINOR,
        "domains": [report.to_json() for report in reports],
        "input_errors": list(input_errors),
        "dns": dns,
    }


def render_gated_json(gated: Sequence[GatedReport], context: RenderContext) -> str:
    """``RENDERERS[JSON]``: the ``check`` document (docs/json.md), every finding marked
    ``baselined`` and the ``suppressed`` ones listed; ``dns`` is null without context.dns."""
    from dmarc_audit.filters import annotate_check_document

    document = check_document([g.report for g in gated], context.dns, context.input_errors)
    return json_text(annotate_check_document(document, gated), context.json_indent)
