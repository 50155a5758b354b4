"""Build the run's resolver from command-line options."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from dmarc_audit.dns.cache import CachingResolver
from dmarc_audit.dns.types import Resolver
from dmarc_audit.errors import InputError


@dataclass(frozen=True, slots=True)
class DnsOptions:
    """How to answer DNS questions for one run."""

    nameservers: tuple[str, ...] = ()
    zones: tuple[str, ...] = ()
    offline: bool = False
    timeout: float = 2.0
    retries: int = 1
    extra_sources: tuple[object, ...] = field(default=())
    """Ready-made zone sources (tests and the conformance harness)."""


MAX_TIMEOUT = 60.0
"""The longest wait for one DNS answer that ``--timeout`` accepts, in seconds."""


def timeout_problem(value: float, maximum: float = MAX_TIMEOUT) -> str | None:
    """Why ``value`` is not a usable timeout (``nan``, ``inf``, 0, too long), or ``None``."""
    import math

    if not math.isfinite(value) or value <= 0:
        return f"must be a number of seconds greater than 0 and at most {maximum:g}"
    if value > maximum:
        return f"must be at most {maximum:g} seconds"
    return None


def build_resolver(options: DnsOptions) -> CachingResolver:
    """Zone files and YAML first, then live DNS (unless offline), behind one cache."""
    problem = timeout_problem(options.timeout)
    if problem is not None:
        raise InputError(f"--timeout {options.timeout:g}: {problem}")
    if options.retries < 0:
        raise InputError(f"--retries {options.retries}: must be 0 or more")
    sources: list = list(options.extra_sources)
    closed_world = False
    for spec in options.zones:
        for source, is_yaml in _load_zone_spec(spec):
            sources.append(source)
            closed_world = closed_world or is_yaml
    fallback: Resolver | None = None
    if not options.offline and not closed_world:
        from dmarc_audit.dns.live import LiveResolver, parse_nameserver, system_nameservers

        servers = [parse_nameserver(s) for s in options.nameservers] or system_nameservers()
        fallback = LiveResolver(servers, timeout=options.timeout, retries=options.retries)
    if not sources:
        assert fallback is not None or options.offline
        if fallback is None:
            from dmarc_audit.dns.local import LocalRouter

            return CachingResolver(LocalRouter([], fallback=None))
        return CachingResolver(fallback)
    from dmarc_audit.dns.local import LocalRouter

    return CachingResolver(LocalRouter(sources, closed_world=closed_world, fallback=fallback))


ZONE_SUFFIXES = (".zone", ".db", ".yaml", ".yml")


def _load_zone_spec(spec: str) -> list[tuple[object, bool]]:
    """``FILE``, ``FILE@origin``, or a directory of ``*.zone``/``*.db``/``*.yaml`` files."""
    from dmarc_audit.dns.zonefile import parse_zone_argument

    path, origin = parse_zone_argument(spec)
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix.lower() in ZONE_SUFFIXES)
        if not files:
            raise InputError(f"--zone {spec}: directory has no *.zone, *.db or *.yaml files")
        return [_load_zone(p, None) for p in files]
    if not path.exists():
        raise InputError(f"--zone {spec}: file not found")
    return [_load_zone(path, origin)]


def _load_zone(path: Path, origin: str | None) -> tuple[object, bool]:
    if path.suffix.lower() in (".yaml", ".yml"):
        from dmarc_audit.dns.yamlzone import YamlZoneSource

        return YamlZoneSource.from_file(Path(path)), True
    from dmarc_audit.dns.zonefile import ZoneFileSource

    return ZoneFileSource(path, origin), False
