"""Bulk-sender header checks: one-click unsubscribe (RFC 8058) for list and marketing mail.

A message counts as bulk when it carries list or campaign markers: ``List-Id``,
``List-Unsubscribe``, ``Precedence: bulk|list``, or a header field that e-mail
service providers add to campaign mail. For such mail Gmail and Yahoo require
``List-Unsubscribe`` with an https URI, ``List-Unsubscribe-Post:
List-Unsubscribe=One-Click``, and a valid DKIM signature covering both (RFC 8058 §3.1, §4).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from dmarc_audit.message.dkim_verify import DkimReason, DkimVerification
from dmarc_audit.message.parse import Message

ONE_CLICK = "List-Unsubscribe=One-Click"
_ESP_PREFIXES = (
    "x-mailgun-",
    "x-sg-",
    "x-ses-",
    "x-mc-",
    "x-mailchimp-",
    "x-campaign",
    "x-csa-complaints",
    "x-msys-api",
    "x-pm-message-id",
    "x-mandrill-",
    "x-mailin-",
    "x-sib-",
    "x-marketo-",
    "x-klaviyo-",
    "x-hs-",
    "x-emarsys-",
    "feedback-id",
)
_URI = re.compile(r"<([^>]*)>")


@dataclass(frozen=True, slots=True)
class BulkCheck:
    """Whether the message looks like bulk mail, and its unsubscribe headers."""

    is_bulk: bool
    markers: tuple[str, ...]
    """Why it counts as bulk: ``List-Id``, ``Precedence: bulk``, ``X-Mailgun-Tag``, ..."""
    list_unsubscribe: str | None
    uris: tuple[str, ...]
    post: str | None
    signed_by: tuple[str, ...]
    """``d=`` of passing DKIM signatures whose ``h=`` covers both headers."""
    problems: tuple[str, ...]
    """Definite problems: what is wrong whatever DNS says."""
    undecided: tuple[str, ...] = ()
    """What could not be checked: a signature covering both headers whose key lookup
    failed, when no signature passed (the one-click check is then unknown, not failed)."""

    @property
    def https_uri(self) -> str | None:
        return next((u for u in self.uris if u.lower().startswith("https://")), None)

    @property
    def one_click(self) -> bool:
        return self.post is not None and ONE_CLICK.lower() in _tokens(self.post)

    @property
    def ok(self) -> bool:
        return not self.problems and not self.undecided

    def to_json(self) -> dict[str, object]:
        return {
            "is_bulk": self.is_bulk,
            "markers": list(self.markers),
            "list_unsubscribe": self.list_unsubscribe,
            "uris": list(self.uris),
            "https_uri": self.https_uri,
            "list_unsubscribe_post": self.post,
            "one_click": self.one_click,
            "signed_by": list(self.signed_by),
            "problems": list(self.problems),
        }


def _tokens(value: str) -> list[str]:
    return [part.strip().lower() for part in value.split(",")]


def bulk_markers(message: Message) -> tuple[str, ...]:
    """The header fields that mark the message as list or campaign mail."""
    markers: list[str] = []
    for name in ("List-Id", "List-Unsubscribe"):
        if message.has(name):
            markers.append(name)
    precedence = message.first("precedence")
    if precedence is not None and precedence.text.lower() in ("bulk", "list"):
        markers.append(f"Precedence: {precedence.text.lower()}")
    for header in message.headers:
        if header.key.startswith(_ESP_PREFIXES) and header.name not in markers:
            markers.append(header.name)
    return tuple(markers)


def check_bulk(message: Message, dkim: Sequence[DkimVerification]) -> BulkCheck:
    """RFC 8058 one-click unsubscribe for bulk mail (nothing to report for other mail)."""
    markers = bulk_markers(message)
    header = message.first("list-unsubscribe")
    post_header = message.first("list-unsubscribe-post")
    text = header.text if header is not None else None
    uris = tuple(u.strip() for u in _URI.findall(text or ""))
    post = post_header.text if post_header is not None else None
    covering = [
        v
        for v in dkim
        if {"list-unsubscribe", "list-unsubscribe-post"} <= set(v.signature.signed_headers)
    ]
    signed_by = tuple(dict.fromkeys(v.domain or "" for v in covering if v.passed))
    unverified = tuple(
        dict.fromkeys(
            f"d={v.domain or '?'} s={v.signature.selector or '?'}"
            for v in covering
            if v.reason is DkimReason.KEY_LOOKUP_FAILED
        )
    )
    problems: list[str] = []
    undecided: tuple[str, ...] = ()
    if markers:
        problems = _problems(text, uris, post, signed_by, bool(unverified))
        if text is not None and post is not None and not signed_by and unverified:
            undecided = tuple(
                f"DKIM signature {sig} covers both header fields but its key lookup "
                "failed, so whether it is valid could not be checked"
                for sig in unverified
            )
    return BulkCheck(
        bool(markers), markers, text, uris, post, signed_by, tuple(problems), undecided
    )


def _problems(
    text: str | None,
    uris: tuple[str, ...],
    post: str | None,
    signed_by: tuple[str, ...],
    unverified: bool,
) -> list[str]:
    problems = []
    if text is None:
        problems.append("no List-Unsubscribe header field")
    elif not any(u.lower().startswith("https://") for u in uris):
        shown = ", ".join(uris) if uris else text
        problems.append(f"List-Unsubscribe has no https URI ({shown}); one-click needs one")
    if post is None:
        problems.append(f"no List-Unsubscribe-Post: {ONE_CLICK} header field")
    elif ONE_CLICK.lower() not in _tokens(post):
        problems.append(f"List-Unsubscribe-Post is {post!r}, not {ONE_CLICK!r}")
    if text is not None and post is not None and not signed_by and not unverified:
        problems.append(
            "no valid DKIM signature covers both List-Unsubscribe and "
            "List-Unsubscribe-Post (RFC 8058 §4)"
        )
    return problems
