"""DMARC failure (forensic) reports: AFRF, RFC 6591 with RFC 9991's DMARC use.

A failure report is a ``multipart/report`` message whose ``message/feedback-report``
part holds ``Name: value`` fields (Feedback-Type, Source-IP, Reported-Domain, ...),
followed by the failed message or its headers.

Some senders (an exim setup, for one) send only a plain-text description with
the headers copied below it and no feedback-report part. Such a message is read
as a failure report *with a warning*: the fields come from the ``Sender Domain:``
style lines, which no standard defines. It is accepted only when it says it is a
DMARC report (``multipart/report`` or a "DMARC failure/forensic report" subject)
and names at least the domain or the sending IP; otherwise it is an error.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import quopri
import re
from datetime import UTC, datetime
from email.header import decode_header, make_header
from email.message import Message
from email.parser import HeaderParser
from email.policy import compat32
from email.utils import parseaddr, parsedate_to_datetime

from dmarc_audit.reports.model import FailureReport, ParseWarning, ReportError

NO_ARF_WARNING = (
    "no message/feedback-report part (RFC 6591): the fields were read from "
    "the plain-text body, which follows no standard"
)


def read_failure(message: Message, source: str) -> FailureReport | ReportError:
    """Read a message that has a ``message/feedback-report`` part."""
    warnings: list[ParseWarning] = []
    part = _find(message, "message/feedback-report")
    if part is None:
        return ReportError(source, "no message/feedback-report part")
    fields = _feedback_fields(part, warnings)
    if fields is None:
        return ReportError(source, "the message/feedback-report part cannot be decoded")
    feedback_type = (fields.get("Feedback-Type") or "").strip().lower()
    if not feedback_type:
        warnings.append(ParseWarning("no Feedback-Type field; read as auth-failure"))
        feedback_type = "auth-failure"
    original = _original_headers(message)
    arrival = fields.get("Arrival-Date") or fields.get("Received-Date")
    return FailureReport(
        source=source,
        feedback_type=feedback_type,
        arrival_date=_date(arrival, "Arrival-Date", warnings),
        reported_domain=_lower(fields.get("Reported-Domain")),
        source_ip=_ip(fields.get("Source-IP"), warnings),
        original_mail_from=_addr(fields.get("Original-Mail-From")),
        original_rcpt_to=_addr(fields.get("Original-Rcpt-To")),
        auth_failure=_lower(fields.get("Auth-Failure")),
        delivery_result=_lower(fields.get("Delivery-Result")),
        authentication_results=_clean(fields.get("Authentication-Results")),
        dkim_domain=_lower(fields.get("DKIM-Domain")),
        subject=_decoded(original.get("Subject")) if original else None,
        header_from=_from_domain(original.get("From")) if original else None,
        reporter=_reporter(message),
        warnings=tuple(warnings),
    )


def read_plain_failure(
    message: Message, source: str, parts: tuple[str, ...] = ()
) -> FailureReport | ReportError:
    """A message without a report part: a plain-text failure report, or an error."""
    subject = _decoded(message.get("Subject")) or ""
    says_dmarc = (
        message.get_content_type() == "multipart/report" or _SUBJECT.search(subject) is not None
    )
    body = "\n".join(_texts(message))
    fields = {
        key: m.group(1).strip() for key, rx in _PLAIN_FIELDS.items() if (m := rx.search(body))
    }
    if not says_dmarc or not (fields.get("domain") or fields.get("ip")):
        kinds = ", ".join(dict.fromkeys(parts)) or message.get_content_type()
        return ReportError(source, f"no report found in the message (parts: {kinds})")
    warnings = [ParseWarning(NO_ARF_WARNING)]
    copied = _copied_headers(body)
    auth = copied.get("Authentication-Results") if copied else None
    return FailureReport(
        source=source,
        feedback_type="auth-failure",
        arrival_date=_date(fields.get("date"), "Received date", warnings),
        reported_domain=_lower(fields.get("domain")),
        source_ip=_ip(fields.get("ip"), warnings),
        original_mail_from=None,
        original_rcpt_to=None,
        auth_failure="dmarc",
        delivery_result=None,
        authentication_results=_clean(auth),
        dkim_domain=None,
        subject=_decoded(copied.get("Subject")) if copied else None,
        header_from=_from_domain(copied.get("From")) if copied else None,
        reporter=_reporter(message),
        warnings=tuple(warnings),
    )


_SUBJECT = re.compile(r"\bDMARC\b.*\b(failure|forensic)\b.*\breport\b", re.I)
_PLAIN_FIELDS = {
    "domain": re.compile(r"(?im)^\s*Sender Domain:[ \t]*(\S+)"),
    "ip": re.compile(r"(?im)^\s*Sender IP Address:[ \t]*(\S+)"),
    "date": re.compile(r"(?im)^\s*Received date:[ \t]*(.+)$"),
}
_COMMENT = re.compile(r"\([^()]*\)")
_COPY_MARK = re.compile(r"(?im)^-+ .*cop(y|ies) of the headers.*$")


def _find(message: Message, ctype: str) -> Message | None:
    for part in message.walk():
        if part.get_content_type() == ctype:
            return part
    return None


def _feedback_fields(part: Message, warnings: list[ParseWarning]) -> Message | None:
    """The feedback-report fields, decoding a base64 or quoted-printable part."""
    payload = part.get_payload()
    encoding = (part.get("Content-Transfer-Encoding") or "").strip().lower()
    if isinstance(payload, list) and payload and encoding not in ("base64", "quoted-printable"):
        return payload[0]
    if isinstance(payload, list):  # parsed as a message although it was encoded
        raw = payload[0].as_bytes() if payload else b""
    else:
        raw = payload.encode("ascii", "replace") if isinstance(payload, str) else b""
    try:
        if encoding == "base64":
            data = base64.b64decode(re.sub(rb"\s+", b"", raw), validate=False)
        elif encoding == "quoted-printable":
            data = quopri.decodestring(raw)
        else:
            data = raw
    except (binascii.Error, ValueError):
        return None
    if encoding:
        warnings.append(ParseWarning(f"the feedback-report fields are {encoding}-encoded"))
    return HeaderParser(policy=compat32).parsestr(data.decode("utf-8", "replace"))


def _original_headers(message: Message) -> Message | None:
    """Headers of the failed message: the message/rfc822 or text/rfc822-headers part."""
    for part in message.walk():
        ctype = part.get_content_type()
        if ctype == "message/rfc822":
            inner = part.get_payload()
            if isinstance(inner, list) and inner and isinstance(inner[0], Message):
                return inner[0]
        if ctype == "text/rfc822-headers":
            data = part.get_payload(decode=True)
            if isinstance(data, bytes):
                return HeaderParser(policy=compat32).parsestr(data.decode("utf-8", "replace"))
    return None


def _texts(message: Message) -> list[str]:
    texts = []
    for part in message.walk():
        if part.get_content_type() == "text/plain":
            data = part.get_payload(decode=True)
            if isinstance(data, bytes):
                charset = part.get_content_charset() or "utf-8"
                try:
                    texts.append(data.decode(charset, "replace"))
                except LookupError:
                    texts.append(data.decode("utf-8", "replace"))
    return texts


def _copied_headers(body: str) -> Message | None:
    mark = _COPY_MARK.search(body)
    if mark is None:
        return None
    return HeaderParser(policy=compat32).parsestr(body[mark.end() :].lstrip("\r\n"))


def _decoded(value: object) -> str | None:
    if value is None:
        return None
    try:
        return str(make_header(decode_header(str(value)))).strip()
    except (ValueError, LookupError, UnicodeError):
        return str(value).strip()


def _clean(value: object) -> str | None:
    if value is None:
        return None
    text = " ".join(str(value).split())
    return text or None


def _lower(value: object) -> str | None:
    text = _clean(value)
    return text.lower() if text else None


def _addr(value: object) -> str | None:
    text = _clean(value)
    if not text:
        return None
    return parseaddr(text)[1] or text.strip("<>") or None


def _from_domain(value: object) -> str | None:
    address = parseaddr(_decoded(value) or "")[1]
    domain = address.rpartition("@")[2].strip().lower()
    return domain or None


def _reporter(message: Message) -> str | None:
    return parseaddr(_decoded(message.get("From")) or "")[1] or None


def _ip(value: object, warnings: list[ParseWarning]) -> str | None:
    text = _clean(value)
    if not text:
        return None
    address = _COMMENT.sub(" ", text).strip()  # RFC 5965 allows CFWS: "192.0.2.1 (host)"
    try:
        return str(ipaddress.ip_address(address.strip("[]")))
    except ValueError:
        warnings.append(ParseWarning(f"Source-IP {text!r} is not an IP address; ignored"))
        return None


def _date(value: object, field: str, warnings: list[ParseWarning]) -> datetime | None:
    text = _clean(value)
    if not text:
        return None
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        warnings.append(ParseWarning(f"{field} {text!r} is not a date; ignored"))
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(UTC)
