"""Record and metadata building: the fields the callbacks collected, checked and typed.

The callbacks (:mod:`.careful`, :mod:`.fast`) gather each element's text into
small dicts; a :class:`Builder` turns them into :class:`AggregateRecord`,
:class:`AuthResult` and :class:`AggregateMeta`, with a warning for every quirk.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from socket import AF_INET, AF_INET6, inet_ntop, inet_pton
from typing import NamedTuple

from dmarc_audit.reports.aggregate.signals import Reject, Warnings
from dmarc_audit.reports.aggregate.vocabulary import (
    MAX_PER_RECORD,
    NS_DMARC_2,
    OPTIONAL_IN_PRACTICE,
    REQUIRED_AUTH,
    REQUIRED_POLICY,
)
from dmarc_audit.reports.model import (
    AggregateMeta,
    AggregateRecord,
    AggregateSchema,
    AuthResult,
    PolicyPublished,
)

_DECIMAL = re.compile(r"\d+\.\d*")
_MAX_EPOCH = 253402300800  # 10000-01-01
_RECORD_REQUIRED = ("disposition", "dkim", "spf", "header_from")
_POLICY_WORDS = ("p", "sp", "np", "adkim", "aspf", "testing", "discovery_method")


class Item(NamedTuple):
    """One ``<record>`` in document order: the record, or why and where it was skipped."""

    ordinal: int
    record: AggregateRecord | None
    why: str = ""
    where: str = ""


class Skip(NamedTuple):
    """A record that cannot be read: why."""

    why: str


class MetaFields(NamedTuple):
    """What the callbacks collected before the first record."""

    fields: Mapping[str, str]
    """``report_metadata`` leaves (first occurrence of each)."""
    policy: Mapping[str, str]
    """The first ``policy_published``'s leaves."""
    policies: int
    errors: Sequence[str]
    version: str | None
    namespace: str | None


class Builder:
    """Typed values from collected text; ``where`` names the place being read."""

    def __init__(self, warnings: Warnings, where: Callable[[], str]) -> None:
        self.warnings = warnings
        self.where = where
        self.schema: AggregateSchema | None = None
        self.required: Mapping[str, str] = {}
        """Auth result fields the schema requires: method → element."""
        self.envelope_from_required = False

    # small helpers ------------------------------------------------------------

    def lower(self, value: str, field: str) -> str:
        low = value.lower()
        if low != value:
            self.warnings.add(
                f"upper-case value {value!r} in <{field}> read as {low!r}",
                self.where(),
                key=("case", field),
            )
        return low

    def missing(self, name: str, where: str) -> None:
        """An element the report's own schema requires but real reporters leave out."""
        if name in OPTIONAL_IN_PRACTICE:
            self.warnings.omit(name)
            return
        schema = self.schema.value if self.schema else "its"
        self.warnings.add(
            f"{where} without <{name}>, which the {schema} schema requires",
            self.where(),
            key=("required", where, name),
        )

    def too_many(self, what: str) -> None:
        self.warnings.add(
            f"more than {MAX_PER_RECORD} of {what} in a record; the rest ignored",
            self.where(),
            key=("too-many", what),
        )

    # records ------------------------------------------------------------------

    def auth_result(self, auth: Mapping[str, str]) -> AuthResult:
        method = auth["method"]
        result = auth.get("result")
        if result is None:
            self.warnings.add(
                f"a {method} auth result without <result>",
                self.where(),
                key=("no-result", method),
            )
            result = ""
        elif not result.islower() and result:
            result = self.lower(result, "result")
        scope = auth.get("scope") or None
        if scope is not None and not scope.islower():
            scope = self.lower(scope, "scope")
        if method in self.required and self.required[method] not in auth:
            self.missing(self.required[method], f"a {method} auth result")
        return AuthResult(
            method=method,
            domain=auth.get("domain", ""),
            result=result,
            selector=auth.get("selector") or None,
            scope=scope,
            human_result=auth.get("human_result") or None,
        )

    def record(
        self,
        rec: Mapping[str, str],
        reasons: Sequence[tuple[str, str]],
        auths: Sequence[AuthResult],
    ) -> AggregateRecord | Skip:
        ip_text = rec.get("source_ip", "")
        try:
            source_ip = parse_ip(ip_text)
        except ValueError:
            return Skip(f"source_ip {ip_text!r} is not an IP address")
        count_text = rec.get("count", "")
        if not (count_text.isdigit() and count_text.isascii()):
            return Skip(f"count {count_text!r} is not a whole number")
        if not ("disposition" in rec and "dkim" in rec and "spf" in rec and "header_from" in rec):
            self._missing_fields(rec)
        if self.envelope_from_required and "envelope_from" not in rec:
            self.missing("envelope_from", "a record")
        disposition, dkim, spf = (self._word(rec, k) for k in ("disposition", "dkim", "spf"))
        return AggregateRecord(
            source_ip=source_ip,
            count=int(count_text),
            disposition=disposition,
            dkim_aligned=dkim,
            spf_aligned=spf,
            header_from=rec.get("header_from") or "",
            envelope_from=rec.get("envelope_from") or None,
            envelope_to=rec.get("envelope_to") or None,
            reasons=tuple(reasons),
            auth_results=tuple(auths),
        )

    def _word(self, rec: Mapping[str, str], field: str) -> str:
        value = rec.get(field)
        if not value:
            return ""
        return value if value.islower() else self.lower(value, field)

    def _missing_fields(self, rec: Mapping[str, str]) -> None:
        for required in _RECORD_REQUIRED:
            if required not in rec:
                self.warnings.add(
                    f"a record without <{required}>", self.where(), key=("missing", required)
                )

    # metadata -----------------------------------------------------------------

    def meta(self, collected: MetaFields) -> AggregateMeta:
        """The report's metadata; sets the schema the records are then read by."""
        self.schema = schema = _schema(collected.version, collected.namespace, self.warnings)
        self.envelope_from_required = schema is not AggregateSchema.DRAFT
        self.required = REQUIRED_AUTH.get(schema, {})
        fields = collected.fields
        report_id = fields.get("report_id", "")
        if not report_id:
            raise Reject("no <report_id> in <report_metadata>")
        begin = self._time(fields.get("begin"), "begin")
        end = self._time(fields.get("end"), "end")
        if end < begin:
            self.warnings.add("the date range ends before it begins")
        email = fields.get("email") or None
        return AggregateMeta(
            org_name=self._org_name(fields.get("org_name", ""), email),
            email=email,
            report_id=report_id,
            begin=begin,
            end=end,
            policy=self._policy(collected),
            schema=schema,
            extra_contact=fields.get("extra_contact_info") or None,
            errors=tuple(collected.errors),
            generator=fields.get("generator") or None,
        )

    def _org_name(self, org_name: str, email: str | None) -> str:
        if org_name:
            return org_name
        fallback = email.rpartition("@")[2] if email and "@" in email else ""
        self.warnings.add(
            "empty <org_name>" + (f"; using {fallback!r} from <email>" if fallback else "")
        )
        return fallback

    def _policy(self, collected: MetaFields) -> PolicyPublished:
        if collected.policies == 0:
            raise Reject("no <policy_published> before the records")
        fields = collected.policy
        for name in REQUIRED_POLICY.get(self.schema, ()):  # type: ignore[arg-type]
            if name not in fields:
                self.missing(name, "<policy_published>")
        domain = fields.get("domain", "")
        if not domain:
            raise Reject("no <domain> in <policy_published>")
        values = {
            k: (self.lower(v, k) if v else None) for k, v in fields.items() if k in _POLICY_WORDS
        }
        return PolicyPublished(
            domain=domain,
            pct=self._pct(fields.get("pct") or None),
            fo=fields.get("fo") or None,
            **values,
        )

    def _pct(self, text: str | None) -> int | None:
        if text is None:
            return None
        if text.isascii() and text.isdigit():
            return int(text)
        self.warnings.add(f"<pct> {text!r} is not a number; ignored")
        return None

    def _time(self, text: str | None, field: str) -> datetime:
        if not text:
            raise Reject(f"no <{field}> in <date_range>")
        try:
            if text.isascii() and text.isdigit():
                value = int(text)
            elif _DECIMAL.fullmatch(text):
                value = int(float(text))
                self.warnings.add(f"decimal timestamp {text!r} in <{field}> read as {value}")
            else:
                when = datetime.fromisoformat(text)
                if when.tzinfo is None:
                    when = when.replace(tzinfo=UTC)
                self.warnings.add(f"<{field}> {text!r} is a date, not seconds since 1970")
                return when.astimezone(UTC)
            if not 0 <= value < _MAX_EPOCH:
                raise ValueError(value)
            return datetime.fromtimestamp(value, tz=UTC)
        except (ValueError, OverflowError, OSError):
            raise Reject(f"<{field}> {text!r} is not a timestamp") from None


def _schema(version: str | None, namespace: str | None, warnings: Warnings) -> AggregateSchema:
    if namespace == NS_DMARC_2:
        return AggregateSchema.RFC9990
    if not version:
        return AggregateSchema.DRAFT
    if version.startswith("2"):
        return AggregateSchema.RFC9990
    if version not in ("1", "1.0"):
        warnings.add(f"unknown <version> {version!r}; read as RFC 7489")
    return AggregateSchema.RFC7489


def parse_ip(text: str) -> str:
    """The address in canonical form (RFC 5952 for IPv6); ValueError if it is none.

    inet_pton is strict (no leading zeros, no zone ids) and ten times faster than
    the ipaddress module, which matters at hundreds of thousands of records.
    """
    try:
        if ":" in text:
            return inet_ntop(AF_INET6, inet_pton(AF_INET6, text))
        return inet_ntop(AF_INET, inet_pton(AF_INET, text))
    except (OSError, ValueError):
        raise ValueError(text) from None
