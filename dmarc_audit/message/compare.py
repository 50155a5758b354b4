"""``--compare``: set the message's own Authentication-Results beside our verdict.

Fields above the entry ``Received`` were written by the receiving organisation
and describe the same connection we evaluate; fields below it were written by
earlier hops (a forwarder about its own connection) and are shown for reference.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from dmarc_audit.message.authres import AuthResult, parse_authres
from dmarc_audit.message.parse import Message

COMPARED_METHODS = ("dkim", "spf", "dmarc", "arc")
_SYNONYMS = {"hardfail": "fail"}


@dataclass(frozen=True, slots=True)
class Comparison:
    """One result a receiver wrote, and ours for the same thing."""

    authserv_id: str
    line: int
    receiver: bool
    """Written by the receiving organisation (not by an earlier hop)."""
    method: str
    subject: str
    """What the result is about: ``header.d=shop.example header.s=s1``, ``header.from=…``."""
    theirs: str
    ours: str | None
    note: str = ""

    @property
    def agree(self) -> bool:
        return self.ours is not None and _SYNONYMS.get(self.theirs, self.theirs) == self.ours

    @property
    def pass_differs(self) -> bool:
        """One side says pass and the other does not (the difference that changes delivery)."""
        return self.ours is not None and (self.theirs == "pass") != (self.ours == "pass")

    def to_json(self) -> dict[str, object]:
        return {
            "authserv_id": self.authserv_id,
            "line": self.line,
            "receiver": self.receiver,
            "method": self.method,
            "subject": self.subject,
            "theirs": self.theirs,
            "ours": self.ours,
            "agree": self.agree,
            "pass_differs": self.pass_differs,
            "note": self.note,
        }


def compare_results(
    message: Message, ours: Sequence[AuthResult], receiver_limit: int | None
) -> tuple[Comparison, ...]:
    """Every dkim/spf/dmarc/arc result in the message's Authentication-Results, with ours."""
    found = []
    for field in message.all("authentication-results"):
        header = parse_authres(field.text, field_index=field.index)
        receiver = receiver_limit is None or field.index < receiver_limit
        for theirs in header.results:
            if theirs.method not in COMPARED_METHODS:
                continue
            mine, note = _match(theirs, ours)
            if not receiver:
                note = (
                    note + "; " if note else ""
                ) + "written by an earlier hop about its own connection"
            found.append(
                Comparison(
                    header.authserv_id,
                    field.line,
                    receiver,
                    theirs.method,
                    _subject(theirs),
                    theirs.result,
                    mine.result if mine is not None else None,
                    note,
                )
            )
    return tuple(found)


def _subject(result: AuthResult) -> str:
    keys = {
        "dkim": ("header.d", "header.i", "header.s"),
        "spf": ("smtp.mailfrom", "smtp.helo"),
        "dmarc": ("header.from",),
        "arc": ("header.oldest-pass", "smtp.remote-ip"),
    }[result.method]
    return " ".join(f"{k}={result.prop(k)}" for k in keys if result.prop(k))


def _match(theirs: AuthResult, ours: Sequence[AuthResult]) -> tuple[AuthResult | None, str]:
    same = [r for r in ours if r.method == theirs.method]
    if theirs.method != "dkim":
        if not same:
            return None, "not evaluated here"
        return same[0], ""
    b = theirs.prop("header.b")
    if b:
        hit = next((r for r in same if (r.prop("header.b") or "").startswith(b[:8])), None)
        if hit is not None:
            return hit, ""
    domain = _dkim_domain(theirs)
    selector = (theirs.prop("header.s") or "").lower()
    candidates = [r for r in same if _dkim_domain(r) == domain]
    if selector:
        candidates = [
            r for r in candidates if (r.prop("header.s") or "").lower() == selector
        ] or candidates
    if not candidates:
        return None, "no signature with this domain in the message now"
    return candidates[0], ""


def _dkim_domain(result: AuthResult) -> str:
    domain = result.prop("header.d")
    if not domain:
        domain = (result.prop("header.i") or "").rpartition("@")[2]
    return domain.lower().rstrip(".")
