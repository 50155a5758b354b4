"""Domain-name handling: IDNA 2008 conversion and validation of user input."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

from dmarc_audit.errors import InputError


@dataclass(frozen=True, slots=True)
class DomainName:
    """A domain as the user gave it, in both forms.

    ``ascii`` is the A-label form used on the wire (lower case, no trailing dot);
    ``unicode`` is the U-label form for display.
    """

    ascii: str
    unicode: str

    @property
    def display(self) -> str:
        """``bücher.example (xn--bcher-kva.example)`` for IDNs, else the name."""
        if self.unicode != self.ascii:
            return f"{self.unicode} ({self.ascii})"
        return self.ascii

    def __str__(self) -> str:
        return self.ascii


def parse_domain(text: str) -> DomainName:
    """Validate and normalise a domain name a user typed.

    Accepts U-labels and A-labels (IDNA 2008 with UTS #46 mapping), an optional
    trailing dot and any case. Labels that are plain ASCII (``_dmarc``) are taken as
    they are, so ``_dmarc.bücher.example`` works. Raises :class:`InputError` with the
    reason otherwise.
    """
    raw = text.strip()
    name = raw[:-1] if raw.endswith(".") else raw
    if not name:
        raise InputError(f"invalid domain name {text!r}: empty")
    if any(ch.isspace() for ch in name) or "@" in name or "/" in name:
        raise InputError(f"invalid domain name {text!r}: contains a space, '@' or '/'")
    ascii_name = name.lower() if name.isascii() else _to_ascii(text, name)
    _check_labels(text, ascii_name)
    return DomainName(ascii_name, _to_unicode(ascii_name))


def _to_ascii(text: str, name: str) -> str:
    """UTS #46 mapping, then each non-ASCII label to its A-label."""
    import idna

    try:
        mapped = idna.uts46_remap(name, std3_rules=False, transitional=False)
        if mapped.endswith("."):  # an ideographic full stop at the end
            mapped = mapped[:-1]
        labels = [
            label if label.isascii() else idna.alabel(label).decode("ascii")
            for label in mapped.split(".")
        ]
    except (idna.IDNAError, UnicodeError) as exc:
        raise InputError(f"invalid domain name {text!r}: {exc}") from None
    return ".".join(labels).lower()


def _check_labels(text: str, ascii_name: str) -> None:
    if len(ascii_name) > 253:
        raise InputError(f"invalid domain name {text!r}: longer than 253 octets")
    labels = ascii_name.split(".")
    for label in labels:
        if not label:
            raise InputError(f"invalid domain name {text!r}: empty label")
        if len(label) > 63:
            raise InputError(f"invalid domain name {text!r}: label {label[:20]!r}… over 63 octets")
        if label.startswith("-") or label.endswith("-"):
            raise InputError(
                f"invalid domain name {text!r}: label {label!r} starts or ends with '-'"
            )
        if not all(ch.isalnum() or ch in "-_" for ch in label):
            raise InputError(
                f"invalid domain name {text!r}: label {label!r} has a character "
                "that is not a letter, digit, '-' or '_'"
            )
        if label.startswith("xn--") and _punycode(label) is None:
            raise InputError(
                f"invalid domain name {text!r}: label {label!r} is not a valid "
                "A-label (bad Punycode)"
            )
    if labels[-1].isdigit():
        raise InputError(
            f"invalid domain name {text!r}: the last label is all digits "
            "(an IP address is not a domain)"
        )


def _punycode(label: str) -> str | None:
    """The Unicode form of an ``xn--`` label, or None when it is not Punycode of non-ASCII."""
    try:
        decoded = label[4:].encode("ascii").decode("punycode")
    except UnicodeError:
        return None
    if decoded.isascii() or decoded.encode("punycode").decode("ascii") != label[4:]:
        return None
    return decoded


def _to_unicode(ascii_name: str) -> str:
    """U-labels for display; labels that are not valid IDNA 2008 stay as A-labels."""
    if "xn--" not in ascii_name:
        return ascii_name
    import idna

    labels = []
    for label in ascii_name.split("."):
        if label.startswith("xn--"):
            with contextlib.suppress(idna.IDNAError, UnicodeError):
                label = idna.ulabel(label)
        labels.append(label)
    return ".".join(labels)


def normalize_name(name: str) -> str:
    """Lower-case a DNS name and drop a trailing dot (no validation)."""
    name = name.lower()
    return name[:-1] if name.endswith(".") else name
