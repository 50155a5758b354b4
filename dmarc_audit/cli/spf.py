"""``dmarc-audit spf``: audit a domain's SPF tree, or evaluate check_host() for an IP."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from dmarc_audit.cli.common import (
    FormatOpt,
    NameserverOpt,
    OfflineOpt,
    TimeoutOpt,
    ZoneOpt,
    dns_options,
    run_async,
)
from dmarc_audit.errors import InputError
from dmarc_audit.findings import FailOn
from dmarc_audit.output.formats import OutputFormat


def spf_command(
    domain: Annotated[
        str | None,
        typer.Argument(metavar="[DOMAIN]", help="Domain whose SPF record to audit or evaluate."),
    ] = None,
    ip: Annotated[
        str | None,
        typer.Option("--ip", metavar="IP", help="Evaluate check_host() for this connecting IP."),
    ] = None,
    sender: Annotated[
        str | None,
        typer.Option(
            "--sender",
            "--mail-from",
            metavar="ADDR",
            help="MAIL FROM address; its domain is checked (RFC 7208 §4.3). "
            "An empty value checks the HELO identity.",
        ),
    ] = None,
    helo: Annotated[
        str | None,
        typer.Option("--helo", metavar="NAME", help="HELO/EHLO name given by the client."),
    ] = None,
    output_format: FormatOpt = OutputFormat.TEXT,
    fail_on: Annotated[
        FailOn, typer.Option("--fail-on", help="Without --ip: exit 1 at this severity.")
    ] = FailOn.ERROR,
    strict: Annotated[
        bool,
        typer.Option("--strict", help="Without --ip: exit 3 when something could not be checked."),
    ] = False,
    nameserver: NameserverOpt = None,
    zone: ZoneOpt = None,
    offline: OfflineOpt = False,
    timeout: TimeoutOpt = 2.0,
) -> None:
    """Show a domain's SPF include tree and findings, or, with --ip, the check_host() result."""
    from dmarc_audit.dns.setup import build_resolver

    if ip is None:
        if domain is None and not sender:
            raise InputError("give a DOMAIN (or --sender ADDR)")
        target = _audit_target(domain, sender)
        resolver = build_resolver(dns_options(nameserver, zone, offline, timeout))
        _audit(resolver, target, output_format, fail_on, strict)
        return
    import ipaddress

    try:
        ipaddress.ip_address(ip)
    except ValueError:
        raise InputError(f"--ip {ip!r}: not an IPv4 or IPv6 address") from None
    if sender is None and domain is None:
        raise InputError("give a DOMAIN, --sender ADDR, or --sender '' with --helo NAME")
    if sender == "" and not helo:
        raise InputError("--sender '' checks the HELO identity: give --helo NAME")
    if domain is not None and sender:
        checked = sender.rpartition("@")[2].rstrip(".")
        if checked and checked.lower() != domain.lower().rstrip("."):
            sys.stderr.write(
                f"dmarc-audit: note: checking the sender's domain {checked}, not {domain}\n"
            )
    resolver = build_resolver(dns_options(nameserver, zone, offline, timeout))
    _evaluate(resolver, ip, domain, sender, helo, output_format)


def _audit_target(domain: str | None, sender: str | None) -> str:
    from dmarc_audit.domains import parse_domain

    if domain is not None:
        return parse_domain(domain).ascii
    assert sender
    return parse_domain(sender.rpartition("@")[2]).ascii


def _audit(
    resolver, domain: str, output_format: OutputFormat, fail_on: FailOn, strict: bool
) -> None:
    from dmarc_audit.audit import audit_spf
    from dmarc_audit.domains import parse_domain
    from dmarc_audit.report import SCHEMA_VERSION, exit_status_for

    analysis = run_async(audit_spf(resolver, parse_domain(domain)))
    report = _as_report(domain, analysis)
    status = exit_status_for([report], fail_on, strict, False)
    if output_format is OutputFormat.JSON:
        from dmarc_audit.output.console import print_json
        from dmarc_audit.output.json_output import dns_section

        print_json(
            {
                "schema_version": SCHEMA_VERSION,
                "domain": domain,
                "spf": analysis.to_json(),
                "findings": [f.to_json() for f in report.findings],
                "dns": dns_section(resolver),
            }
        )
    else:
        from dmarc_audit.output.spf_text import render_spf_analysis

        render_spf_analysis(analysis, report.findings)
    from dmarc_audit.output.text import render_summary

    render_summary([report], resolver.queries, status, fail_on, [])
    raise typer.Exit(int(status))


def _as_report(domain: str, analysis):
    from dmarc_audit.domains import parse_domain
    from dmarc_audit.findings import sort_findings
    from dmarc_audit.report import DomainReport

    return DomainReport(
        domain=parse_domain(domain),
        findings=tuple(sort_findings(list(analysis.findings))),
        spf=analysis,
    )


def _evaluate(
    resolver,
    ip: str,
    domain: str | None,
    sender: str | None,
    helo: str | None,
    output_format: OutputFormat,
) -> None:
    from dmarc_audit.spf.evaluate import evaluate_identity

    mail_from = sender
    if mail_from is None and domain is not None:
        mail_from = f"postmaster@{domain.rstrip('.')}"

    async def evaluate():
        from dmarc_audit.audit import audit_helo, audit_sender_ptr
        from dmarc_audit.findings import sort_findings

        verdict = await evaluate_identity(
            resolver, ip, mail_from=mail_from, helo=helo, domain=domain
        )
        found = await audit_helo(resolver, helo) if helo else []
        found += await audit_sender_ptr(resolver, ip)
        return verdict, sort_findings(found)

    try:
        result, findings = run_async(evaluate())
    except ValueError as exc:
        raise InputError(str(exc)) from None
    status = result.exit_status
    if output_format is OutputFormat.JSON:
        from dmarc_audit.output.console import print_json
        from dmarc_audit.output.json_output import dns_section
        from dmarc_audit.report import SCHEMA_VERSION

        print_json(
            {
                "schema_version": SCHEMA_VERSION,
                "domain": result.domain,
                "spf": {
                    "ip": ip,
                    "sender": result.sender,
                    "helo": helo,
                    "result": result.result.value,
                    "explanation": result.explanation,
                    "matched_term": result.matched_term,
                    "matched_domain": result.matched_domain,
                    "reason": result.reason,
                    "lookups": result.lookups,
                    "void_lookups": result.void_lookups,
                    "steps": list(result.steps),
                },
                "findings": [f.to_json() for f in findings],
                "dns": dns_section(resolver),
            }
        )
    else:
        from dmarc_audit.output.spf_text import render_spf_result

        render_spf_result(result, ip, helo, findings)
    raise typer.Exit(int(status))
