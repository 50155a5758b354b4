"""The result of analysing one message, and its JSON shape (docs/message.md)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from dmarc_audit.dmarc.facts import DmarcDiscovery
from dmarc_audit.exit_status import ExitStatus
from dmarc_audit.findings import Finding
from dmarc_audit.message.alignment import AlignmentCheck
from dmarc_audit.message.arc import ArcEvaluation
from dmarc_audit.message.authres import AuthResult, format_authres
from dmarc_audit.message.compare import Comparison
from dmarc_audit.message.connection import Connection, Fact
from dmarc_audit.message.dkim_verify import DkimVerification
from dmarc_audit.message.parse import FromInfo, Message
from dmarc_audit.message.unsubscribe import BulkCheck
from dmarc_audit.records.dmarc import Alignment, DmarcMode
from dmarc_audit.spf.evaluate import SpfResult

MESSAGE_SCHEMA_VERSION = 1


class DmarcResult(str, Enum):
    """The DMARC result (RFC 8601 words, plus ``unknown`` when it cannot be decided)."""

    PASS = "pass"
    FAIL = "fail"
    NONE = "none"
    """No DMARC policy applies (no record, or an unusable one)."""
    TEMPERROR = "temperror"
    PERMERROR = "permerror"
    """No usable RFC5322.From domain."""
    UNKNOWN = "unknown"
    """SPF could have decided but was not evaluated (no connecting IP known)."""

    @property
    def exit_status(self) -> ExitStatus:
        if self is DmarcResult.PASS:
            return ExitStatus.OK
        if self in (DmarcResult.TEMPERROR, DmarcResult.UNKNOWN):
            return ExitStatus.INCOMPLETE
        return ExitStatus.FINDINGS


@dataclass(frozen=True, slots=True)
class SpfCheck:
    """SPF for the connecting IP, and the domain it can authenticate for DMARC."""

    result: SpfResult | None
    identity: str
    """``mailfrom``, ``helo``, or ``""`` when SPF was not evaluated."""
    domain: str | None
    """The domain ``check_host()`` was run for."""
    dmarc_domain: str | None
    """The SPF-Authenticated Identifier DMARC may align (None: none usable)."""
    skipped: str | None = None
    """Why SPF was not evaluated."""
    note: str = ""
    dmarc_relevant: bool = True
    """Whether SPF could give DMARC an aligned pass (not for a null MAIL FROM under RFC 9989)."""

    @property
    def code(self) -> str | None:
        return self.result.result.value if self.result is not None else None

    @property
    def passed(self) -> bool:
        return self.code == "pass"

    def to_json(self) -> dict[str, object]:
        result = self.result
        return {
            "result": self.code,
            "identity": self.identity or None,
            "domain": self.domain,
            "dmarc_domain": self.dmarc_domain,
            "skipped": self.skipped,
            "note": self.note or None,
            "sender": result.sender if result else None,
            "reason": result.reason if result else None,
            "matched_term": result.matched_term if result else None,
            "matched_domain": result.matched_domain if result else None,
            "explanation": result.explanation if result else None,
            "lookups": result.lookups if result else None,
            "void_lookups": result.void_lookups if result else None,
            "steps": list(result.steps) if result else [],
        }


@dataclass(frozen=True, slots=True)
class ArcOverride:
    """Whether a valid ARC chain gives a receiver grounds to override a DMARC failure."""

    possible: bool
    reason: str
    evidence: tuple[str, ...] = ()

    def to_json(self) -> dict[str, object]:
        return {"possible": self.possible, "reason": self.reason, "evidence": list(self.evidence)}


@dataclass(frozen=True, slots=True)
class DmarcEvaluation:
    """The DMARC verdict, the policy behind it, and the alignment of each identifier."""

    result: DmarcResult
    reason: str
    from_domain: str | None
    discovery: DmarcDiscovery | None
    adkim: Alignment
    aspf: Alignment
    dkim: tuple[AlignmentCheck, ...]
    spf: AlignmentCheck | None
    disposition: str
    """What a receiver following the policy does: ``none``, ``quarantine`` or ``reject``."""
    disposition_reason: str
    override: ArcOverride | None = None

    @property
    def aligned_pass(self) -> tuple[str, ...]:
        """``dkim`` and/or ``spf``: the identifiers that pass aligned."""
        found = []
        if any(check.aligned for check in self.dkim):
            found.append("dkim")
        if self.spf is not None and self.spf.aligned:
            found.append("spf")
        return tuple(found)

    def to_json(self) -> dict[str, object]:
        discovery = self.discovery
        record = discovery.record if discovery else None
        policy = None
        if discovery is not None:
            policy = {
                "status": discovery.status,
                "record": record.text if record else None,
                "record_name": discovery.record_name,
                "found_at": discovery.found_at,
                "org_domain": discovery.org_domain,
                "policy_source": discovery.policy_source or None,
                "stated_policy": _value(discovery.stated_policy),
                "applied_policy": _value(discovery.applied_policy),
                "explanation": discovery.explanation,
                "queries": list(discovery.queries),
            }
        return {
            "result": self.result.value,
            "reason": self.reason,
            "from_domain": self.from_domain,
            "policy": policy,
            "adkim": _mode(self.adkim),
            "aspf": _mode(self.aspf),
            "aligned_pass": list(self.aligned_pass),
            "alignment": {
                "dkim": [c.to_json() for c in self.dkim],
                "spf": self.spf.to_json() if self.spf else None,
            },
            "disposition": self.disposition,
            "disposition_reason": self.disposition_reason,
            "arc_override": self.override.to_json() if self.override else None,
        }


def _value(enum: Enum | None) -> str | None:
    return enum.value if enum is not None else None


def _mode(mode: Alignment) -> str:
    return "strict" if mode is Alignment.STRICT else "relaxed"


@dataclass(frozen=True, slots=True)
class MessageReport:
    """Everything ``dmarc-audit message`` found out about one message."""

    source: str
    mode: DmarcMode
    authserv_id: str
    message: Message
    from_info: FromInfo
    connection: Connection
    dkim: tuple[DkimVerification, ...]
    spf: SpfCheck
    dmarc: DmarcEvaluation
    arc: ArcEvaluation
    bulk: BulkCheck
    results: tuple[AuthResult, ...]
    """Our verdict as Authentication-Results entries."""
    findings: tuple[Finding, ...]
    comparisons: tuple[Comparison, ...] | None = None

    @property
    def exit_status(self) -> ExitStatus:
        """0 when DMARC passes; 1 fail/none/no usable From; 3 could not decide."""
        return self.dmarc.result.exit_status

    @property
    def headline(self) -> str:
        """The verdict in one line: ``DMARC fail: … → reject``."""
        text = f"DMARC {self.dmarc.result.value}: {self.dmarc.reason}"
        if self.dmarc.result is DmarcResult.FAIL:
            text += f" → {self.dmarc.disposition}"
        return text

    def authentication_results(self, *, fold: bool = True) -> str:
        """Our verdict as an ``Authentication-Results:`` header field."""
        return format_authres(self.authserv_id, self.results, fold=fold)

    def to_json(self) -> dict[str, object]:
        """The documented JSON shape (without the ``dns`` section the renderer adds)."""
        return {
            "schema_version": MESSAGE_SCHEMA_VERSION,
            "source": self.source,
            "dmarc_mode": self.mode.value,
            "verdict": {
                "dmarc": self.dmarc.result.value,
                "headline": self.headline,
                "disposition": self.dmarc.disposition,
                "exit_status": int(self.exit_status),
            },
            "message": self._message_json(),
            "connection": self._connection_json(),
            "dkim": [_dkim_json(v) for v in self.dkim],
            "spf": self.spf.to_json(),
            "dmarc": self.dmarc.to_json(),
            "arc": {
                "status": self.arc.status.value,
                "reason": self.arc.reason,
                "hops": [hop.to_json() for hop in self.arc.hops],
            },
            "bulk": self.bulk.to_json(),
            "authentication_results": self.authentication_results(fold=False),
            "comparisons": (
                [c.to_json() for c in self.comparisons] if self.comparisons is not None else None
            ),
            "findings": [f.to_json() for f in self.findings],
        }

    def _message_json(self) -> dict[str, object]:
        info = self.from_info
        first = self.message.first("subject")
        message_id = self.message.first("message-id")
        return {
            "from": {
                "status": info.status.value,
                "domain": info.domain,
                "fields": info.fields,
                "addresses": [
                    {"display": a.display, "address": a.address, "domain": a.domain}
                    for a in info.authors
                ],
                "reason": info.reason,
            },
            "subject": first.text if first else None,
            "message_id": message_id.text if message_id else None,
            "header_fields": len(self.message.headers),
            "notes": list(self.message.notes),
        }

    def _connection_json(self) -> dict[str, object]:
        conn = self.connection

        def fact(value: Fact | None) -> dict[str, str] | None:
            return value.to_json() if value is not None else None

        entry = conn.entry
        return {
            "ip": fact(conn.ip),
            "helo": fact(conn.helo),
            "mail_from": fact(conn.mail_from),
            "entry_received": entry.describe() if entry else None,
            "notes": list(conn.notes),
        }


def _dkim_json(v: DkimVerification) -> dict[str, object]:
    sig = v.signature
    key = v.key
    return {
        "index": sig.index,
        "d": sig.domain,
        "s": sig.selector,
        "a": sig.algorithm,
        "c": sig.canonicalization,
        "i": sig.identity,
        "l": sig.body_length,
        "h": list(sig.signed_headers),
        "t": sig.timestamp,
        "x": sig.expires,
        "result": v.result.value,
        "reason": v.reason.value,
        "detail": v.detail,
        "key": None
        if v.lookup is None
        else {
            "name": v.lookup.name,
            "status": v.lookup.status.value,
            "type": key.key_type if key else None,
            "bits": key.key_bits if key else None,
            "record": key.text if key else None,
        },
        "warnings": list(v.warnings),
    }
