"""The policy file (``dmarc-audit.yaml``): what each domain must look like, and gate settings.

:func:`load_config` reads and validates the YAML file. Every problem (invalid YAML,
an unknown key, a value of the wrong type, an unknown check id) raises
:class:`~dmarc_audit.errors.InputError` with one line naming ``FILE:LINE``.
:func:`resolve_settings` merges the file with command-line flags (flags win) into
the :class:`Settings` a run uses. The shape is documented in ``docs/config.md``.
"""

from __future__ import annotations

import difflib
import functools
import ipaddress
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any, TypeAlias

import yaml

from dmarc_audit.domains import DomainName, parse_domain
from dmarc_audit.errors import InputError
from dmarc_audit.filters import FilterRules, IdPattern, IgnoreRule, SeverityOverride
from dmarc_audit.findings import FailOn, Severity
from dmarc_audit.records.dmarc import Alignment, Policy

DEFAULT_FILE = "dmarc-audit.yaml"
DEFAULT_TIMEOUT = 2.0
DEFAULT_CONCURRENCY = 32

IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class MtaStsMode(str, Enum):
    """The MTA-STS policy mode a domain is expected to publish."""

    ENFORCE = "enforce"
    TESTING = "testing"
    NONE = "none"

    @property
    def needs_record(self) -> bool:
        """enforce and testing need a valid ``_mta-sts`` record; none needs nothing."""
        return self is not MtaStsMode.NONE


@dataclass(frozen=True, slots=True)
class DmarcRequirement:
    """What the DMARC record that applies to a domain must say."""

    min_policy: Policy | None = None
    min_subdomain_policy: Policy | None = None
    require_rua: bool = False
    dkim_alignment: Alignment | None = None
    spf_alignment: Alignment | None = None


@dataclass(frozen=True, slots=True)
class SpfRequirement:
    """Limits on a domain's SPF record: lookup budget, allowed and required senders.

    ``allowed_includes``/``allowed_ips`` of None means "anything"; required entries
    are always allowed.
    """

    max_lookups: int | None = None
    required_includes: tuple[str, ...] = ()
    allowed_includes: tuple[str, ...] | None = None
    required_ips: tuple[IpNetwork, ...] = ()
    allowed_ips: tuple[IpNetwork, ...] | None = None

    def include_allowed(self, target: str) -> bool:
        if self.allowed_includes is None:
            return True
        return target in self.allowed_includes or target in self.required_includes

    def ip_allowed(self, network: IpNetwork) -> bool:
        if self.allowed_ips is None:
            return True
        return any(_within(network, allowed) for allowed in (*self.allowed_ips, *self.required_ips))


def _within(network: IpNetwork, outer: IpNetwork) -> bool:
    return network.version == outer.version and network.subnet_of(outer)  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class DomainPolicy:
    """The policy file's requirements for one domain (all optional)."""

    domain: DomainName
    sends_mail: bool | None = None
    dkim_selectors: tuple[str, ...] = ()
    dmarc: DmarcRequirement | None = None
    spf: SpfRequirement | None = None
    mta_sts_mode: MtaStsMode | None = None
    rules: FilterRules = field(default_factory=FilterRules)


@dataclass(frozen=True, slots=True)
class KnownSender:
    """``senders:``: a sender the domain owner declares, with what identifies its mail.

    ``networks`` are its source IP ranges, ``includes`` the SPF include domains that
    authorise it, ``domains`` the DKIM/envelope domains it authenticates as.
    """

    name: str
    networks: tuple[IpNetwork, ...] = ()
    includes: tuple[str, ...] = ()
    domains: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ResolverSettings:
    """``resolver:``; None means "not set in the file"."""

    nameservers: tuple[str, ...] = ()
    timeout: float | None = None
    concurrency: int | None = None
    offline: bool | None = None


@dataclass(frozen=True, slots=True)
class PolicyConfig:
    """A loaded policy file. Paths (zones, baseline) are relative to the working directory."""

    path: Path | None = None
    resolver: ResolverSettings = field(default_factory=ResolverSettings)
    zones: tuple[str, ...] = ()
    fail_on: FailOn | None = None
    strict: bool | None = None
    profile: str | None = None
    dmarc_mode: str | None = None
    rules: FilterRules = field(default_factory=FilterRules)
    baseline: str | None = None
    domains: tuple[DomainPolicy, ...] = ()
    senders: tuple[KnownSender, ...] = ()

    def policy_for(self, domain: str) -> DomainPolicy | None:
        return next((p for p in self.domains if p.domain.ascii == domain), None)


@dataclass(frozen=True, slots=True)
class Overrides:
    """Command-line values; None (or empty) means "not given, use the file"."""

    nameservers: tuple[str, ...] = ()
    timeout: float | None = None
    concurrency: int | None = None
    offline: bool | None = None
    zones: tuple[str, ...] = ()
    fail_on: FailOn | None = None
    strict: bool | None = None
    profile: str | None = None
    dmarc_mode: str | None = None
    select: tuple[IdPattern, ...] = ()
    ignore: tuple[IgnoreRule, ...] = ()
    baseline: str | None = None
    fetch: bool = True
    ca_file: str | None = None
    https_port: int | None = None


@dataclass(frozen=True, slots=True)
class Settings:
    """The effective settings of one run: the policy file, then flags, then defaults."""

    config_path: str | None
    nameservers: tuple[str, ...]
    timeout: float
    concurrency: int
    offline: bool
    zones: tuple[str, ...]
    fail_on: FailOn
    strict: bool
    profile: str
    dmarc_mode: str
    rules: FilterRules
    baseline: str | None
    domains: tuple[DomainPolicy, ...]
    fetch: bool = True
    """HTTPS fetches on (command line only: ``--no-fetch`` turns them off)."""
    ca_file: str | None = None
    """``--ca-file``: the PEM bundle HTTPS certificates are verified against."""
    https_port: int | None = None
    """``--https-port``: connect HTTPS to this port (labs and tests)."""

    def policy_for(self, domain: str) -> DomainPolicy | None:
        return next((p for p in self.domains if p.domain.ascii == domain), None)

    def rules_for(self, domain: str) -> FilterRules:
        """Global rules merged with the domain's own (the domain's win)."""
        policy = self.policy_for(domain)
        return self.rules if policy is None else self.rules.merged(policy.rules)

    def to_data(self) -> dict[str, Any]:
        """The settings in the policy file's own shape (loadable again as a config)."""
        return {
            "resolver": {
                "nameservers": list(self.nameservers),
                "timeout": self.timeout,
                "concurrency": self.concurrency,
                "offline": self.offline,
            },
            "zones": list(self.zones),
            "fail_on": self.fail_on.value,
            "strict": self.strict,
            "profile": self.profile,
            "dmarc_mode": self.dmarc_mode,
            **_rules_data(self.rules),
            "baseline": self.baseline,
            "domains": {p.domain.ascii: _domain_data(p) for p in self.domains},
        }


def resolve_settings(config: PolicyConfig | None, overrides: Overrides | None = None) -> Settings:
    """Merge the file and the flags. ``--select`` replaces every select of the file
    (global and per domain); ``--ignore`` adds to the file's ignores; ``--zone``
    files come before the file's zones (and shadow zones with the same origin)."""
    config = config or PolicyConfig()
    o = overrides or Overrides()
    r = config.resolver
    rules = FilterRules(
        select=o.select or config.rules.select,
        ignore=config.rules.ignore + o.ignore,
        severity=config.rules.severity,
    )
    domains = config.domains
    if o.select:
        domains = tuple(_replace_select(p, o.select) for p in domains)
    return Settings(
        config_path=str(config.path) if config.path is not None else None,
        nameservers=o.nameservers or r.nameservers,
        timeout=_first(o.timeout, r.timeout, DEFAULT_TIMEOUT),
        concurrency=_first(o.concurrency, r.concurrency, DEFAULT_CONCURRENCY),
        offline=bool(o.offline) or bool(r.offline),
        zones=tuple(dict.fromkeys((*o.zones, *config.zones))),
        fail_on=_first(o.fail_on, config.fail_on, FailOn.ERROR),
        strict=_first(o.strict, config.strict, False),
        profile=_first(o.profile, config.profile, "default"),
        dmarc_mode=_first(o.dmarc_mode, config.dmarc_mode, "rfc9989"),
        rules=rules,
        baseline=_first(o.baseline, config.baseline, None),
        domains=domains,
        fetch=o.fetch,
        ca_file=o.ca_file,
        https_port=o.https_port,
    )


def _first(*values: Any) -> Any:
    return next((v for v in values if v is not None), None)


def _replace_select(policy: DomainPolicy, select: tuple[IdPattern, ...]) -> DomainPolicy:
    from dataclasses import replace

    return replace(policy, rules=replace(policy.rules, select=select))


def find_config(explicit: str | None, cwd: Path | None = None) -> Path | None:
    """``--config FILE`` (must exist), else ``./dmarc-audit.yaml`` when present."""
    if explicit is not None:
        path = Path(explicit)
        if not path.is_file():
            raise InputError(f"--config {explicit}: file not found")
        return path
    default = cwd / DEFAULT_FILE if cwd is not None else Path(DEFAULT_FILE)
    return default if default.is_file() else None


def load_config(path: str | Path) -> PolicyConfig:
    """Read and validate a policy file; raises :class:`InputError` with ``FILE:LINE``."""
    from dmarc_audit.yamlfile import read_text

    path = Path(path)
    return parse_config(read_text(path, "config"), path)


def parse_config(text: str, path: Path) -> PolicyConfig:
    """Validate the YAML ``text`` of the policy file at ``path``."""
    from dmarc_audit.yamlfile import compose_one

    root, loader = compose_one(text, path)
    if root is None:
        raise InputError(f"{path}: config is empty (see docs/config.md)")
    return _Reader(path, loader).config(root)


def _max_timeout() -> float:
    from dmarc_audit.dns.setup import MAX_TIMEOUT

    return MAX_TIMEOUT


# --- the reader: YAML nodes (with line numbers) to dataclasses ----------------------------

_TOP_KEYS = (
    "resolver",
    "zones",
    "fail_on",
    "strict",
    "profile",
    "dmarc_mode",
    "select",
    "ignore",
    "severity",
    "baseline",
    "domains",
    "senders",
)
_SENDER_KEYS = ("ips", "includes", "domains")
_RESOLVER_KEYS = ("nameservers", "timeout", "concurrency", "offline")
_DOMAIN_KEYS = (
    "sends_mail",
    "dkim_selectors",
    "dmarc",
    "spf",
    "mta_sts_mode",
    "select",
    "ignore",
    "severity",
)
_DMARC_KEYS = (
    "min_policy",
    "min_subdomain_policy",
    "require_rua",
    "alignment",
    "dkim_alignment",
    "spf_alignment",
)
_SPF_KEYS = ("max_lookups", "required_includes", "allowed_includes", "required_ips", "allowed_ips")
_ALIGNMENT = {
    "relaxed": Alignment.RELAXED,
    "r": Alignment.RELAXED,
    "strict": Alignment.STRICT,
    "s": Alignment.STRICT,
}

Node: TypeAlias = yaml.Node
Entries = dict[str, tuple[Node, Node]]


class _Reader:
    def __init__(self, path: Path, loader: yaml.SafeLoader) -> None:
        self.path = path
        self.base = path.parent
        self.loader = loader

    def error(self, node: Node, where: str, message: str) -> InputError:
        prefix = f"{where}: " if where else ""
        return InputError(f"{self.path}:{node.start_mark.line + 1}: {prefix}{message}")

    def loc(self, node: Node) -> str:
        return f"{self.path}:{node.start_mark.line + 1}"

    # generic shapes

    def mapping(self, node: Node, where: str, allowed: Iterable[str] | None) -> Entries:
        if not isinstance(node, yaml.MappingNode):
            raise self.error(
                node, where, f"expected a mapping, got {_shown(self.scalar(node), node)}"
            )
        allowed = tuple(allowed) if allowed is not None else None
        out: Entries = {}
        for key_node, value_node in node.value:
            key = self.scalar(key_node)
            if not isinstance(key, str):
                raise self.error(key_node, where, f"keys must be text, got {key!r}")
            if allowed is not None and key not in allowed:
                near = difflib.get_close_matches(key, allowed, n=1)
                hint = (
                    f" (did you mean {near[0]!r}?)" if near else f" (allowed: {', '.join(allowed)})"
                )
                raise self.error(key_node, where, f"unknown key {key!r}{hint}")
            if key in out:
                raise self.error(key_node, where, f"key {key!r} given twice")
            out[key] = (key_node, value_node)
        return out

    def scalar(self, node: Node) -> Any:
        if not isinstance(node, yaml.ScalarNode):
            return node
        from dmarc_audit.yamlfile import construct

        return construct(self.loader, node, self.path)

    def value(self, entries: Entries, key: str) -> Node | None:
        """The value node of ``key``; None when absent or null."""
        pair = entries.get(key)
        if pair is None:
            return None
        node = pair[1]
        if isinstance(node, yaml.ScalarNode) and self.scalar(node) is None:
            return None
        return node

    def text(self, node: Node, where: str) -> str:
        value = self.scalar(node)
        if not isinstance(value, str) or not value.strip():
            raise self.error(node, where, f"expected text, got {_shown(value, node)}")
        return value.strip()

    def boolean(self, node: Node, where: str) -> bool:
        value = self.scalar(node)
        if not isinstance(value, bool):
            raise self.error(node, where, f"expected true or false, got {_shown(value, node)}")
        return value

    def integer(self, node: Node, where: str, low: int, high: int) -> int:
        value = self.scalar(node)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.error(node, where, f"expected a whole number, got {_shown(value, node)}")
        if not low <= value <= high:
            raise self.error(node, where, f"{value} is out of range ({low}-{high})")
        return value

    def number(self, node: Node, where: str, maximum: float) -> float:
        import math

        value = self.scalar(node)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.error(node, where, f"expected a number, got {_shown(value, node)}")
        if not math.isfinite(value):
            raise self.error(node, where, f"{value} must be a finite number")
        if not value > 0:
            raise self.error(node, where, f"{value} must be greater than 0")
        if value > maximum:
            raise self.error(node, where, f"{value} must be at most {maximum:g}")
        return float(value)

    def choice(self, node: Node, where: str, choices: dict[str, Any]) -> Any:
        value = self.scalar(node)
        key = value.strip().lower() if isinstance(value, str) else value
        if key not in choices:
            shown = ", ".join(dict.fromkeys(str(c) for c in choices))
            raise self.error(node, where, f"{_shown(value, node)} is not one of {shown}")
        return choices[key]

    def items(self, node: Node, where: str) -> list[Node]:
        """A sequence (a single scalar counts as a list of one)."""
        if isinstance(node, yaml.ScalarNode):
            return [node]
        if not isinstance(node, yaml.SequenceNode):
            raise self.error(node, where, f"expected a list, got {_kind(node)}")
        return list(node.value)

    def texts(self, node: Node, where: str) -> list[tuple[Node, str]]:
        return [(item, self.text(item, where)) for item in self.items(node, where)]

    def convert(self, node: Node, where: str, text: str, convert: Callable[[str], Any]) -> Any:
        try:
            return convert(text)
        except InputError as exc:
            raise self.error(node, where, str(exc)) from None
        except ValueError as exc:
            raise self.error(node, where, str(exc)) from None

    # the document

    def config(self, root: Node) -> PolicyConfig:
        top = self.mapping(root, "", _TOP_KEYS)
        get = functools.partial(self.value, top)
        resolver = ResolverSettings()
        if (node := get("resolver")) is not None:
            resolver = self.resolver(node)
        zones = (
            tuple(str(self.base / z) for _n, z in self.texts(get("zones"), "zones"))
            if get("zones") is not None
            else ()
        )
        fail_on = (
            self.choice(n, "fail_on", {f.value: f for f in FailOn})
            if (n := get("fail_on")) is not None
            else None
        )
        strict = self.boolean(n, "strict") if (n := get("strict")) is not None else None
        profile = (
            self.choice(n, "profile", {"default": "default", "bulk-sender": "bulk-sender"})
            if (n := get("profile")) is not None
            else None
        )
        dmarc_mode = (
            self.choice(n, "dmarc_mode", {"rfc9989": "rfc9989", "rfc7489": "rfc7489"})
            if (n := get("dmarc_mode")) is not None
            else None
        )
        baseline = (
            str(self.base / self.text(n, "baseline"))
            if (n := get("baseline")) is not None
            else None
        )
        domains = self.domains(n) if (n := get("domains")) is not None else ()
        senders = self.senders(n) if (n := get("senders")) is not None else ()
        return PolicyConfig(
            path=self.path,
            resolver=resolver,
            zones=zones,
            fail_on=fail_on,
            strict=strict,
            profile=profile,
            dmarc_mode=dmarc_mode,
            rules=self.rules(top, ""),
            baseline=baseline,
            domains=domains,
            senders=senders,
        )

    def senders(self, node: Node) -> tuple[KnownSender, ...]:
        """``Name: [ranges or include domains]`` or ``Name: {ips:, includes:, domains:}``."""
        out = []
        for name, (key_node, value) in self.mapping(node, "senders", None).items():
            where = f"senders.{name}"
            if not name.strip():
                raise self.error(key_node, "senders", "a sender needs a name")
            nets: list[IpNetwork] = []
            includes: list[str] = []
            domains: list[str] = []
            if isinstance(value, yaml.MappingNode):
                entries = self.mapping(value, where, _SENDER_KEYS)
                for key, bucket in (("ips", nets), ("includes", includes), ("domains", domains)):
                    if (n := self.value(entries, key)) is not None:
                        for item, text in self.texts(n, f"{where}.{key}"):
                            bucket.append(self._sender_item(item, f"{where}.{key}", text, key))
            else:
                for item, text in self.texts(value, where):
                    kind = "ips" if _looks_like_network(text) else "includes"
                    (nets if kind == "ips" else includes).append(
                        self._sender_item(item, where, text, kind)
                    )
            if not (nets or includes or domains):
                raise self.error(key_node, where, "give IP ranges, include domains or domains")
            out.append(
                KnownSender(
                    name.strip(),
                    tuple(dict.fromkeys(nets)),
                    tuple(dict.fromkeys(includes)),
                    tuple(dict.fromkeys(domains)),
                )
            )
        return tuple(out)

    def _sender_item(self, node: Node, where: str, text: str, kind: str) -> Any:
        if kind == "ips":
            bare = text.split(":", 1)[1] if text.lower().startswith(("ip4:", "ip6:")) else text
            return self.convert(node, where, bare, lambda t: ipaddress.ip_network(t, strict=False))
        name = text.lower().rstrip(".")
        name = name[8:] if name.startswith("include:") else name
        return self.convert(node, where, name, parse_domain).ascii

    def resolver(self, node: Node) -> ResolverSettings:
        entries = self.mapping(node, "resolver", _RESOLVER_KEYS)
        servers: list[str] = []
        if (n := self.value(entries, "nameservers")) is not None:
            from dmarc_audit.dns.live import parse_nameserver

            for item, text in self.texts(n, "resolver.nameservers"):
                try:
                    parse_nameserver(text)
                except InputError as exc:
                    message = str(exc).replace("--nameserver ", "")
                    raise self.error(item, "resolver.nameservers", message) from None
                servers.append(text)
        timeout = (
            self.number(n, "resolver.timeout", _max_timeout())
            if (n := self.value(entries, "timeout")) is not None
            else None
        )
        concurrency = (
            self.integer(n, "resolver.concurrency", 1, 1000)
            if (n := self.value(entries, "concurrency")) is not None
            else None
        )
        offline = (
            self.boolean(n, "resolver.offline")
            if (n := self.value(entries, "offline")) is not None
            else None
        )
        return ResolverSettings(tuple(servers), timeout, concurrency, offline)

    def rules(self, entries: Entries, where: str) -> FilterRules:
        prefix = f"{where}." if where else ""
        select: list[IdPattern] = []
        if (n := self.value(entries, "select")) is not None:
            for item, text in self.texts(n, f"{prefix}select"):
                select.append(IdPattern.parse(text, f"{self.loc(item)}: {prefix}select"))
        ignore: list[IgnoreRule] = []
        if (n := self.value(entries, "ignore")) is not None:
            ignore = [
                self.ignore_rule(item, f"{prefix}ignore")
                for item in self.items(n, f"{prefix}ignore")
            ]
        severity: list[SeverityOverride] = []
        if (n := self.value(entries, "severity")) is not None:
            for key, (key_node, value_node) in self.mapping(n, f"{prefix}severity", None).items():
                pattern = IdPattern.parse(key, f"{self.loc(key_node)}: {prefix}severity")
                level = self.choice(
                    value_node, f"{prefix}severity.{key}", {s.value: s for s in Severity}
                )
                severity.append(SeverityOverride(pattern, level))
        return FilterRules(tuple(select), tuple(ignore), tuple(severity))

    def ignore_rule(self, node: Node, where: str) -> IgnoreRule:
        if isinstance(node, yaml.MappingNode):
            entries = self.mapping(node, where, ("id", "reason"))
            id_node = self.value(entries, "id")
            if id_node is None:
                raise self.error(node, where, "each entry needs an 'id'")
            reason_node = self.value(entries, "reason")
            reason = self.text(reason_node, f"{where}.reason") if reason_node is not None else ""
            text = self.text(id_node, f"{where}.id")
            return IgnoreRule(IdPattern.parse(text, f"{self.loc(id_node)}: {where}"), reason)
        text = self.text(node, where)
        return IgnoreRule(IdPattern.parse(text, f"{self.loc(node)}: {where}"))

    def domains(self, node: Node) -> tuple[DomainPolicy, ...]:
        pairs: list[tuple[Node, Node | None]]
        if isinstance(node, yaml.SequenceNode):
            pairs = [(item, None) for item in node.value]
        else:
            pairs = [(k, v) for k, v in self.mapping(node, "domains", None).values()]
        out: dict[str, DomainPolicy] = {}
        for key_node, value_node in pairs:
            name = self.text(key_node, "domains")
            domain = self.convert(key_node, "domains", name, parse_domain)
            if domain.ascii in out:
                raise self.error(key_node, "domains", f"{name!r} listed twice")
            out[domain.ascii] = self.domain(domain, value_node)
        return tuple(out.values())

    def domain(self, domain: DomainName, node: Node | None) -> DomainPolicy:
        if node is None or (isinstance(node, yaml.ScalarNode) and self.scalar(node) is None):
            return DomainPolicy(domain)
        where = f"domains.{domain.ascii}"
        entries = self.mapping(node, where, _DOMAIN_KEYS)
        sends_mail = (
            self.boolean(n, f"{where}.sends_mail")
            if (n := self.value(entries, "sends_mail")) is not None
            else None
        )
        selectors: tuple[str, ...] = ()
        if (n := self.value(entries, "dkim_selectors")) is not None:
            from dmarc_audit.dkim.selectors import normalize_selectors

            found = []
            for item, text in self.texts(n, f"{where}.dkim_selectors"):
                found += self.convert(
                    item, f"{where}.dkim_selectors", text, lambda t: normalize_selectors([t])
                )
            selectors = tuple(dict.fromkeys(found))
        dmarc = (
            self.dmarc(n, f"{where}.dmarc")
            if (n := self.value(entries, "dmarc")) is not None
            else None
        )
        spf = self.spf(n, f"{where}.spf") if (n := self.value(entries, "spf")) is not None else None
        mode = (
            self.choice(n, f"{where}.mta_sts_mode", {m.value: m for m in MtaStsMode})
            if (n := self.value(entries, "mta_sts_mode")) is not None
            else None
        )
        return DomainPolicy(
            domain, sends_mail, selectors, dmarc, spf, mode, self.rules(entries, where)
        )

    def dmarc(self, node: Node, where: str) -> DmarcRequirement:
        entries = self.mapping(node, where, _DMARC_KEYS)
        policies = {p.value: p for p in Policy}

        def opt(key: str, read: Callable[[Node, str], Any]) -> Any:
            n = self.value(entries, key)
            return read(n, f"{where}.{key}") if n is not None else None

        def policy(n: Node, w: str) -> Policy:
            return self.choice(n, w, policies)

        def align(n: Node, w: str) -> Alignment:
            return self.choice(n, w, _ALIGNMENT)

        both = opt("alignment", align)
        return DmarcRequirement(
            min_policy=opt("min_policy", policy),
            min_subdomain_policy=opt("min_subdomain_policy", policy),
            require_rua=bool(opt("require_rua", self.boolean)),
            dkim_alignment=_first(opt("dkim_alignment", align), both),
            spf_alignment=_first(opt("spf_alignment", align), both),
        )

    def spf(self, node: Node, where: str) -> SpfRequirement:
        entries = self.mapping(node, where, _SPF_KEYS)

        def names(key: str) -> tuple[str, ...] | None:
            n = self.value(entries, key)
            if n is None:
                return None
            out = []
            for item, text in self.texts(n, f"{where}.{key}"):
                name = text.lower().rstrip(".")
                if name.startswith("include:"):
                    raise self.error(
                        item,
                        f"{where}.{key}",
                        f"give the domain alone ({name[8:]!r}), not {text!r}",
                    )
                out.append(self.convert(item, f"{where}.{key}", name, parse_domain).ascii)
            return tuple(dict.fromkeys(out))

        def networks(key: str) -> tuple[IpNetwork, ...] | None:
            n = self.value(entries, key)
            if n is None:
                return None
            out = []
            for item, text in self.texts(n, f"{where}.{key}"):
                bare = text.split(":", 1)[1] if text.lower().startswith(("ip4:", "ip6:")) else text
                out.append(
                    self.convert(
                        item,
                        f"{where}.{key}",
                        bare,
                        lambda t: ipaddress.ip_network(t, strict=False),
                    )
                )
            return tuple(dict.fromkeys(out))

        budget = (
            self.integer(n, f"{where}.max_lookups", 0, 10)
            if (n := self.value(entries, "max_lookups")) is not None
            else None
        )
        return SpfRequirement(
            max_lookups=budget,
            required_includes=names("required_includes") or (),
            allowed_includes=names("allowed_includes"),
            required_ips=networks("required_ips") or (),
            allowed_ips=networks("allowed_ips"),
        )


def _looks_like_network(text: str) -> bool:
    bare = text.split(":", 1)[1] if text.lower().startswith(("ip4:", "ip6:")) else text
    return ":" in bare or bare.replace(".", "").replace("/", "").isdigit()


def _kind(node: Node) -> str:
    if isinstance(node, yaml.MappingNode):
        return "a mapping"
    if isinstance(node, yaml.SequenceNode):
        return "a list"
    return repr(node.value)


def _shown(value: Any, node: Node) -> str:
    if isinstance(node, yaml.MappingNode | yaml.SequenceNode):
        return _kind(node)
    return repr(value)


# --- effective settings back to the file's shape ---------------------------------------------


def _rules_data(rules: FilterRules) -> dict[str, Any]:
    return {
        "select": [p.text for p in rules.select],
        "ignore": [{"id": r.pattern.text, "reason": r.reason} for r in rules.ignore],
        "severity": {o.pattern.text: o.severity.value for o in rules.severity},
    }


def _domain_data(policy: DomainPolicy) -> dict[str, Any]:
    data: dict[str, Any] = {
        "sends_mail": policy.sends_mail,
        "dkim_selectors": list(policy.dkim_selectors),
    }
    if policy.dmarc is not None:
        d = policy.dmarc
        data["dmarc"] = {
            "min_policy": d.min_policy.value if d.min_policy else None,
            "min_subdomain_policy": d.min_subdomain_policy.value
            if d.min_subdomain_policy
            else None,
            "require_rua": d.require_rua,
            "dkim_alignment": _alignment_name(d.dkim_alignment),
            "spf_alignment": _alignment_name(d.spf_alignment),
        }
    if policy.spf is not None:
        s = policy.spf
        data["spf"] = {
            "max_lookups": s.max_lookups,
            "required_includes": list(s.required_includes),
            "allowed_includes": list(s.allowed_includes)
            if s.allowed_includes is not None
            else None,
            "required_ips": [str(n) for n in s.required_ips],
            "allowed_ips": [str(n) for n in s.allowed_ips] if s.allowed_ips is not None else None,
        }
    data["mta_sts_mode"] = policy.mta_sts_mode.value if policy.mta_sts_mode else None
    rules = _rules_data(policy.rules)
    data.update({k: v for k, v in rules.items() if v})
    return data


def _alignment_name(alignment: Alignment | None) -> str | None:
    if alignment is None:
        return None
    return "strict" if alignment is Alignment.STRICT else "relaxed"
