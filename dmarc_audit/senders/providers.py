"""The provider data file (``providers.yaml``): mail services and how each aligns.

Loaded once, lazily, and validated: a malformed entry is a bug in the package
(tests/test_senders_providers.py checks every entry), so it raises ``ValueError``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum
from functools import cache
from importlib import resources
from typing import Any

DATA_FILE = "providers.yaml"
_ID = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
_NAME = re.compile(r"^(?=.{1,253}$)([a-z0-9_]([a-z0-9-]*[a-z0-9])?\.)+[a-z]{2,63}$")
_KEYS = frozenset(
    (
        "id",
        "name",
        "kind",
        "spf_includes",
        "domains",
        "ptr_suffixes",
        "asns",
        "selectors",
        "dkim",
        "return_path",
    )
)


class ProviderKind(str, Enum):
    ESP = "esp"
    """Sends mail for you (newsletters, transactional mail, CRM, helpdesk)."""
    MAILBOX = "mailbox"
    """Hosts your mailboxes and sends your people's mail."""
    GATEWAY = "gateway"
    """Filters and relays your outgoing mail."""
    MAILING_LIST = "mailing-list"
    """Redistributes other people's mail: its failures are forwarding."""


@dataclass(frozen=True, slots=True)
class SetupStep:
    """A record to publish (a template) and the provider page that gives its values."""

    record: str
    where: str

    def filled(self, domain: str) -> SetupStep:
        """The template with ``{domain}`` and ``{dashed}`` filled in."""
        values = {"domain": domain, "dashed": domain.replace(".", "-")}
        return SetupStep(self.record.format(**values), self.where.format(**values))


@dataclass(frozen=True, slots=True)
class Provider:
    """One mail service, as ``providers.yaml`` describes it."""

    id: str
    name: str
    kind: ProviderKind
    spf_includes: tuple[str, ...]
    domains: tuple[str, ...]
    ptr_suffixes: tuple[str, ...]
    asns: tuple[int, ...]
    selectors: tuple[re.Pattern[str], ...]
    dkim: SetupStep | None
    return_path: SetupStep | None

    @property
    def spf_include(self) -> str | None:
        """The include to add to SPF (the first one documented)."""
        return self.spf_includes[0] if self.spf_includes else None


@dataclass(frozen=True, slots=True)
class Catalog:
    """Every provider, with suffix lookups."""

    providers: tuple[Provider, ...]
    list_host_labels: frozenset[str]

    def by_id(self, provider_id: str) -> Provider | None:
        return next((p for p in self.providers if p.id == provider_id), None)

    def for_include(self, target: str) -> Provider | None:
        """The provider an SPF ``include:`` target belongs to."""
        return self._match(target, lambda p: p.spf_includes)

    def for_domain(self, domain: str) -> Provider | None:
        """The provider that authenticates as ``domain`` (DKIM ``d=``, envelope domain)."""
        return self._match(domain, lambda p: p.domains)

    def for_ptr(self, host: str) -> Provider | None:
        return self._match(host, lambda p: p.ptr_suffixes)

    def for_asn(self, asn: int) -> Provider | None:
        return next((p for p in self.providers if asn in p.asns), None)

    def for_selector(self, selector: str) -> Provider | None:
        """The provider whose distinctive DKIM selector this is (weak evidence)."""
        selector = selector.lower()
        return next(
            (p for p in self.providers if any(r.search(selector) for r in p.selectors)), None
        )

    def is_list_host(self, host: str) -> bool:
        """A reverse-DNS name like ``lists.example.org``: a mailing-list server."""
        first = host.lower().split(".", 1)[0]
        return first in self.list_host_labels or first.startswith(("lists-", "list-"))

    def _match(self, name: str, field: Any) -> Provider | None:
        name = name.lower().rstrip(".")
        best: tuple[int, Provider] | None = None
        for provider in self.providers:
            for suffix in field(provider):
                if (name == suffix or name.endswith("." + suffix)) and (
                    best is None or len(suffix) > best[0]
                ):
                    best = (len(suffix), provider)
        return best[1] if best else None


@cache
def catalog() -> Catalog:
    """The shipped provider data, parsed and checked."""
    import yaml

    text = resources.files("dmarc_audit.senders").joinpath(DATA_FILE).read_text("utf-8")
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return parse_catalog(yaml.load(text, Loader=loader))


def parse_catalog(data: Any) -> Catalog:
    """Validate the loaded YAML; ``ValueError`` names the entry and the problem."""
    if not isinstance(data, dict) or not isinstance(data.get("providers"), list):
        raise ValueError(f"{DATA_FILE}: expected a mapping with a 'providers' list")
    providers = tuple(_provider(i, entry) for i, entry in enumerate(data["providers"]))
    ids = [p.id for p in providers]
    if len(set(ids)) != len(ids):
        raise ValueError(f"{DATA_FILE}: duplicate ids")
    labels = data.get("list_host_labels", [])
    if not isinstance(labels, list) or not all(isinstance(x, str) for x in labels):
        raise ValueError(f"{DATA_FILE}: list_host_labels must be a list of labels")
    return Catalog(providers, frozenset(x.lower() for x in labels))


def _provider(index: int, entry: Any) -> Provider:
    where = f"{DATA_FILE}: provider #{index + 1}"
    if not isinstance(entry, dict):
        raise ValueError(f"{where}: not a mapping")
    if set(entry) != _KEYS:
        missing, extra = sorted(_KEYS - set(entry)), sorted(set(entry) - _KEYS)
        raise ValueError(f"{where}: missing keys {missing}, unknown keys {extra}")
    pid = entry["id"]
    if not isinstance(pid, str) or not _ID.match(pid):
        raise ValueError(f"{where}: id {pid!r} is not kebab-case")
    where = f"{DATA_FILE}: {pid}"
    name = entry["name"]
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"{where}: empty name")
    try:
        kind = ProviderKind(entry["kind"])
    except ValueError:
        raise ValueError(f"{where}: unknown kind {entry['kind']!r}") from None

    def names(key: str) -> tuple[str, ...]:
        value = entry[key]
        if not isinstance(value, list):
            raise ValueError(f"{where}: {key} must be a list")
        for item in value:
            if not isinstance(item, str) or not _NAME.match(item):
                raise ValueError(f"{where}: {key}: {item!r} is not a lower-case domain name")
        return tuple(value)

    asns = entry["asns"]
    if not isinstance(asns, list) or not all(
        isinstance(a, int) and not isinstance(a, bool) and 0 < a < 2**32 for a in asns
    ):
        raise ValueError(f"{where}: asns must be AS numbers")
    selectors = entry["selectors"]
    if not isinstance(selectors, list):
        raise ValueError(f"{where}: selectors must be a list")
    patterns = []
    for text in selectors:
        try:
            patterns.append(re.compile(text))
        except (re.error, TypeError):
            raise ValueError(f"{where}: selector pattern {text!r} does not compile") from None
    return Provider(
        pid,
        name.strip(),
        kind,
        names("spf_includes"),
        names("domains"),
        names("ptr_suffixes"),
        tuple(asns),
        tuple(patterns),
        _step(where, "dkim", entry["dkim"]),
        _step(where, "return_path", entry["return_path"]),
    )


def _step(where: str, key: str, value: Any) -> SetupStep | None:
    if value is None:
        return None
    if (
        not isinstance(value, dict)
        or set(value) != {"record", "where"}
        or not all(isinstance(v, str) and v.strip() for v in value.values())
    ):
        raise ValueError(f"{where}: {key} must have a record and a where (text)")
    step = SetupStep(value["record"], value["where"])
    try:
        step.filled("example.com")
    except (KeyError, IndexError, ValueError):
        raise ValueError(f"{where}: {key}: a template uses an unknown {{field}}") from None
    return step
