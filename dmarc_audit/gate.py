"""The gate that ``check``, ``diff`` and ``digest`` share: settings, audit, filters.

:func:`gate_settings` loads the policy file and applies the command-line flags;
:func:`run_gate` audits the domains under those settings (through
:func:`dmarc_audit.audit.audit_domains`) and applies select, ignore, severity
overrides and the baseline (:mod:`dmarc_audit.filters`). Nothing here renders.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dmarc_audit.config import Settings
    from dmarc_audit.dns.cache import CachingResolver
    from dmarc_audit.domains import DomainName
    from dmarc_audit.filters import Baseline, GatedReport
    from dmarc_audit.findings import FailOn
    from dmarc_audit.report import DomainReport


def gate_settings(
    config: str | None,
    *,
    nameserver: Sequence[str] | None = None,
    zone: Sequence[str] | None = None,
    offline: bool = False,
    timeout: float | None = None,
    concurrency: int | None = None,
    fail_on: FailOn | None = None,
    strict: bool | None = None,
    profile: str | None = None,
    dmarc_mode: str | None = None,
    select: Sequence[str] | None = None,
    ignore: Sequence[str] | None = None,
    baseline: str | None = None,
    fetch: bool = True,
    ca_file: str | None = None,
    https_port: int | None = None,
) -> Settings:
    """Load the policy file (``--config`` or ./dmarc-audit.yaml) and apply the flags."""
    from dmarc_audit.config import Overrides, find_config, load_config, resolve_settings
    from dmarc_audit.filters import IdPattern, IgnoreRule

    if ca_file is not None:
        check_ca_file(ca_file)
    path = find_config(config)
    loaded = load_config(path) if path is not None else None
    if path is not None and config is None:
        sys.stderr.write(f"dmarc-audit: using policy file {path}\n")
    overrides = Overrides(
        nameservers=tuple(nameserver or ()),
        timeout=timeout,
        concurrency=concurrency,
        offline=offline or None,
        zones=tuple(zone or ()),
        fail_on=fail_on,
        strict=strict,
        profile=profile,
        dmarc_mode=dmarc_mode,
        select=tuple(IdPattern.parse(s, "--select") for s in select or ()),
        ignore=tuple(IgnoreRule(IdPattern.parse(s, "--ignore"), "--ignore") for s in ignore or ()),
        baseline=baseline,
        fetch=fetch,
        ca_file=ca_file,
        https_port=https_port,
    )
    return resolve_settings(loaded, overrides)


def check_ca_file(ca_file: str) -> None:
    """Raise :class:`InputError` unless ``ca_file`` is a readable PEM bundle of certificates."""
    import ssl

    from dmarc_audit.errors import InputError
    from dmarc_audit.fetch.https import tls_context

    try:
        tls_context(ca_file)
    except FileNotFoundError:
        raise InputError(f"--ca-file {ca_file}: no such file") from None
    except (OSError, ssl.SSLError) as exc:
        raise InputError(f"--ca-file {ca_file}: not a PEM certificate bundle ({exc})") from None


def parse_domains(raw: Sequence[str]) -> tuple[list[DomainName], list[str]]:
    """Valid names, each once, and one error line for each invalid one (also written to
    stderr). A name given again (in any case, with or without the trailing dot, as
    U-label or A-label) is audited once; a note on stderr says so."""
    from dmarc_audit.domains import parse_domain
    from dmarc_audit.errors import InputError

    parsed: dict[str, DomainName] = {}
    repeated: dict[str, int] = {}
    errors: list[str] = []
    for text in raw:
        try:
            name = parse_domain(text)
        except InputError as exc:
            errors.append(str(exc))
            sys.stderr.write(f"dmarc-audit: error: {exc}; skipped\n")
            continue
        if name.ascii in parsed:
            repeated[name.ascii] = repeated.get(name.ascii, 1) + 1
        else:
            parsed[name.ascii] = name
    if repeated:
        from dmarc_audit.words import plural

        listed = ", ".join(f"{n} ({plural(k, 'time')})" for n, k in repeated.items())
        sys.stderr.write(f"dmarc-audit: note: given more than once, audited once: {listed}\n")
    return list(parsed.values()), errors


@dataclass(frozen=True, slots=True)
class GateRun:
    """One audit under the gate: the raw reports, the gated ones and the resolver."""

    reports: list[DomainReport]
    gated: list[GatedReport]
    resolver: CachingResolver


def run_gate(
    settings: Settings,
    domains: Sequence[DomainName],
    selectors: Sequence[str] = (),
    *,
    zones: Sequence[str] | None = None,
    live_only: bool = False,
    use_baseline: bool = True,
    on_done: Callable[[DomainReport], None] | None = None,
    dnssec: bool = True,
    trust_anchor: str | None = None,
) -> GateRun:
    """Audit ``domains`` with the policy, then apply select/ignore/severity/baseline.

    ``zones`` replaces the settings' zone list; ``live_only`` ignores every zone.
    ``dnssec`` validates DNSSEC from ``trust_anchor`` (a file; default the IANA root).
    ``on_done`` is called with each finished report (the CLI's progress bar).
    """
    from dmarc_audit.audit import audit_domains
    from dmarc_audit.dkim.selectors import normalize_selectors
    from dmarc_audit.dns.setup import DnsOptions, build_resolver
    from dmarc_audit.filters import load_baseline
    from dmarc_audit.report import AuditOptions, Profile

    zone_list = () if live_only else tuple(zones if zones is not None else settings.zones)
    resolver = build_resolver(
        DnsOptions(
            nameservers=settings.nameservers,
            zones=zone_list,
            offline=settings.offline,
            timeout=settings.timeout,
        )
    )
    options = AuditOptions(
        profile=Profile(settings.profile),
        selectors=normalize_selectors(selectors),
        dmarc_mode=settings.dmarc_mode,
        fetch=settings.fetch and not settings.offline,  # offline: no network at all
        ca_file=settings.ca_file,
        https_port=settings.https_port,
        dnssec=dnssec,
        trust_anchor=trust_anchor,
    )
    baseline = load_baseline(settings.baseline) if settings.baseline and use_baseline else None
    policies = {p.domain.ascii: p for p in settings.domains}

    reports: list[DomainReport] = []
    if domains:
        reports = asyncio.run(
            audit_domains(
                resolver,
                domains,
                options,
                policies=policies,
                concurrency=settings.concurrency,
                on_done=on_done,
            )
        )
    return GateRun(reports, regate(settings, reports, baseline), resolver)


def regate(
    settings: Settings, reports: Sequence[DomainReport], baseline: Baseline | None
) -> list[GatedReport]:
    """Apply the settings' rules and ``baseline`` to every report."""
    from dmarc_audit.filters import gate_report

    return [gate_report(r, settings.rules_for(r.domain.ascii), baseline) for r in reports]
