"""Text renderer for people: the verdict first, then findings by severity with fixes.

:func:`render_gated_text` is ``RENDERERS[TEXT]`` of ``check``; the glances and
:func:`render_finding` are shared with the other text renderers. The one-line
summary and the gate notes go to stderr.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from rich.markup import escape
from rich.text import Text

from dmarc_audit.dmarc.facts import DiscoveryStatus, FoundAt
from dmarc_audit.findings import FailOn, Finding, Severity, Status
from dmarc_audit.output.console import buffer_console, stderr_console
from dmarc_audit.output.wrap import RECORD_BREAKS, print_hanging
from dmarc_audit.words import plural

if TYPE_CHECKING:
    from rich.console import Console

    from dmarc_audit.exit_status import ExitStatus
    from dmarc_audit.filters import GatedReport
    from dmarc_audit.output.context import RenderContext
    from dmarc_audit.report import DomainReport

SEVERITY_STYLE = {Severity.ERROR: "bold red", Severity.WARNING: "yellow", Severity.INFO: "cyan"}
GOOD, BAD, WARN, UNKNOWN = "[green]✓[/]", "[red]✗[/]", "[yellow]~[/]", "[magenta]?[/]"


def spf_glance(report: DomainReport) -> str:
    """``SPF ✓ 4/10 lookups`` and friends."""
    spf = report.spf
    if spf is None:
        return ""
    status = spf.status.value
    ids = {f.id for f in report.findings if f.id.startswith("spf.")}
    if status == "temperror":
        return f"SPF {UNKNOWN} could not check"
    if status == "none":
        return f"SPF {BAD} none"
    if status == "permerror":
        return f"SPF {BAD} permerror {spf.lookups}/10 lookups"
    errors = any(f.severity is Severity.ERROR for f in report.findings if f.id in ids)
    mark = BAD if errors else (WARN if ids else GOOD)
    return f"SPF {mark} {spf.lookups}/10 lookups"


def dmarc_glance(report: DomainReport) -> str:
    """``DMARC ✓ p=reject``, ``DMARC ~ p=none``, ``DMARC ✗ none``."""
    dmarc = report.dmarc
    if dmarc is None:
        return ""
    if dmarc.status is DiscoveryStatus.UNKNOWN:
        return f"DMARC {UNKNOWN} could not check"
    if dmarc.status is not DiscoveryStatus.FOUND or dmarc.applied_policy is None:
        return f"DMARC {BAD} none"
    policy = dmarc.applied_policy.value
    errors = any(
        f.id.startswith("dmarc.") and f.severity is Severity.ERROR for f in report.findings
    )
    mark = BAD if errors else (WARN if policy == "none" else GOOD)
    inherited = f" (from {dmarc.record_name})" if dmarc.found_at is not FoundAt.DOMAIN else ""
    return f"DMARC {mark} p={policy}{escape(inherited)}"


def dkim_glance(report: DomainReport) -> str:
    """``DKIM ✓ s1 (2048)`` for the keys found."""
    dkim = report.dkim
    if dkim is None:
        return ""
    found = dkim.found
    if not found:
        if dkim.incomplete:
            return f"DKIM {UNKNOWN} could not check"
        return f"DKIM {BAD if dkim.explicit else WARN} no key found"
    errors = any(f.id.startswith("dkim.") and f.severity is Severity.ERROR for f in report.findings)
    keys = ", ".join(
        f"{r.selector} ({r.key.key_bits if r.key and r.key.key_bits else '?'}"
        f"{'' if not r.key or r.key.key_type in (None, 'rsa') else ' ' + str(r.key.key_type)})"
        for r in found
    )
    return f"DKIM {BAD if errors else GOOD} {escape(keys)}"


def mx_glance(report: DomainReport) -> str:
    """``MX ✓``, ``MX null`` (takes no mail), ``MX ✗``."""
    mx = report.mx
    if mx is None:
        return ""
    status = str(getattr(mx.status, "value", mx.status))
    if status == "unknown":
        return f"MX {UNKNOWN}"
    if status == "null":
        return "MX null (no mail)"
    errors = any(
        f.id.startswith("mx.")
        for f in report.findings
        if f.severity in (Severity.ERROR, Severity.WARNING)
    )
    return f"MX {BAD if errors else GOOD}"


def dnssec_glance(report: DomainReport) -> str:
    """``DNSSEC ✓``, ``DNSSEC unsigned``, ``DNSSEC ✗ bogus``; nothing when not checked."""
    facts = report.dnssec
    if facts is None:
        return ""
    status = facts.status.value
    marks = {
        "secure": f"DNSSEC {GOOD}",
        "insecure": "DNSSEC unsigned",
        "bogus": f"DNSSEC {BAD} bogus",
        "unknown": f"DNSSEC {UNKNOWN} could not check",
    }
    return marks.get(status, "")


def mtasts_glance(report: DomainReport) -> str:
    """``MTA-STS ✓ enforce``, ``MTA-STS ~ testing``, ``MTA-STS ✗``, ``MTA-STS ? could not
    check``; empty when no policy was fetched (no record, or ``--no-fetch``)."""
    sts = report.mta_sts
    if sts is None or sts.status == "not-fetched":
        return ""
    if sts.status == "unknown":
        return f"MTA-STS {UNKNOWN} could not check"
    if sts.status == "invalid":
        return f"MTA-STS {BAD} invalid"
    errors = any(f.severity is Severity.ERROR for f in sts.findings if f.status is Status.FAIL)
    mark = BAD if errors else (GOOD if sts.status == "enforce" else WARN)
    return f"MTA-STS {mark} {sts.status}"


EVIDENCE_LINES = 3
"""Evidence lines shown per finding without ``-v`` (the JSON always has them all)."""
LIST_ITEMS = 8
"""An evidence list (``selectors tried: a, b, ...``) longer than this is counted, not listed,
without ``-v``."""
_BASE64 = re.compile(r"[A-Za-z0-9+/]{64,}={0,2}")
_LISTING = re.compile(r"^([^:]{1,40}): (.+)$")


def brief(line: str) -> str:
    """An evidence line as shown without ``-v``: a long base64 key shortened to its
    ends, a long list replaced by its count."""
    line, shortened = shorten_keys(line)
    if shortened:
        return f"{line} (key shortened; -v shows it)"
    listing = _LISTING.match(line)
    if listing:
        items = listing[2].split(", ")
        if len(items) > LIST_ITEMS:
            return f"{listing[1]}: {len(items)} (-v lists them)"
    return line


def shorten_keys(text: str) -> tuple[str, bool]:
    """``text`` with every long base64 run cut to ``MIIBIjANBgkq…IDAQAB``, and whether
    there was one."""
    shortened = _BASE64.sub(lambda m: f"{m[0][:12]}…{m[0][-6:]}", text)
    return shortened, shortened != text


def finding_prefix(finding: Finding, indent: str = "  ") -> Text:
    """``  error    spf.temperror  `` (``error?`` when it could not be checked)."""
    label = finding.severity.value + ("?" if finding.status is Status.UNKNOWN else "")
    return Text.assemble(
        indent,
        (f"{label:<8}", SEVERITY_STYLE[finding.severity]),
        " ",
        (finding.id, "bold"),
        "  ",
    )


def render_finding(
    console: Console, finding: Finding, indent: str = "  ", *, verbose: bool = False
) -> None:
    """One finding, folded to the console width: the message hangs under its first word
    (or under the detail column when the id leaves too little room), then the record,
    the evidence (the first few lines without ``verbose``), the fix and the record to
    publish."""
    prefix = finding_prefix(finding, indent)
    pad = indent + " " * 9
    hang = len(prefix.plain)
    if console.width - hang < 40:
        hang = len(pad)
    print_hanging(console, prefix, finding.message, hang=hang)
    if finding.record:
        record, shortened = (finding.record, False) if verbose else shorten_keys(finding.record)
        note = " (key shortened; -v shows it)" if shortened else ""
        print_hanging(console, f"{pad}record: ", quote_record(record) + note, breaks=RECORD_BREAKS)
    shown = finding.evidence if verbose else finding.evidence[:EVIDENCE_LINES]
    for line in shown:
        print_hanging(
            console, pad, line if verbose else brief(line), hang=len(pad) + 2, style="dim"
        )
    hidden = len(finding.evidence) - len(shown)
    if hidden:
        print_hanging(console, pad, f"… {plural(hidden, 'more line')} (-v shows them)", style="dim")
    if finding.remediation:
        print_hanging(console, f"{pad}fix: ", finding.remediation)
    if finding.suggested_record:
        lines = finding.suggested_record.splitlines()
        for index, line in enumerate(lines):
            head = f"{pad}publish: " if index == 0 else " " * (len(pad) + 9)
            print_hanging(console, head, line, style="green", breaks=RECORD_BREAKS)


def quote_record(record: str) -> str:
    """A record as one quoted string (backslashes and quotes escaped)."""
    return '"' + record.replace("\\", "\\\\").replace('"', '\\"') + '"'


def render_header(console: Console, report: DomainReport) -> None:
    """The verdict line: SPF / DKIM / DMARC / MX at a glance (an inherited DMARC policy is
    explained by its ``dmarc.inherited`` finding); each glance stays on one line."""
    print_hanging(console, Text(""), header_atoms(report), hang=2)


def header_atoms(report: DomainReport) -> list[Text]:
    """The domain and its glances as unbreakable pieces, three spaces apart."""
    parts: tuple[str, ...] = (
        spf_glance(report),
        dkim_glance(report),
        dmarc_glance(report),
        mx_glance(report),
        mtasts_glance(report),
        dnssec_glance(report),
    )
    if any(f.id == "dns.nxdomain" for f in report.findings):
        parts = (f"{BAD} does not exist",)
    atoms = [Text(report.domain.display, style="bold")]
    atoms += [Text.from_markup(part) for part in parts if part]
    for atom in atoms[:-1]:
        atom.append("   ")
    return atoms


def render_gated_text(gated: Sequence[GatedReport], context: RenderContext) -> str:
    """The ``check`` text report; baselined findings are listed after the others, one
    line each. Coloured when ``context.color_system`` is set.

    ``context.text_view`` picks one line per domain (``--concise``) or counts per check
    id (``--statistics``); ``context.verbosity`` -1 keeps errors and warnings only, 1
    shows every evidence line whole."""
    from dmarc_audit.output.context import TextView

    buffer = io.StringIO()
    console = buffer_console(buffer, color_system=context.color_system, width=context.width)
    quiet = context.verbosity < 0
    if context.text_view is TextView.STATISTICS:
        render_statistics(console, gated, quiet=quiet)
        return buffer.getvalue()
    shown = [g for g in gated if not quiet or _loud(g.active)]
    for index, g in enumerate(shown):
        if context.text_view is TextView.CONCISE:
            render_concise_domain(console, g, quiet=quiet)
            continue
        if index:
            console.print()
        render_gated_domain(console, g, verbosity=context.verbosity)
    return buffer.getvalue()


def _loud(findings: Sequence[Finding]) -> list[Finding]:
    """The errors and warnings (what ``-q`` keeps)."""
    return [f for f in findings if f.severity in (Severity.ERROR, Severity.WARNING)]


def render_gated_domain(console: Console, gated: GatedReport, *, verbosity: int = 0) -> None:
    """One domain: the verdict line, the findings that count, then the baselined ones."""
    report = gated.report
    render_header(console, report)
    active = _loud(gated.active) if verbosity < 0 else gated.active
    known = [] if verbosity < 0 else [f for f in report.findings if gated.is_baselined(f)]
    if not active:
        console.print("  [green]no new problems[/]" if known else "  [green]no problems found[/]")
    for finding in active:
        render_finding(console, finding, verbose=verbosity > 0)
    for finding in known:
        prefix = Text(f"  baselined {finding.severity.value:<8} {finding.id}  ", style="dim")
        print_hanging(console, prefix, finding.message, hang=13, style="dim")


def render_concise_domain(console: Console, gated: GatedReport, *, quiet: bool = False) -> None:
    """One line per domain (``--concise``): the glances, the counts and the check ids."""
    active = _loud(gated.active) if quiet else list(gated.active)
    atoms = [_mark_only(atom) for atom in header_atoms(gated.report)]
    atoms[0] = header_atoms(gated.report)[0]
    atoms[-1].rstrip()
    atoms[-1].append("   ")
    if not active:
        atoms.append(Text("ok", style="green"))
    else:
        counts = [
            plural(n, s.value) for s in Severity if (n := sum(1 for f in active if f.severity is s))
        ]
        atoms.append(Text(", ".join(counts) + ": ", style="bold"))
        ids: dict[str, int] = {}
        for f in active:
            ids[f.id] = ids.get(f.id, 0) + 1
        atoms += [
            Text(check_id + (f" ×{n}" if n > 1 else "") + (", " if i < len(ids) - 1 else ""))
            for i, (check_id, n) in enumerate(ids.items())
        ]
    print_hanging(console, Text(""), atoms, hang=2)


def _mark_only(glance: Text) -> Text:
    """``SPF ✓`` of ``SPF ✓ 4/10 lookups   `` (the check ids say the rest)."""
    words = glance.plain.rstrip().split(" ")
    if words[0] in ("SPF", "DKIM", "DMARC", "MX", "MTA-STS"):  # else "✗ does not exist": whole
        words = words[:2]
    keep = len(" ".join(words))
    short = glance[:keep]
    short.append("  ")
    return short


def render_statistics(
    console: Console, gated: Sequence[GatedReport], *, quiet: bool = False
) -> None:
    """Counts per check id over every domain (``--statistics``), most frequent first:
    count, id, severity (``?`` when it could not be checked) and the check's title."""
    from dmarc_audit.catalog import CATALOG

    counts: dict[tuple[str, str], int] = {}
    for g in gated:
        for f in _loud(g.active) if quiet else g.active:
            label = f.severity.value + ("?" if f.status is Status.UNKNOWN else "")
            counts[(f.id, label)] = counts.get((f.id, label), 0) + 1
    if not counts:
        console.print("[green]no problems found[/]")
        return
    rows = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    id_width = max(len(check_id) for (check_id, _), _ in rows)
    count_width = max(len(str(n)) for _, n in rows)
    for (check_id, label), count in rows:
        info = CATALOG.get(check_id)
        severity = Severity(label.rstrip("?"))
        prefix = Text.assemble(
            (f"{count:>{count_width}}", "bold"),
            "  ",
            f"{check_id:<{id_width}}",
            "  ",
            (f"{label:<8}", SEVERITY_STYLE[severity]),
            " ",
        )
        print_hanging(console, prefix, info.title if info else "", hang=count_width + 2)


def render_gate_notes(gated: Sequence[GatedReport]) -> None:
    """Baselined and ignored counts on stderr (ignores with their reasons)."""
    known = sum(len(g.baselined) for g in gated)
    reasons: dict[tuple[str, str], int] = {}
    for g in gated:
        for s in g.suppressed:
            key = (s.finding.id, s.reason)
            reasons[key] = reasons.get(key, 0) + 1
    if not known and not reasons:
        return
    console = stderr_console()
    if known:
        console.print(f"{plural(known, 'baselined finding')} not counted")
    for (check_id, reason), count in reasons.items():
        why = f": {reason}" if reason and reason != "--ignore" else f" ({reason or 'ignore'})"
        console.print(escape(f"ignored {count}× {check_id}{why}"))


def render_summary(
    reports: Sequence[DomainReport],
    queries: int,
    status: ExitStatus,
    fail_on: FailOn,
    input_errors: Sequence[str],
) -> None:
    """One summary line on stderr."""
    counts = {s: sum(r.count(s) for r in reports) for s in Severity}
    unknown = sum(1 for r in reports for f in r.findings if f.status is Status.UNKNOWN)
    parts = [plural(len(reports), "domain")]
    parts.append(", ".join(plural(counts[s], s.value) for s in Severity))
    if unknown:
        parts.append(f"{unknown} could not be checked")
    if input_errors:
        parts.append(f"{len(input_errors)} skipped (bad input)")
    parts.append(plural(queries, "DNS query"))
    parts.append(f"exit {int(status)} (--fail-on {fail_on.value})")
    print_parts(stderr_console(), parts)


def print_parts(console: Console, parts: Sequence[str], *, style: str = "") -> None:
    """A summary line: ``parts`` joined by `` · ``, folded only between parts."""
    atoms = [
        Text(part + (" · " if i < len(parts) - 1 else ""), style=style)
        for i, part in enumerate(parts)
    ]
    print_hanging(console, Text(""), atoms, hang=2)
