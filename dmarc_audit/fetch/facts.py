"""What one HTTPS fetch found: frozen facts, no I/O (rules import this)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class FetchOutcome(StrEnum):
    """How one HTTPS GET ended."""

    OK = "ok"
    """A 2xx answer whose body was read whole."""
    HTTP_ERROR = "http-error"
    """The server answered with a 4xx status (or another non-2xx, non-5xx one)."""
    SERVER_ERROR = "server-error"
    """A 5xx status: the server failed, not the policy (could not check)."""
    REDIRECT = "redirect"
    """A 3xx status; redirects are not followed (RFC 8461 §3.3)."""
    TOO_LARGE = "too-large"
    """The body is larger than the size cap."""
    TLS_ERROR = "tls-error"
    """The certificate did not verify for the host, or the handshake failed."""
    REFUSED = "refused"
    """Every address refused the connection (could not check: a firewall here, maybe)."""
    TIMEOUT = "timeout"
    """No connection or no complete answer in time (could not check)."""
    NO_ADDRESS = "no-address"
    """The host name has no A or AAAA records (NXDOMAIN or NODATA)."""
    DNS_FAILED = "dns-failed"
    """The A/AAAA lookups failed (could not check)."""
    BAD_RESPONSE = "bad-response"
    """The server's answer is not HTTP/1.x as it should be."""
    NOT_FETCHED = "not-fetched"
    """Fetching is turned off (``--no-fetch``)."""

    @property
    def could_not_check(self) -> bool:
        """True when the fault says nothing about what the domain publishes."""
        return self in _UNKNOWN


_UNKNOWN = frozenset(
    {
        FetchOutcome.SERVER_ERROR,
        FetchOutcome.TIMEOUT,
        FetchOutcome.REFUSED,
        FetchOutcome.DNS_FAILED,
    }
)


@dataclass(frozen=True, slots=True)
class HttpsFetch:
    """The result of ``GET url``: outcome, status, headers that matter, body, and where."""

    url: str
    outcome: FetchOutcome
    status: int | None = None
    content_type: str | None = None
    location: str | None = None
    body: bytes = b""
    address: str | None = None
    """The IP address the answer came from."""
    detail: str = ""
    """Why it failed, in words (the TLS error, the timeout, ...)."""
    elapsed_ms: float = 0.0

    @property
    def ok(self) -> bool:
        return self.outcome is FetchOutcome.OK

    @property
    def media_type(self) -> str:
        """The Content-Type without parameters, lower case; ``""`` when absent."""
        return (self.content_type or "").split(";", 1)[0].strip().lower()

    def describe(self) -> str:
        """One short phrase: ``HTTP 200 text/plain from 127.0.0.1`` or the failure."""
        where = f" from {self.address}" if self.address else ""
        if self.outcome is FetchOutcome.OK:
            return f"HTTP {self.status} {self.media_type or 'no Content-Type'}{where}"
        if self.status is not None:
            extra = f" to {self.location}" if self.location else ""
            return f"HTTP {self.status}{extra}{where}" + (f": {self.detail}" if self.detail else "")
        return f"{self.outcome.value}: {self.detail}" if self.detail else self.outcome.value

    def to_json(self) -> dict[str, object]:
        return {
            "url": self.url,
            "outcome": self.outcome.value,
            "status": self.status,
            "content_type": self.content_type,
            "address": self.address,
            "size": len(self.body),
            "detail": self.detail or None,
        }
