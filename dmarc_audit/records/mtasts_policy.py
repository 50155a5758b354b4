"""MTA-STS policy file parser (RFC 8461 §3.2) and MX pattern matching (§4.1).

``parse_policy`` never raises on content: every problem is a :class:`PolicyProblem`
naming its line, and the fields that parsed are kept.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

MAX_AGE_LIMIT = 31557600
"""RFC 8461 §3.2: max_age is at most 31557600 seconds (about a year)."""
ONE_DAY = 86400

_KEY = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,31}")
_VALUE = re.compile(r"[\x21-\x7e]([\x20-\x7e]*[\x21-\x7e])?")
_MX_PATTERN = re.compile(
    r"(\*\.)?([A-Za-z0-9]([A-Za-z0-9\-]{0,61}[A-Za-z0-9])?)"
    r"(\.[A-Za-z0-9]([A-Za-z0-9\-]{0,61}[A-Za-z0-9])?)+\.?"
)


class PolicyMode(StrEnum):
    """The policy's ``mode``."""

    ENFORCE = "enforce"
    TESTING = "testing"
    NONE = "none"


@dataclass(frozen=True, slots=True)
class PolicyProblem:
    """Why (part of) a policy is malformed, and on which line (1-based; 0 for the file)."""

    message: str
    line: int

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}" if self.line else self.message


@dataclass(frozen=True, slots=True)
class StsPolicy:
    """A parsed policy file. ``problems`` empty means it is valid."""

    version: str | None
    mode: PolicyMode | None
    max_age: int | None
    mx: tuple[str, ...]
    extensions: tuple[tuple[str, str], ...]
    problems: tuple[PolicyProblem, ...]

    @property
    def valid(self) -> bool:
        return not self.problems

    def matches(self, host: str) -> bool:
        """True when an ``mx:`` pattern covers ``host`` (§4.1)."""
        return any(mx_matches(pattern, host) for pattern in self.mx)

    def to_json(self) -> dict[str, object]:
        return {
            "version": self.version,
            "mode": self.mode.value if self.mode is not None else None,
            "max_age": self.max_age,
            "mx": list(self.mx),
            "problems": [str(p) for p in self.problems],
        }


def mx_matches(pattern: str, host: str) -> bool:
    """RFC 8461 §4.1: exact match, or ``*.`` standing for exactly one leftmost label."""
    pattern = pattern.lower().rstrip(".")
    host = host.lower().rstrip(".")
    if pattern.startswith("*."):
        label, dot, rest = host.partition(".")
        return bool(label) and bool(dot) and rest == pattern[2:]
    return host == pattern


def parse_policy(text: str) -> StsPolicy:
    """Parse ``key: value`` lines separated by CRLF or LF (RFC 8461 §3.2)."""
    problems: list[PolicyProblem] = []
    seen: dict[str, int] = {}
    version: str | None = None
    mode: PolicyMode | None = None
    max_age: int | None = None
    mx: list[str] = []
    extensions: list[tuple[str, str]] = []
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    for number, raw in enumerate(lines, start=1):
        line = raw[:-1] if raw.endswith("\r") else raw
        if not line.strip():  # not in the grammar, but every sender skips it
            continue
        key, colon, value = line.partition(":")
        if not colon:
            problems.append(PolicyProblem(f"{_cut(line)!r} is not 'key: value'", number))
            continue
        if key != key.strip() or not _KEY.fullmatch(key):
            problems.append(PolicyProblem(f"invalid key {_cut(key)!r}", number))
            continue
        value = value.strip(" \t")
        if not _VALUE.fullmatch(value):
            problems.append(PolicyProblem(f"invalid value {_cut(value)!r} for {key!r}", number))
            continue
        if key != "mx" and key in seen and key in ("version", "mode", "max_age"):
            problems.append(
                PolicyProblem(f"{key!r} given twice (first on line {seen[key]})", number)
            )
            continue
        seen.setdefault(key, number)
        if key == "version":
            version = value
            if value != "STSv1":
                problems.append(PolicyProblem(f"version must be 'STSv1', not {value!r}", number))
        elif key == "mode":
            try:
                mode = PolicyMode(value)
            except ValueError:
                problems.append(
                    PolicyProblem(
                        f"mode must be enforce, testing or none, not {_cut(value)!r}", number
                    )
                )
        elif key == "max_age":
            if not value.isascii() or not value.isdigit() or len(value) > 10:
                problems.append(
                    PolicyProblem(f"max_age must be 1-10 digits, not {_cut(value)!r}", number)
                )
            else:
                max_age = int(value)
                if max_age > MAX_AGE_LIMIT:
                    problems.append(
                        PolicyProblem(f"max_age {max_age} is over {MAX_AGE_LIMIT}", number)
                    )
        elif key == "mx":
            if not _MX_PATTERN.fullmatch(value) or "*" in value[1:]:
                problems.append(PolicyProblem(f"invalid mx pattern {_cut(value)!r}", number))
            else:
                mx.append(value.lower().rstrip("."))
        else:
            if key.lower() in ("version", "mode", "max_age", "mx"):
                problems.append(
                    PolicyProblem(f"keys are case-sensitive: write {key.lower()!r}", number)
                )
            extensions.append((key, value))
    if "version" not in seen:
        problems.insert(0, PolicyProblem("no 'version: STSv1' line", 0))
    if "mode" not in seen:
        problems.append(PolicyProblem("no 'mode' line", 0))
    if "max_age" not in seen:
        problems.append(PolicyProblem("no 'max_age' line", 0))
    if not mx and mode in (PolicyMode.ENFORCE, PolicyMode.TESTING) and "mx" not in seen:
        problems.append(PolicyProblem(f"no 'mx' line (required in mode {mode.value})", 0))
    return StsPolicy(
        version=version,
        mode=mode,
        max_age=max_age,
        mx=tuple(mx),
        extensions=tuple(extensions),
        problems=tuple(problems),
    )


def _cut(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
