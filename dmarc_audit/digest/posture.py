"""Posture now: finding counts and the one fix that matters most."""

from __future__ import annotations

from dataclasses import dataclass

from dmarc_audit.digest.snapshot import FindingFact, PostureState, Snapshot
from dmarc_audit.findings import Severity


@dataclass(frozen=True, slots=True)
class Posture:
    """A domain's posture at one run, as a digest states it."""

    state: PostureState
    errors: int
    warnings: int
    infos: int
    unknown: int
    """Findings that could not be checked."""
    top_fix: FindingFact | None
    """The most severe failing finding, preferring one that comes with a record to publish."""
    problem: str | None
    """Why something could not be checked (the first such finding's message)."""

    @property
    def counts_text(self) -> str:
        """``1 error, 2 warnings, 3 info`` (``no problems found`` when all are zero)."""
        parts = [
            _plural(self.errors, "error"),
            _plural(self.warnings, "warning"),
            f"{self.infos} info",
        ]
        if not (self.errors or self.warnings or self.infos):
            text = "no problems found"
        else:
            text = ", ".join(parts)
        if self.unknown:
            text += f" · {self.unknown} could not be checked"
        return text


def posture_of(snapshot: Snapshot) -> Posture:
    failing = snapshot.failing
    unknown = snapshot.unknown

    def count(severity: Severity) -> int:
        return sum(1 for f in failing if f.severity is severity)

    ranked = [(f.severity.rank, f.suggested_record is not None, -i) for i, f in enumerate(failing)]
    top = failing[-max(ranked)[2]] if ranked else None
    return Posture(
        snapshot.state,
        count(Severity.ERROR),
        count(Severity.WARNING),
        count(Severity.INFO),
        len(unknown),
        top,
        _problem(unknown),
    )


def _problem(unknown: tuple[FindingFact, ...]) -> str | None:
    """The first failed lookup, said briefly (``TXT lookup for x failed (timeout)``)."""
    lookups = [f for f in unknown if f.id == "dns.lookup-failed"]
    candidates = lookups or list(unknown)
    if not candidates:
        return None
    first = candidates[0]
    return first.message.split(";", 1)[0].strip()


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"
