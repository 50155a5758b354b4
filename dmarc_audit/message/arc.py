"""ARC (RFC 8617): validate the chain and read what each intermediary saw.

The cryptography is dkimpy's (``dkim.ARC.verify``), run in a worker thread with
our resolver as its DNS function. The ARC sets are also read here, so the chain
can be shown even when it does not validate: instance, sealer, ``cv=``, and the
ARC-Authentication-Results of each hop.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from enum import Enum

from dmarc_audit.dkim.probe import result_from_answer
from dmarc_audit.dns.bridge import SyncBridge
from dmarc_audit.dns.types import Resolver
from dmarc_audit.message.authres import AuthResultsHeader, parse_authres
from dmarc_audit.message.parse import Message
from dmarc_audit.records.dkim_key import parse_tag_list

_INSTANCE = re.compile(r"(?:^|;)\s*i\s*=\s*(\d+)", re.IGNORECASE)
_ARC_FIELDS = ("arc-seal", "arc-message-signature", "arc-authentication-results")


class ArcStatus(str, Enum):
    """The chain validation status (``arc=`` in Authentication-Results)."""

    PASS = "pass"
    FAIL = "fail"
    NONE = "none"


@dataclass(frozen=True, slots=True)
class ArcHop:
    """One ARC set: who sealed it, what it attests, and whether it verified."""

    instance: int
    seal_domain: str | None
    seal_selector: str | None
    cv: str | None
    signature_domain: str | None
    """``d=`` of the ARC-Message-Signature."""
    results: AuthResultsHeader | None
    """The ARC-Authentication-Results: what this intermediary's checks found."""
    seal_valid: bool | None = None
    signature_valid: bool | None = None
    """``None`` when the verifier did not get as far as this set."""

    def to_json(self) -> dict[str, object]:
        return {
            "instance": self.instance,
            "seal": {
                "d": self.seal_domain,
                "s": self.seal_selector,
                "cv": self.cv,
                "valid": self.seal_valid,
            },
            "message_signature": {"d": self.signature_domain, "valid": self.signature_valid},
            "authserv_id": self.results.authserv_id if self.results else None,
            "results": _results_json(self.results),
        }


def _results_json(header: AuthResultsHeader | None) -> list[dict[str, object]]:
    if header is None:
        return []
    return [
        {"method": r.method, "result": r.result, "properties": dict(r.properties)}
        for r in header.results
    ]


@dataclass(frozen=True, slots=True)
class ArcEvaluation:
    """The chain's status and hops (instance 1 first)."""

    status: ArcStatus
    reason: str
    hops: tuple[ArcHop, ...] = ()
    lookup_failed: bool = False
    """A key lookup failed: the status may be a temporary failure."""

    @property
    def first_hop(self) -> ArcHop | None:
        return next((h for h in self.hops if h.instance == 1), None)

    @property
    def last_hop(self) -> ArcHop | None:
        return self.hops[-1] if self.hops else None


def read_arc_sets(message: Message) -> tuple[ArcHop, ...]:
    """The ARC sets found in the header, by instance (no verification)."""
    sets: dict[int, dict[str, str]] = {}
    for header in message.headers:
        if header.key not in _ARC_FIELDS:
            continue
        text = header.text
        match = _INSTANCE.search(text)
        if match is None:
            continue
        sets.setdefault(int(match.group(1)), {}).setdefault(header.key, text)
    hops = []
    for instance in sorted(sets):
        fields = sets[instance]
        seal = _tags(fields.get("arc-seal", ""))
        ams = _tags(fields.get("arc-message-signature", ""))
        aar = fields.get("arc-authentication-results")
        hops.append(
            ArcHop(
                instance=instance,
                seal_domain=seal.get("d"),
                seal_selector=seal.get("s"),
                cv=seal.get("cv", "").lower() or None,
                signature_domain=ams.get("d"),
                results=parse_authres(aar, arc=True) if aar is not None else None,
            )
        )
    return tuple(hops)


def _tags(text: str) -> dict[str, str]:
    try:
        return {
            name: value.strip().lower() if name in ("d", "s", "cv") else value
            for name, value in parse_tag_list(text)
        }
    except ValueError:
        return {}


async def verify_arc(resolver: Resolver, message: Message) -> ArcEvaluation:
    """Validate the ARC chain (RFC 8617 §5.2)."""
    hops = read_arc_sets(message)
    if not hops:
        return ArcEvaluation(ArcStatus.NONE, "the message has no ARC sets")
    failures: list[str] = []
    bridge = SyncBridge(resolver, asyncio.get_running_loop())
    cv, results, reason = await asyncio.to_thread(_verify, message.raw, bridge, failures)
    by_instance = {r.get("instance"): r for r in results}
    merged = []
    for hop in hops:
        data = by_instance.get(hop.instance)
        if data is None:
            merged.append(hop)
            continue
        merged.append(
            ArcHop(
                hop.instance,
                hop.seal_domain,
                hop.seal_selector,
                hop.cv,
                hop.signature_domain,
                hop.results,
                seal_valid=bool(data.get("as-valid")),
                signature_valid=bool(data.get("ams-valid")),
            )
        )
    status = ArcStatus.PASS if cv == b"pass" else ArcStatus.FAIL
    if status is ArcStatus.PASS:
        reason = f"the chain of {len(hops)} ARC set{'s' if len(hops) > 1 else ''} validates"
    elif failures:
        reason = f"{reason}; key lookup failed: {', '.join(failures)}"
    return ArcEvaluation(status, reason, tuple(merged), lookup_failed=bool(failures))


def _verify(raw: bytes, bridge: SyncBridge, failures: list[str]):
    import dkim

    from dmarc_audit.message.dkim_verify import quiet_logger

    def dnsfunc(name, timeout: float = 5) -> bytes | None:
        text = (name.decode("ascii", "replace") if isinstance(name, bytes) else name).rstrip(".")
        answer = bridge.query(text, "TXT")
        if answer.failed:
            failures.append(f"{text} ({answer.describe()})")
            return None
        lookup = result_from_answer(text.split("._domainkey.", 1)[0], text, answer)
        return lookup.key.text.encode("latin-1", "replace") if lookup.key else None

    try:
        return dkim.ARC(raw, logger=quiet_logger(), minkey=1024).verify(dnsfunc=dnsfunc)
    except dkim.DKIMException as exc:
        return dkim.CV_Fail, [], str(exc)
