"""``dmarc-audit diff --zone NEW [--against OLD|live]``: what a DNS change does to posture."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Annotated

import typer

from dmarc_audit.cli.check import (
    BaselineOpt,
    ConfigOpt,
    FailOnOpt,
    IgnoreOpt,
    SelectOpt,
    StrictOpt,
    TimeoutOpt,
)
from dmarc_audit.cli.common import (
    CaFileOpt,
    FormatOpt,
    HttpsPortOpt,
    NameserverOpt,
    NoFetchOpt,
    OfflineOpt,
    ProfileChoice,
)
from dmarc_audit.gate import gate_settings, parse_domains, run_gate
from dmarc_audit.output.console import stderr_console, stdout_console
from dmarc_audit.output.formats import OutputFormat
from dmarc_audit.records.dmarc import DmarcMode

if TYPE_CHECKING:
    from dmarc_audit.config import Settings
    from dmarc_audit.diff import DomainDiff, PostureDiff
    from dmarc_audit.findings import FailOn

LIVE = "live"


def diff_command(
    domains: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="DOMAIN...",
            help="Domains to compare. Default: the policy file's domains inside the "
            "NEW zones, else the NEW zones' origins.",
        ),
    ] = None,
    zone: Annotated[
        list[str] | None,
        typer.Option(
            "--zone",
            "-z",
            metavar="NEW.zone",
            help="The proposed zone file(s) (repeatable; FILE[@ORIGIN] or a directory).",
        ),
    ] = None,
    against: Annotated[
        list[str] | None,
        typer.Option(
            "--against",
            metavar="OLD.zone|live",
            help="What to compare with: the current zone file(s) (repeatable), or "
            "'live' for what DNS publishes now (default).",
        ),
    ] = None,
    output_format: FormatOpt = OutputFormat.TEXT,
    fail_on: FailOnOpt = None,
    strict: StrictOpt = None,
    selector: Annotated[
        list[str] | None,
        typer.Option(
            "--selector",
            "-s",
            metavar="NAME",
            help="DKIM selector to check (repeatable). Default: the policy file's.",
        ),
    ] = None,
    dmarc_mode: Annotated[
        DmarcMode | None, typer.Option("--dmarc-mode", help="rfc9989 (default) or rfc7489.")
    ] = None,
    profile: Annotated[
        ProfileChoice | None, typer.Option("--profile", help="bulk-sender raises severities.")
    ] = None,
    nameserver: NameserverOpt = None,
    offline: OfflineOpt = False,
    no_fetch: NoFetchOpt = False,
    ca_file: CaFileOpt = None,
    https_port: HttpsPortOpt = None,
    timeout: TimeoutOpt = None,
    config: ConfigOpt = None,
    select: SelectOpt = None,
    ignore: IgnoreOpt = None,
    baseline: BaselineOpt = None,
) -> None:
    """Show what the proposed zone does to posture: findings added and fixed, SPF lookups,
    DMARC policy, senders that would start failing. Exit 1 when it is worse at --fail-on."""
    from dmarc_audit.diff import diff_reports
    from dmarc_audit.errors import InputError
    from dmarc_audit.exit_status import ExitStatus, combine

    if not zone:
        raise InputError("diff needs the proposed zone: --zone NEW.zone")
    settings = gate_settings(
        config,
        nameserver=nameserver,
        offline=offline,
        timeout=timeout,
        fail_on=fail_on,
        strict=strict,
        profile=profile.value if profile is not None else None,
        dmarc_mode=dmarc_mode.value if dmarc_mode is not None else None,
        select=select,
        ignore=ignore,
        baseline=baseline,
        fetch=not no_fetch,
        ca_file=ca_file,
        https_port=https_port,
    )
    against = list(against or [LIVE])
    live = [a for a in against if a.strip().lower() == LIVE]
    if live and len(against) > 1:
        raise InputError("--against: give either 'live' or zone files, not both")
    if live and settings.offline:
        raise InputError(
            "--against live needs DNS, but the run is offline (--offline or "
            "resolver.offline in the policy file)"
        )
    names = list(domains or []) or default_domains(settings, zone)
    parsed, input_errors = parse_domains(names)
    after_zones = _unique([*zone, *settings.zones])
    before_zones = _unique([*against, *settings.zones]) if not live else []
    before = run_gate(settings, parsed, selector or (), zones=before_zones, live_only=bool(live))
    after = run_gate(settings, parsed, selector or (), zones=after_zones)
    result = diff_reports(
        before.gated,
        after.gated,
        {p.domain.ascii: p for p in settings.domains},
        before_label=LIVE if live else " ".join(against),
        after_label=" ".join(zone),
    )
    status = combine(
        [
            ExitStatus.USAGE if input_errors else ExitStatus.OK,
            ExitStatus.FINDINGS if result.worse(settings.fail_on) else ExitStatus.OK,
            ExitStatus.INCOMPLETE
            if settings.strict and any(g.report.incomplete for g in after.gated)
            else ExitStatus.OK,
        ]
    )
    if output_format is OutputFormat.JSON:
        from dmarc_audit.output.console import print_json

        document = result.to_json(settings.fail_on)
        document["input_errors"] = input_errors
        print_json(document)
    else:
        render_diff_text(result, settings.fail_on)
    render_diff_summary(result, settings.fail_on, int(status), input_errors)
    raise typer.Exit(int(status))


def default_domains(settings: Settings, zones: Sequence[str]) -> list[str]:
    """The policy file's domains inside the NEW zones, else the zones' origins."""
    from dmarc_audit.errors import InputError

    origins = zone_origins(zones)
    if not origins:
        raise InputError(
            "cannot tell which domains the NEW zone holds (YAML zone data has "
            "no origin): give DOMAIN arguments"
        )
    inside = [
        p.domain.ascii
        for p in settings.domains
        if any(p.domain.ascii == o or p.domain.ascii.endswith("." + o) for o in origins)
    ]
    return inside or origins


def zone_origins(specs: Sequence[str]) -> list[str]:
    """The origins of the master files among ``specs`` (directories are expanded)."""
    from dmarc_audit.dns.setup import ZONE_SUFFIXES
    from dmarc_audit.dns.zonefile import ZoneFileSource, parse_zone_argument
    from dmarc_audit.errors import InputError

    origins: list[str] = []
    for spec in specs:
        path, origin = parse_zone_argument(spec)
        if path.is_dir():
            files = sorted(p for p in path.iterdir() if p.suffix.lower() in ZONE_SUFFIXES)
        elif path.exists():
            files = [path]
        else:
            raise InputError(f"--zone {spec}: file not found")
        for file in files:
            if file.suffix.lower() in (".yaml", ".yml"):
                continue
            origins.append(ZoneFileSource(file, origin).origin)
    return _unique(origins)


def _unique(items: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(items))


# --- text ------------------------------------------------------------------------------------

MARKS = {
    "added": "[red]+[/]",
    "fixed": "[green]-[/]",
    "raised": "[red]↑[/]",
    "lowered": "[green]↓[/]",
}


def render_diff_text(result: PostureDiff, fail_on: FailOn) -> None:
    """Per domain: the verdict and deltas first, then each finding added, fixed or changed."""
    from rich.markup import escape

    from dmarc_audit.output.text import SEVERITY_STYLE

    console = stdout_console()
    for index, d in enumerate(result.domains):
        if index:
            console.print()
        console.print(
            f"[bold]{escape(d.domain)}[/]   {d.verdict(fail_on).value}   "
            + escape("   ".join(_deltas(d)))
        )
        for mark, findings in (("added", d.added), ("fixed", d.fixed)):
            for f in findings:
                tail = "  (baselined)" if f in d.baselined else ""
                style = SEVERITY_STYLE[f.severity]
                console.print(
                    f"  {MARKS[mark]} [{style}]{f.severity.value:<8}[/] [bold]{f.id}"
                    f"[/]  {escape(f.message)}{tail}"
                )
        for c in d.severity_changed:
            mark = MARKS["raised" if c.raised else "lowered"]
            console.print(
                f"  {mark} {c.finding.severity.value:<8} [bold]{c.finding.id}[/]  "
                f"was {c.before.value}: {escape(c.finding.message)}"
            )
        if d.spf.terms_added:
            console.print(escape(f"  SPF senders added: {', '.join(d.spf.terms_added)}"))
        if d.spf.terms_removed:
            console.print(escape(f"  SPF senders removed: {', '.join(d.spf.terms_removed)}"))
        if d.senders_failing:
            console.print(
                "  [red]would start failing (required by the policy file):[/] "
                + escape(", ".join(d.senders_failing))
            )
        if not (d.added or d.fixed or d.severity_changed):
            console.print("  no finding added or fixed")


def _deltas(d: DomainDiff) -> list[str]:
    parts = []
    spf = d.spf
    if spf.lookups_before != spf.lookups_after:
        delta = f" ({spf.delta:+d})" if spf.delta is not None else ""
        parts.append(
            f"SPF lookups {_shown(spf.lookups_before)} → {_shown(spf.lookups_after)}{delta}"
        )
    elif spf.lookups_after is not None:
        parts.append(f"SPF lookups {spf.lookups_after}")
    dm = d.dmarc
    if (dm.policy_before, dm.subdomain_before) != (dm.policy_after, dm.subdomain_after):
        parts.append(
            f"DMARC {_policy(dm.policy_before, dm.subdomain_before)} → "
            f"{_policy(dm.policy_after, dm.subdomain_after)}" + (" (weaker)" if dm.weaker else "")
        )
    elif dm.policy_after is not None:
        parts.append(f"DMARC {_policy(dm.policy_after, dm.subdomain_after)}")
    return parts


def _shown(value: int | None) -> str:
    return "-" if value is None else str(value)


def _policy(p: str | None, sp: str | None) -> str:
    if p is None:
        return "none published"
    return f"p={p}" + (f" sp={sp}" if sp and sp != p else "")


def render_diff_summary(
    result: PostureDiff, fail_on: FailOn, status: int, input_errors: Sequence[str]
) -> None:
    """One line on stderr: counts, the verdict at --fail-on, and the exit status."""
    from rich.markup import escape

    added = sum(len(d.added) for d in result.domains)
    fixed = sum(len(d.fixed) for d in result.domains)
    n = len(result.domains)
    parts = [
        f"{n} domain{'s' if n != 1 else ''}",
        f"{added} added, {fixed} fixed",
        f"against {result.before}",
    ]
    if input_errors:
        parts.append(f"{len(input_errors)} skipped (bad input)")
    parts.append(
        ("worse" if result.worse(fail_on) else "not worse") + f" at --fail-on {fail_on.value}"
    )
    parts.append(f"exit {status}")
    stderr_console().print(escape(" · ".join(parts)))
