"""What the aggregate report's elements mean, and the reader's limits.

Element names map to a *kind*: what their end tag asks the reader to do. The
callbacks dispatch on the kind alone, so most elements cost one dict lookup.
"""

from __future__ import annotations

from dmarc_audit.reports.model import AggregateSchema
from dmarc_audit.reports.safety import CHUNK

NS_DMARC_2 = "urn:ietf:params:xml:ns:dmarc-2.0"

# What an element's end means, by name.
REC, AUTH, GROUP, DKIM_SPF, DOMAIN, REASON, META, ERROR, POLICY, VERSION, CONTAINER = range(11)
"""REC: a field of the record; AUTH: a field of an auth result; GROUP: a wrapper
inside a record; DKIM_SPF: an auth result, or an aligned verdict; DOMAIN: depends
on the parent; REASON: a field of a policy override reason; META, ERROR, POLICY,
VERSION: report-level fields; CONTAINER: an element that holds others."""

ENDS: dict[str, int] = {
    **dict.fromkeys(
        ("source_ip", "count", "disposition", "header_from", "envelope_from", "envelope_to"), REC
    ),
    **dict.fromkeys(("selector", "scope", "result", "human_result"), AUTH),
    "dkim": DKIM_SPF,
    "spf": DKIM_SPF,
    "domain": DOMAIN,
    "type": REASON,
    "comment": REASON,
    **dict.fromkeys(
        ("org_name", "email", "extra_contact_info", "report_id", "generator", "begin", "end"), META
    ),
    "error": ERROR,
    **dict.fromkeys(
        ("p", "sp", "np", "adkim", "aspf", "pct", "fo", "testing", "discovery_method"), POLICY
    ),
    "version": VERSION,
    **dict.fromkeys(("row", "policy_evaluated", "identifiers", "auth_results"), GROUP),
    **dict.fromkeys(
        ("feedback", "report_metadata", "date_range", "policy_published", "record", "reason"),
        CONTAINER,
    ),
}
STARTS = frozenset(
    {"feedback", "record", "policy_published", "report_metadata", "dkim", "spf", "reason"}
)
"""Elements whose start needs more than a push on the stack."""
EXTENSIONS = frozenset({"extensions", "extension"})
CONTAINERS = frozenset(k for k, v in ENDS.items() if v in (CONTAINER, GROUP)) | {"dkim", "spf"}
KNOWN = frozenset(ENDS)
NAMES = KNOWN | EXTENSIONS
"""Every element name the reader places: others are matched without case, or unknown."""
MISSPELLINGS = {"data_range": "date_range"}
"""Misspelt names real reporters send, read as what they mean (with a warning)."""
OPTIONAL_IN_PRACTICE = frozenset({"sp", "fo", "pct", "envelope_from", "scope"})
"""Elements a schema requires but every large reporter leaves out (or empty): their
absence is counted once per report (``AggregateReport.omitted``), not warned about."""
OPTIONAL_EMPTY_OK = frozenset(
    {"extra_contact_info", "comment", "human_result", "selector", "org_name", "type"}
)
"""Leaves whose emptiness is not worth a warning."""

# Elements a schema requires that real reporters leave out: read as absent, with a
# warning. From the XSDs of the dmarc.org draft, RFC 7489 appendix C and RFC 9990.
REQUIRED_POLICY = {
    AggregateSchema.DRAFT: ("sp", "pct"),
    AggregateSchema.RFC7489: ("pct", "fo"),
    AggregateSchema.RFC9990: ("sp",),
}
REQUIRED_AUTH = {
    AggregateSchema.RFC7489: {"spf": "scope"},
    AggregateSchema.RFC9990: {"dkim": "selector"},
}

MAX_REPAIRS = 20
MAX_WARNINGS = 100
"""Per report; further distinct warnings are counted in one closing line."""
MAX_TEXT_RUNS = 16
"""Text runs of up to 64 KiB buffered for one element: 1 MiB, then the report is refused."""
MAX_DEPTH = 256
MAX_TOKEN = (1 << 20) + 2 * CHUNK
"""Bytes expat may hold unparsed (a comment or tag it has not seen the end of)."""
MAX_PER_RECORD = 100
"""Auth results or reasons kept per record; a real record has one to three."""
