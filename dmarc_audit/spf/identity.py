"""Which domain and sender an SPF check is about (RFC 7208 §2.3, §2.4, §4.3).

SPF checks the MAIL FROM identity, or, when MAIL FROM is empty, the HELO identity
with the sender ``postmaster@<helo>``. A sender without a local part gets
``postmaster``. A domain that cannot be a multi-label DNS name makes
``check_host()`` return ``none`` (§4.3), so :func:`domain_problem` says why.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

MAX_NAME_LENGTH = 253
MAX_LABEL_LENGTH = 63


class IdentityKind(str, Enum):
    """The SMTP identity being authorised."""

    MAIL_FROM = "mailfrom"
    HELO = "helo"


@dataclass(frozen=True, slots=True)
class SpfIdentity:
    """The ``<domain>`` and ``<sender>`` that ``check_host()`` starts from."""

    kind: IdentityKind
    domain: str
    sender: str


def split_sender(sender: str) -> tuple[str, str]:
    """``local@domain`` → ``(local, domain)``, splitting at the last ``@``.

    An empty local part becomes ``postmaster``; text without ``@`` is a domain.
    """
    local, at, domain = sender.rpartition("@")
    if not at:
        return "postmaster", sender
    return (local or "postmaster"), domain


def normalize_sender(sender: str | None, domain: str) -> str:
    """The ``<sender>`` for ``check_host()``: ``postmaster`` filled in (§4.3)."""
    if not sender:
        return f"postmaster@{domain}"
    local, sender_domain = split_sender(sender.strip())
    return f"{local}@{sender_domain or domain}"


def normalize_domain(domain: str) -> str:
    """Lower-case, without surrounding space or one trailing dot."""
    name = domain.strip().lower()
    return name[:-1] if name.endswith(".") else name


def derive_identity(
    mail_from: str | None, helo: str | None, domain: str | None = None
) -> SpfIdentity:
    """The identity to check from the SMTP dialogue (§2.3, §2.4).

    A non-empty ``mail_from`` wins; otherwise the HELO name is checked with sender
    ``postmaster@<helo>``; ``domain`` is the fallback when neither is given.
    The domain is lower-cased but not validated (``check_host()`` does that).
    Raises :class:`ValueError` when there is nothing to check.
    """
    address = _strip_brackets(mail_from or "")
    if address:
        local, sender_domain = split_sender(address)
        name = sender_domain.strip().lower()
        return SpfIdentity(IdentityKind.MAIL_FROM, name, f"{local}@{name}")
    for given, kind in ((helo, IdentityKind.HELO), (domain, IdentityKind.MAIL_FROM)):
        if given and given.strip():
            checked = given.strip().lower()
            return SpfIdentity(kind, checked, f"postmaster@{checked}")
    raise ValueError("nothing to check: give a MAIL FROM address, a HELO name or a domain")


def domain_problem(domain: str) -> str | None:
    """Why ``domain`` is not a usable multi-label domain name, or ``None`` (§4.3).

    One trailing dot is allowed.
    """
    if domain.startswith("[") or domain.endswith("]"):
        return "a domain literal, not a domain name"
    problem = dns_name_problem(domain)
    if problem is not None:
        return problem
    if "." not in domain.rstrip("."):
        return "not a fully qualified (multi-label) domain name"
    return None


def dns_name_problem(name: str) -> str | None:
    """Why no DNS query can be made for ``name`` (RFC 1035 §2.3.4), or ``None``.

    Checks lengths and empty labels only; one trailing dot is allowed.
    """
    name = name[:-1] if name.endswith(".") else name
    if not name:
        return "empty name"
    if len(name) > MAX_NAME_LENGTH:
        return f"longer than {MAX_NAME_LENGTH} octets"
    labels = name.split(".")
    if any(not label for label in labels):
        return "has an empty label"
    long_label = next((label for label in labels if len(label) > MAX_LABEL_LENGTH), None)
    if long_label is not None:
        return f"label {long_label[:16]}… is longer than {MAX_LABEL_LENGTH} octets"
    return None


def _strip_brackets(address: str) -> str:
    address = address.strip()
    if address.startswith("<") and address.endswith(">"):
        address = address[1:-1].strip()
    return address
