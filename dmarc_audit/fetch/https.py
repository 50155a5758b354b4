"""``GET https://host/path`` with the host resolved through the run's resolver.

Every connection the tool makes goes to an address our resolver gave (so
``--nameserver`` and ``--zone`` apply), the certificate is verified for the host
name against the system store or ``--ca-file``, redirects are reported and never
followed (RFC 8461 §3.3), and the body is capped. One :class:`HttpsFetcher` per
run caches each URL, so a logo shared by many domains is fetched once.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from dmarc_audit.dns.types import Resolver
from dmarc_audit.fetch.facts import FetchOutcome, HttpsFetch

MAX_BODY = 64 * 1024
MAX_HEADER = 16 * 1024
USER_AGENT = "dmarc-audit"


@dataclass(frozen=True, slots=True)
class FetchOptions:
    """How HTTPS fetches run: on or off, trust, time and size limits."""

    enabled: bool = True
    ca_file: str | None = None
    """PEM bundle that replaces the system trust store."""
    timeout: float = 5.0
    """Seconds for the whole fetch of one URL (connect, TLS, answer)."""
    max_bytes: int = MAX_BODY
    port: int | None = None
    """Connect to this port instead of the URL's (labs and tests)."""


def tls_context(ca_file: str | None) -> ssl.SSLContext:
    """A client context that verifies names: the system store, or only ``ca_file``."""
    context = ssl.create_default_context(cafile=ca_file)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


class HttpsFetcher:
    """Fetch URLs for one run: cached per URL, concurrent askers share one fetch."""

    def __init__(self, resolver: Resolver, options: FetchOptions | None = None) -> None:
        self.resolver = resolver
        self.options = options or FetchOptions()
        self._context: ssl.SSLContext | None = None
        self._pending: dict[str, asyncio.Future[HttpsFetch]] = {}
        self.fetched: list[HttpsFetch] = []
        """Every fetch made, in order (the run's HTTPS trace)."""

    def context(self) -> ssl.SSLContext:
        if self._context is None:
            self._context = tls_context(self.options.ca_file)
        return self._context

    async def get(self, url: str, max_bytes: int | None = None) -> HttpsFetch:
        """The answer to ``GET url``; never raises for network faults."""
        if not self.options.enabled:
            return HttpsFetch(url, FetchOutcome.NOT_FETCHED, detail="fetching is off (--no-fetch)")
        pending = self._pending.get(url)
        if pending is None:
            pending = asyncio.ensure_future(self._fetch(url, max_bytes or self.options.max_bytes))
            self._pending[url] = pending
        return await asyncio.shield(pending)

    async def _fetch(self, url: str, max_bytes: int) -> HttpsFetch:
        started = time.perf_counter()
        try:
            result = await asyncio.wait_for(
                self._fetch_unbounded(url, max_bytes), timeout=self.options.timeout
            )
        except TimeoutError:
            result = HttpsFetch(
                url,
                FetchOutcome.TIMEOUT,
                detail=f"no complete answer in {self.options.timeout:g}s",
            )
        elapsed = (time.perf_counter() - started) * 1000.0
        result = _with_elapsed(result, elapsed)
        self.fetched.append(result)
        return result

    async def _fetch_unbounded(self, url: str, max_bytes: int) -> HttpsFetch:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower().rstrip(".")
        if parts.scheme != "https" or not host:
            return HttpsFetch(url, FetchOutcome.HTTP_ERROR, detail="not an https:// URL")
        port = self.options.port or parts.port or 443
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        addresses, failure = await self._addresses(host)
        if failure is not None:
            return HttpsFetch(url, failure[0], detail=failure[1])
        errors: list[str] = []
        refused = 0
        for address in addresses:
            try:
                reader, writer = await asyncio.open_connection(
                    address, port, ssl=self.context(), server_hostname=host
                )
            except ssl.SSLCertVerificationError as exc:
                return HttpsFetch(
                    url,
                    FetchOutcome.TLS_ERROR,
                    address=address,
                    detail=f"certificate not valid for {host}: {exc.verify_message}",
                )
            except ssl.SSLError as exc:
                return HttpsFetch(
                    url, FetchOutcome.TLS_ERROR, address=address, detail=f"TLS handshake: {exc}"
                )
            except ConnectionRefusedError:
                refused += 1
                errors.append(f"{address}:{port} refused the connection")
                continue
            except OSError as exc:
                errors.append(f"{address}:{port}: {exc.strerror or exc}")
                continue
            try:
                return await _exchange(url, host, path, address, reader, writer, max_bytes)
            finally:
                writer.close()
                with contextlib.suppress(OSError, ssl.SSLError):
                    await writer.wait_closed()
        outcome = FetchOutcome.REFUSED if refused == len(addresses) else FetchOutcome.TIMEOUT
        return HttpsFetch(url, outcome, detail="; ".join(errors))

    async def _addresses(self, host: str) -> tuple[list[str], tuple[FetchOutcome, str] | None]:
        """A then AAAA addresses of ``host``, or why there are none."""
        a, aaaa = await asyncio.gather(
            self.resolver.query(host, "A"), self.resolver.query(host, "AAAA")
        )
        addresses = a.addresses + aaaa.addresses
        if addresses:
            return addresses, None
        if a.failed or aaaa.failed:
            failed = a if a.failed else aaaa
            return [], (FetchOutcome.DNS_FAILED, f"{host} {failed.rdtype}: {failed.describe()}")
        return [], (FetchOutcome.NO_ADDRESS, f"{host} has no A or AAAA records ({a.describe()})")


def _with_elapsed(result: HttpsFetch, elapsed_ms: float) -> HttpsFetch:
    from dataclasses import replace

    return replace(result, elapsed_ms=round(elapsed_ms, 2))


async def _exchange(
    url: str,
    host: str,
    path: str,
    address: str,
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    max_bytes: int,
) -> HttpsFetch:
    """Send one HTTP/1.1 GET and read the answer (``Connection: close``)."""
    request = (
        f"GET {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: {USER_AGENT}\r\n"
        "Accept: */*\r\nConnection: close\r\n\r\n"
    )
    try:
        writer.write(request.encode("ascii"))
        await writer.drain()
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.LimitOverrunError:
        return HttpsFetch(url, FetchOutcome.BAD_RESPONSE, address=address, detail="header too long")
    except asyncio.IncompleteReadError as exc:
        return HttpsFetch(
            url,
            FetchOutcome.BAD_RESPONSE,
            address=address,
            detail=f"connection closed after {len(exc.partial)} bytes, before the headers ended",
        )
    except (OSError, ssl.SSLError) as exc:
        return HttpsFetch(url, FetchOutcome.BAD_RESPONSE, address=address, detail=str(exc))
    if len(head) > MAX_HEADER:
        return HttpsFetch(url, FetchOutcome.BAD_RESPONSE, address=address, detail="header too long")
    status, headers = _parse_head(head)
    if status is None:
        first = head.split(b"\r\n", 1)[0][:80].decode("latin-1")
        return HttpsFetch(
            url, FetchOutcome.BAD_RESPONSE, address=address, detail=f"not HTTP: {first!r}"
        )
    content_type = headers.get("content-type")
    common = {"status": status, "content_type": content_type, "address": address}
    if 300 <= status < 400:
        return HttpsFetch(
            url,
            FetchOutcome.REDIRECT,
            location=headers.get("location"),
            detail="redirects are not followed",
            **common,  # type: ignore[arg-type]
        )
    if status >= 500:
        return HttpsFetch(url, FetchOutcome.SERVER_ERROR, **common)  # type: ignore[arg-type]
    if not 200 <= status < 300:
        return HttpsFetch(url, FetchOutcome.HTTP_ERROR, **common)  # type: ignore[arg-type]
    body, problem = await _read_body(reader, headers, max_bytes)
    if problem is FetchOutcome.TOO_LARGE:
        return HttpsFetch(
            url,
            FetchOutcome.TOO_LARGE,
            detail=f"larger than {max_bytes} bytes",
            **common,  # type: ignore[arg-type]
        )
    if problem is not None:
        return HttpsFetch(url, problem, detail="body cut short", **common)  # type: ignore[arg-type]
    return HttpsFetch(url, FetchOutcome.OK, body=body, **common)  # type: ignore[arg-type]


def _parse_head(head: bytes) -> tuple[int | None, dict[str, str]]:
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not parts[1].isdigit():
        return None, {}
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, colon, value = line.partition(":")
        if colon:
            headers[name.strip().lower()] = value.strip()
    return int(parts[1]), headers


async def _read_body(
    reader: asyncio.StreamReader, headers: dict[str, str], max_bytes: int
) -> tuple[bytes, FetchOutcome | None]:
    """The body, honouring Content-Length and chunked coding, at most ``max_bytes``."""
    try:
        if "chunked" in headers.get("transfer-encoding", "").lower():
            return await _read_chunked(reader, max_bytes)
        length = headers.get("content-length", "")
        if length.isdigit():
            if int(length) > max_bytes:
                return b"", FetchOutcome.TOO_LARGE
            return await reader.readexactly(int(length)), None
        body = await reader.read(max_bytes + 1)
        while len(body) <= max_bytes:
            more = await reader.read(max_bytes + 1 - len(body))
            if not more:
                break
            body += more
        if len(body) > max_bytes:
            return b"", FetchOutcome.TOO_LARGE
        return body, None
    except (asyncio.IncompleteReadError, OSError, ssl.SSLError, ValueError):
        return b"", FetchOutcome.BAD_RESPONSE


async def _read_chunked(
    reader: asyncio.StreamReader, max_bytes: int
) -> tuple[bytes, FetchOutcome | None]:
    body = b""
    for _chunk in range(100_000):
        size_line = await reader.readuntil(b"\r\n")
        size = int(size_line.split(b";", 1)[0].strip() or b"0", 16)
        if size == 0:
            return body, None
        if len(body) + size > max_bytes:
            return b"", FetchOutcome.TOO_LARGE
        body += await reader.readexactly(size)
        await reader.readexactly(2)
    return b"", FetchOutcome.BAD_RESPONSE
