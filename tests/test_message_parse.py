"""Message parsing: header fields as on the wire, what is not a message, the From domain."""

from __future__ import annotations

import pytest

from dmarc_audit.message.parse import (
    FromStatus,
    NotAMessage,
    address_domain,
    from_info,
    parse_message,
)


def test_fields_keep_raw_folding_and_order() -> None:
    raw = b"From: a@shop.example\r\nSubject: one\r\n two\r\nX-A: 1\r\nx-a: 2\r\n\r\nbody\r\n"
    message = parse_message(raw)
    assert [h.name for h in message.headers] == ["From", "Subject", "X-A", "x-a"]
    subject = message.first("subject")
    assert subject is not None
    assert subject.raw == b" one\r\n two"
    assert subject.text == "one two"
    assert subject.line == 2
    assert [h.text for h in message.all("X-A")] == ["1", "2"]
    assert message.body == b"body\r\n"
    assert message.raw == raw


def test_a_message_without_a_body() -> None:
    message = parse_message(b"From: a@shop.example\nSubject: x\n")
    assert message.body == b""
    assert len(message.headers) == 2


def test_eight_bit_values_are_decoded_without_raising() -> None:
    message = parse_message(b"From: J\xf6rg <j@shop.example>\nSubject: caf\xc3\xa9\n\nx\n")
    assert message.first("subject").text == "café"
    assert message.first("from").text == "J\xf6rg <j@shop.example>"


def test_mbox_separator_line_is_removed_with_a_note() -> None:
    message = parse_message(
        b"From alice@shop.example Mon Mar  7 19:23:23 2011\n"
        b"From: alice@shop.example\nSubject: x\n\nhi\n"
    )
    assert message.headers[0].name == "From"
    assert message.notes and "mbox" in message.notes[0]
    assert not message.raw.startswith(b"From ")


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "empty"),
        (b"   \n\n", "empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "NUL bytes"),
        (b" leading: space\nFrom: a@b.example\n", "line 1 starts with white space"),
        (b"just some text\nand more\n", "the first line is neither"),
        (b"From: a@b.example\nthis line is broken\n\nbody\n", "line 2 is neither"),
        (b'{"a": 1}\n', "no message header fields"),
        (b"X-Custom: 1\nX-Other: 2\n\nbody\n", "no message header fields"),
    ],
)
def test_not_a_message(data: bytes, reason: str) -> None:
    with pytest.raises(NotAMessage, match=reason):
        parse_message(data)


# --- From ------------------------------------------------------------------------------


def _from(*values: str):
    head = "".join(f"From: {v}\n" for v in values)
    return from_info(parse_message(f"{head}Subject: x\n\nbody\n".encode()))


def test_one_address() -> None:
    info = _from('"Shop, Inc." <News@Shop.Example>')
    assert info.status is FromStatus.OK
    assert info.domain == "shop.example"
    assert info.authors[0].display == "Shop, Inc."


def test_display_name_that_looks_like_an_address_is_not_the_domain() -> None:
    info = _from('"ceo@bank.example" <attacker@evil.example>')
    assert info.domain == "evil.example"


def test_several_addresses_in_one_domain_are_usable() -> None:
    info = _from("a@shop.example, B <b@shop.example>")
    assert info.status is FromStatus.OK and info.domain == "shop.example"
    assert len(info.authors) == 2


def test_several_domains_are_not_usable() -> None:
    info = _from("a@shop.example, b@other.example")
    assert info.status is FromStatus.MULTIPLE_DOMAINS
    assert info.domain is None and not info.usable
    assert "other.example, shop.example" in info.reason


def test_two_from_fields_are_not_usable_even_with_one_domain() -> None:
    info = _from("a@shop.example", "b@shop.example")
    assert info.status is FromStatus.MULTIPLE_FIELDS
    assert info.fields == 2


def test_missing_from() -> None:
    info = from_info(parse_message(b"Subject: x\nDate: today\n\nbody\n"))
    assert info.status is FromStatus.MISSING and info.domain is None


@pytest.mark.parametrize(
    "value", ["undisclosed-recipients:;", "nobody", "a@[192.0.2.1]", "a@localhost", ""]
)
def test_from_without_a_usable_domain(value: str) -> None:
    info = _from(value)
    assert info.status is FromStatus.NO_DOMAIN
    assert info.domain is None


def test_internationalised_domain_becomes_an_a_label() -> None:
    info = _from("info@bücher.example")
    assert info.domain == "xn--bcher-kva.example"
    assert address_domain("x@Shop.Example.") == "shop.example"
