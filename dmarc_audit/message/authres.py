"""Authentication-Results header fields (RFC 8601): parse what a receiver wrote, write ours.

The parser never raises: text it cannot read is reported in ``problems`` and the
results before it are kept. ``ARC-Authentication-Results`` values (RFC 8617 §4.1.1)
start with ``i=N;`` and are read with ``arc=True``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_SPECIALS = ' \t\r\n;=()"'
_NEEDS_QUOTES = re.compile(r"[\s;()\"\\]")


@dataclass(frozen=True, slots=True)
class AuthResult:
    """One ``method=result`` with its reason and properties (``ptype.property=value``)."""

    method: str
    """Lower case, version dropped: ``dkim``, ``spf``, ``dmarc``, ``arc``, ``iprev``."""
    result: str
    """Lower case: ``pass``, ``fail``, ``none``, ``temperror``, ..."""
    properties: tuple[tuple[str, str], ...] = ()
    """``(ptype.property, value)`` in order; names lower case (``header.d``, ``smtp.mailfrom``)."""
    reason: str | None = None
    comment: str | None = None
    """The first comment after the result, e.g. ``(2048-bit key)``, without parentheses."""

    def prop(self, name: str) -> str | None:
        """The value of ``ptype.property`` ``name`` (case-insensitive), or None."""
        key = name.lower()
        return next((value for prop, value in self.properties if prop == key), None)


@dataclass(frozen=True, slots=True)
class AuthResultsHeader:
    """One parsed Authentication-Results (or ARC-Authentication-Results) value."""

    authserv_id: str
    results: tuple[AuthResult, ...]
    raw: str
    instance: int | None = None
    """The ``i=`` of an ARC-Authentication-Results value."""
    field_index: int | None = None
    """Position of the header field in the message (0 = topmost), when known."""
    problems: tuple[str, ...] = ()

    def of(self, method: str) -> tuple[AuthResult, ...]:
        """The results for ``method`` (lower case)."""
        return tuple(r for r in self.results if r.method == method)


class _Scanner:
    """Character-level reader for RFC 8601 syntax with CFWS between tokens."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.comments: list[str] = []

    def at_end(self) -> bool:
        return self.pos >= len(self.text)

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def skip_cfws(self) -> None:
        while not self.at_end():
            ch = self.peek()
            if ch in " \t\r\n":
                self.pos += 1
            elif ch == "(":
                self.comments.append(self._comment())
            else:
                return

    def _comment(self) -> str:
        depth, start = 0, self.pos + 1
        while not self.at_end():
            ch = self.peek()
            if ch == "\\":
                self.pos += 2
                continue
            self.pos += 1
            if ch == "(":
                depth += 1
            elif ch == ")":
                depth -= 1
                if depth == 0:
                    return " ".join(self.text[start : self.pos - 1].split())
        return " ".join(self.text[start:].split())

    def word(self) -> str:
        start = self.pos
        while not self.at_end() and self.peek() not in _SPECIALS:
            self.pos += 1
        return self.text[start : self.pos]

    def value(self) -> str:
        if self.peek() == '"':
            return self._quoted()
        start = self.pos
        while not self.at_end() and self.peek() not in ' \t\r\n;()"':
            self.pos += 1
        return self.text[start : self.pos]

    def _quoted(self) -> str:
        out = []
        self.pos += 1
        while not self.at_end():
            ch = self.peek()
            self.pos += 1
            if ch == "\\" and not self.at_end():
                out.append(self.peek())
                self.pos += 1
            elif ch == '"':
                break
            else:
                out.append(ch)
        return "".join(out)

    def expect(self, char: str) -> bool:
        self.skip_cfws()
        if self.peek() == char:
            self.pos += 1
            return True
        return False

    def skip_to_semicolon(self) -> None:
        while not self.at_end() and self.peek() != ";":
            if self.peek() == "(":
                self._comment()
            elif self.peek() == '"':
                self._quoted()
            else:
                self.pos += 1


def parse_authres(
    text: str, *, arc: bool = False, field_index: int | None = None
) -> AuthResultsHeader:
    """Parse an Authentication-Results value (``arc=True``: an ARC-Authentication-Results)."""
    scan = _Scanner(text)
    problems: list[str] = []
    instance = None
    if arc:
        instance = _instance(scan, problems)
    scan.skip_cfws()
    authserv_id = scan.value()
    if not authserv_id:
        problems.append("no authserv-id")
    scan.skip_cfws()
    if scan.peek().isdigit():
        scan.word()  # authres-version
    results: list[AuthResult] = []
    if not scan.expect(";"):
        scan.skip_cfws()
        if not scan.at_end():
            problems.append(f"expected ';' after the authserv-id at offset {scan.pos}")
        return AuthResultsHeader(authserv_id, (), text, instance, field_index, tuple(problems))
    while True:
        scan.skip_cfws()
        if scan.at_end():
            break
        if scan.peek() == ";":
            scan.pos += 1
            continue
        result = _resinfo(scan, problems)
        if result is not None:
            results.append(result)
    return AuthResultsHeader(
        authserv_id, tuple(results), text, instance, field_index, tuple(problems)
    )


def _instance(scan: _Scanner, problems: list[str]) -> int | None:
    """Read the leading ``i=N;`` of an AAR (RFC 8617 §4.1.1).

    A field that puts the authserv-id first (``mx.example; i=1; ...``) is read too:
    the scanner is left at the authserv-id and ``i=`` is taken from after it.
    """
    scan.skip_cfws()
    start = scan.pos
    name = scan.word()
    if name.lower() != "i" or not scan.expect("="):
        problems.append("ARC-Authentication-Results does not start with i=")
        scan.pos = start
        return _instance_after_authserv_id(scan)
    scan.skip_cfws()
    value = scan.word()
    scan.expect(";")
    if not value.isdigit():
        problems.append(f"i={value} is not a number")
        return None
    return int(value)


def _instance_after_authserv_id(scan: _Scanner) -> int | None:
    """``i=N`` right after the authserv-id, removed from the text still to be read."""
    match = re.match(r"([^;]*;)\s*i\s*=\s*(\d+)\s*;?", scan.text[scan.pos :], re.IGNORECASE)
    if match is None:
        return None
    scan.text = scan.text[: scan.pos] + match.group(1) + scan.text[scan.pos + match.end() :]
    return int(match.group(2))


def _resinfo(scan: _Scanner, problems: list[str]) -> AuthResult | None:
    start = scan.pos
    method = scan.word().split("/", 1)[0].lower()
    if not method:
        problems.append(f"unexpected {scan.peek()!r} at offset {scan.pos}")
        scan.pos += 1
        scan.skip_to_semicolon()
        return None
    if not scan.expect("="):
        if method != "none":
            problems.append(f"{method}: expected '=' and a result at offset {start}")
        scan.skip_to_semicolon()
        return None
    scan.skip_cfws()
    result = scan.word().lower()
    scan.comments.clear()
    scan.skip_cfws()
    comment = scan.comments[0] if scan.comments else None
    reason = None
    properties: list[tuple[str, str]] = []
    while not scan.at_end() and scan.peek() != ";":
        key = scan.word()
        if not key or not scan.expect("="):
            problems.append(f"{method}: cannot read the property at offset {scan.pos}")
            scan.skip_to_semicolon()
            break
        scan.skip_cfws()
        value = scan.value()
        if key.lower() == "reason":
            reason = value
        else:
            properties.append((key.lower(), value))
        scan.skip_cfws()
    return AuthResult(method, result, tuple(properties), reason, comment)


# --- writing ---------------------------------------------------------------------------


def _quote(value: str) -> str:
    if value and _NEEDS_QUOTES.search(value) is None:
        return value
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def format_result(result: AuthResult) -> str:
    """``dkim=pass (2048-bit key) header.d=example.com header.s=s1``."""
    parts = [f"{result.method}={result.result}"]
    if result.comment:
        parts.append("(" + result.comment.replace("(", "[").replace(")", "]") + ")")
    if result.reason:
        parts.append(f"reason={_quote(result.reason)}")
    parts.extend(f"{name}={_quote(value)}" for name, value in result.properties)
    return " ".join(parts)


def format_authres(
    authserv_id: str, results: tuple[AuthResult, ...] | list[AuthResult], *, fold: bool = True
) -> str:
    """A complete ``Authentication-Results:`` header field (folded one result per line)."""
    if not results:
        return f"Authentication-Results: {authserv_id}; none"
    separator = ";\n\t" if fold else "; "
    body = separator.join(format_result(r) for r in results)
    lead = "\n\t" if fold else " "
    return f"Authentication-Results: {authserv_id};{lead}{body}"
