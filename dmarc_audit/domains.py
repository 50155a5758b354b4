"""Domain-name handling: IDNA 2008 conversion and validation of user input."""

from __future__ import annotations

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
    trailing dot and any case. Raises :class:`InputError` with the reason otherwise.
    """
    raw = text.strip()
    name = raw[:-1] if raw.endswith(".") else raw
    if not name:
        raise InputError(f"invalid domain name {text!r}: empty")
    if any(ch.isspace() for ch in name) or "@" in name or "/" in name:
        raise InputError(f"invalid domain name {text!r}: contains a space, '@' or '/'")
    if name.isascii():
        ascii_name = name.lower()
        _check_labels(text, ascii_name)
        unicode_name = _to_unicode(ascii_name)
        return DomainName(ascii_name, unicode_name)
    import idna

    try:
        ascii_name = idna.encode(name, uts46=True).decode("ascii").lower()
    except idna.IDNAError as exc:
        raise InputError(f"invalid domain name {text!r}: {exc}") from None
    _check_labels(text, ascii_name)
    return DomainName(ascii_name, _to_unicode(ascii_name))


def _check_labels(text: str, ascii_name: str) -> None:
    if len(ascii_name) > 253:
        raise InputError(f"invalid domain name {text!r}: longer than 253 octets")
    for label in ascii_name.split("."):
        if not label:
            raise InputError(f"invalid domain name {text!r}: empty label")
        if len(label) > 63:
            raise InputError(f"invalid domain name {text!r}: label {label[:20]!r}… over 63 octets")
        if label.startswith("-") or label.endswith("-"):
            raise InputError(f"invalid domain name {text!r}: label {label!r} starts or ends with '-'")
        if not all(ch.isalnum() or ch in "-_" for ch in label):
            raise InputError(f"invalid domain name {text!r}: label {label!r} has a character "
                             "that is not a letter, digit, '-' or '_'")


def _to_unicode(ascii_name: str) -> str:
    if "xn--" not in ascii_name:
        return ascii_name
    import idna

    try:
        return idna.decode(ascii_name)
    except (idna.IDNAError, UnicodeError):
        return ascii_name


def normalize_name(name: str) -> str:
    """Lower-case a DNS name and drop a trailing dot (no validation)."""
    name = name.lower()
    return name[:-1] if name.endswith(".") else name
