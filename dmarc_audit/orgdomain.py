"""Organizational Domains: the RFC 9989 DNS tree walk and the RFC 7489 PSL rule.

The tree-walk helpers here are pure (which names to ask, and which answer
names the Organizational Domain); the queries themselves live in
:mod:`dmarc_audit.dmarc.discovery`. The Public Suffix List comes from the
snapshot bundled with the ``tldextract`` package, read on first use straight from
that file (importing ``tldextract`` itself would pull in ``requests``); it is never
downloaded, and the tree walk needs no PSL at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

MAX_WALK_LABELS = 7
"""RFC 9989 §4.10 step 5: after the Author Domain, the walk jumps to at most 7 labels."""


def labels(domain: str) -> list[str]:
    """The labels of a name, lower-cased, without the root."""
    return [label for label in domain.lower().rstrip(".").split(".") if label]


def tree_walk_targets(domain: str) -> tuple[str, ...]:
    """The names an RFC 9989 DNS tree walk queries, in order (at most 8).

    The domain itself, then (if it has more than 7 labels) its 7-label tail,
    then one label fewer at a time down to the top-level domain (§4.10 steps 1-8).
    """
    parts = labels(domain)
    names = [".".join(parts)]
    for count in range(min(len(parts) - 1, MAX_WALK_LABELS), 0, -1):
        names.append(".".join(parts[-count:]))
    return tuple(names)


@dataclass(frozen=True, slots=True)
class WalkHit:
    """A name where the walk found exactly one DMARC record, and that record's ``psd``."""

    name: str
    psd: str = "u"


def select_organizational_domain(domain: str, hits: list[WalkHit] | tuple[WalkHit, ...]) -> str:
    """The Organizational Domain of ``domain`` from a tree walk's hits (RFC 9989 §4.10.2).

    1. A record with ``psd=n``: its domain is the Organizational Domain.
    2. A record with ``psd=y`` other than at ``domain`` itself: the name one label
       below it (towards ``domain``) is the Organizational Domain.
    3. Otherwise the domain with the fewest labels that has a record.
    4. No record at all: ``domain`` itself.
    """
    start = ".".join(labels(domain))
    for hit in hits:
        if hit.psd == "n":
            return hit.name
        if hit.psd == "y" and hit.name != start:
            return one_label_below(start, hit.name)
    if not hits:
        return start
    return min(hits, key=lambda h: len(labels(h.name))).name


def one_label_below(domain: str, ancestor: str) -> str:
    """The name with one more label than ``ancestor`` on the way down to ``domain``."""
    parts = labels(domain)
    keep = len(labels(ancestor)) + 1
    return ".".join(parts[-keep:]) if keep <= len(parts) else ".".join(parts)


def is_subdomain_or_same(name: str, ancestor: str) -> bool:
    """True when ``name`` equals ``ancestor`` or lies below it."""
    name, ancestor = ".".join(labels(name)), ".".join(labels(ancestor))
    return name == ancestor or name.endswith("." + ancestor)


# --- RFC 7489 §3.2: the Public Suffix List ---------------------------------


@cache
def _psl() -> tuple[frozenset[str], frozenset[str], frozenset[str]]:
    """The bundled list as (rules, wildcard parents, exceptions), A-label form.

    Read straight from the snapshot file that ships inside the ``tldextract`` package
    (found without importing it: importing tldextract pulls in ``requests`` and costs
    0.1-0.2 s). Nothing is ever downloaded.
    """
    import importlib.util
    from pathlib import Path

    spec = importlib.util.find_spec("tldextract")
    if spec is None or spec.origin is None:
        raise RuntimeError(
            "tldextract is not installed: its bundled Public Suffix List is "
            "needed for RFC 7489 Organizational Domains"
        )
    text = (Path(spec.origin).parent / ".tld_set_snapshot").read_text(encoding="utf-8")
    rules: set[str] = set()
    wildcards: set[str] = set()
    exceptions: set[str] = set()
    for line in text.splitlines():
        rule = line.strip().split(" ", 1)[0].lower()
        if not rule or rule.startswith("//"):
            continue
        rule = _to_ascii(rule)
        if rule.startswith("!"):
            exceptions.add(rule[1:])
        elif rule.startswith("*."):
            wildcards.add(rule[2:])
        else:
            rules.add(rule)
    return frozenset(rules), frozenset(wildcards), frozenset(exceptions)


def _to_ascii(rule: str) -> str:
    if rule.isascii():
        return rule
    prefix = rule[0] if rule[0] in "!*" else ""
    body = rule[1:].lstrip(".") if prefix else rule
    try:
        encoded = ".".join(label.encode("idna").decode("ascii") for label in body.split("."))
    except UnicodeError:
        return rule
    return prefix + ("." if prefix == "*" else "") + encoded


def public_suffix(domain: str) -> str:
    """The longest public suffix of ``domain`` (bundled PSL, private section included).

    A name under no listed suffix falls under the PSL's default rule ``*``: its
    top-level label is the suffix. Exception rules (``!www.ck``) beat wildcards.
    """
    parts = labels(domain)
    if not parts:
        return ""
    rules, wildcards, exceptions = _psl()
    for i in range(len(parts)):
        candidate = ".".join(parts[i:])
        if candidate in exceptions:
            return ".".join(parts[i + 1 :])
        if candidate in rules or ".".join(parts[i + 1 :]) in wildcards:
            return candidate
    return parts[-1]


def is_public_suffix(domain: str) -> bool:
    """True when ``domain`` is itself a public suffix (``com``, ``co.uk``, ``gov``)."""
    name = ".".join(labels(domain))
    return bool(name) and public_suffix(name) == name


def organizational_domain_psl(domain: str) -> str:
    """The RFC 7489 §3.2 Organizational Domain: the public suffix plus one label.

    A public suffix is its own Organizational Domain.
    """
    parts = labels(domain)
    suffix = public_suffix(domain)
    if not suffix or len(parts) <= len(labels(suffix)):
        return suffix
    return ".".join(parts[-(len(labels(suffix)) + 1) :])
