"""Where the client IP, HELO and MAIL FROM come from when they are not given."""

from __future__ import annotations

import pytest

from dmarc_audit.message.connection import (
    connection_facts,
    entry_hop,
    is_internal_ip,
    received_hops,
    same_organisation,
)
from dmarc_audit.message.parse import parse_message


def _message(*fields: str) -> bytes:
    return ("\n".join(fields) + "\nFrom: a@shop.example\nSubject: x\n\nbody\n").encode()


@pytest.mark.parametrize(
    ("value", "helo", "rdns", "ip", "by"),
    [
        (
            "from mail.shop.example (mail.shop.example [192.0.2.10]) by mx.example.net with ESMTPS "
            "id 1; Tue, 14 Nov 2023 22:13:25 +0000",
            "mail.shop.example",
            "mail.shop.example",
            "192.0.2.10",
            "mx.example.net",
        ),
        (
            "from mail-sor-f41.google.com (mail-sor-f41.google.com. [209.85.220.41]) "
            "by mx.google.com "
            "with SMTPS id x; Mon, 1 Jan 2024 00:00:00 -0800",
            "mail-sor-f41.google.com",
            "mail-sor-f41.google.com",
            "209.85.220.41",
            "mx.google.com",
        ),
        (
            "from [192.0.2.7] (helo=laptop.local) by smtp.example.net with esmtpsa; date",
            None,
            None,
            "192.0.2.7",
            "smtp.example.net",
        ),
        (
            "from relay.example.org ([IPv6:2001:db8::25]) by mx.example.net; date",
            "relay.example.org",
            None,
            "2001:db8::25",
            "mx.example.net",
        ),
        (
            "by mx.example.net (Postfix, from userid 1000) id 42; date",
            None,
            None,
            None,
            "mx.example.net",
        ),
        ("(qmail 84128 invoked by uid 3013); 7 Mar 2011 19:23:23 -0000", None, None, None, None),
    ],
)
def test_received_from_clause(value: str, helo, rdns, ip, by) -> None:
    (hop,) = received_hops(parse_message(_message(f"Received: {value}")))
    assert (hop.from_host, hop.reverse_name, hop.ip, hop.by_host) == (helo, rdns, ip, by)


def test_exim_helo_in_comment() -> None:
    (hop,) = received_hops(
        parse_message(
            _message("Received: from [192.0.2.7] (helo=laptop.local) by smtp.example.net; date")
        )
    )
    assert hop.helo == "laptop.local"


def test_entry_skips_private_and_same_organisation_hops() -> None:
    message = parse_message(
        _message(
            "Received: from store1.mx.example.net (store1.mx.example.net [203.0.113.9]) by "
            "box.mx.example.net with LMTP; date",
            "Received: from filter (localhost [127.0.0.1]) by in.example.net; date",
            "Received: from mail.shop.example (mail.shop.example [192.0.2.10]) by in.example.net; "
            "date",
            "Received: from laptop (10.0.0.5) by mail.shop.example; date",
        )
    )
    hops = received_hops(message)
    entry = entry_hop(hops)
    assert entry is not None and entry.position == 2
    assert entry.ip == "192.0.2.10"


def test_entry_falls_back_to_the_first_outside_hop() -> None:
    message = parse_message(
        _message(
            "Received: from mail-a.google.com (mail-a.google.com [209.85.220.41]) by mx.google.com;"
            " date"
        )
    )
    entry = entry_hop(received_hops(message))
    assert entry is not None and entry.ip == "209.85.220.41"


def test_helpers() -> None:
    assert is_internal_ip("10.1.2.3") and is_internal_ip("::1") and is_internal_ip("fd00::1")
    assert not is_internal_ip("192.0.2.1") and not is_internal_ip("2001:db8::1")
    assert is_internal_ip("::ffff:192.168.1.1")
    assert same_organisation("a.mx.google.com", "mx.google.com")
    assert not same_organisation("mail.example.co.uk", "mx.other.co.uk")
    assert not same_organisation("mx.example.net", "mx.example.org")


def test_received_spf_wins_and_says_where_it_came_from() -> None:
    message = parse_message(
        _message(
            "Received-SPF: pass (mx: domain designates 192.0.2.10) client-ip=192.0.2.10; "
            'envelope-from="b@shop.example"; helo=mail.shop.example;',
            "Received: from other.example ([198.51.100.1]) by mx.example.net; date",
        )
    )
    conn = connection_facts(message)
    assert conn.ip is not None and conn.ip.value == "192.0.2.10"
    assert conn.ip.source == "Received-SPF (line 1) client-ip"
    assert conn.helo is not None and conn.helo.value == "mail.shop.example"
    assert conn.mail_from is not None and conn.mail_from.value == "b@shop.example"
    assert conn.notes, "the disagreement with the Received field is noted"


def test_authentication_results_properties() -> None:
    message = parse_message(
        _message(
            "Authentication-Results: mx.example.net; spf=pass smtp.mailfrom=b@shop.example "
            "smtp.helo=mail.shop.example; iprev=pass policy.iprev=192.0.2.10",
            "Received: from mail.shop.example ([192.0.2.10]) by mx.example.net; date",
        )
    )
    conn = connection_facts(message)
    assert conn.ip.source == "Authentication-Results mx.example.net (line 1) policy.iprev"
    assert conn.helo.source.endswith("smtp.helo")
    assert conn.mail_from.source.endswith("smtp.mailfrom")


def test_a_forwarders_results_below_the_entry_are_not_used() -> None:
    message = parse_message(
        _message(
            "Received: from mail.forum.example ([198.51.100.20]) by mx.receiver.example; date",
            "Authentication-Results: mx.forum.example; spf=pass smtp.mailfrom=a@shop.example; "
            "arc=none smtp.remote-ip=192.0.2.10",
            "Received: from mail.shop.example ([192.0.2.10]) by mx.forum.example; date",
        )
    )
    conn = connection_facts(message)
    assert conn.ip.value == "198.51.100.20"
    assert conn.ip.source.startswith("Received #1")
    assert conn.mail_from is None


def test_return_path_is_mail_from_and_null_is_empty() -> None:
    conn = connection_facts(parse_message(_message("Return-Path: <>")))
    assert conn.mail_from is not None and conn.mail_from.value == ""
    assert conn.ip is None and conn.helo is None and conn.entry is None


def test_given_values_override_everything() -> None:
    message = parse_message(
        _message(
            "Return-Path: <b@shop.example>",
            "Received: from mail.shop.example ([192.0.2.10]) by mx.example.net; date",
        )
    )
    conn = connection_facts(message, ip="203.0.113.1", helo="h.example", mail_from="")
    assert (conn.ip.value, conn.ip.source) == ("203.0.113.1", "--ip")
    assert (conn.helo.value, conn.helo.source) == ("h.example", "--helo")
    assert (conn.mail_from.value, conn.mail_from.source) == ("", "--mail-from")


def test_gmail_style_results_below_the_entry_are_the_receivers() -> None:
    message = parse_message(
        _message(
            "Received: by 2002:a05:6a10:1234:b0:5ce:1234 with SMTP id x; date",
            "Return-Path: <bounce@shop.example>",
            "Received: from mail.shop.example (mail.shop.example. [192.0.2.10]) by mx.google.com "
            "with ESMTPS id y; date",
            "Received-SPF: pass (google.com: domain of bounce@shop.example designates 192.0.2.10 "
            "as permitted sender) client-ip=192.0.2.10;",
            "Authentication-Results: mx.google.com; spf=pass smtp.mailfrom=bounce@shop.example",
        )
    )
    conn = connection_facts(message)
    assert conn.entry is not None and conn.entry.by_host == "mx.google.com"
    assert conn.ip.source == "Received-SPF (line 4) client-ip"
    assert conn.mail_from.source == "Return-Path (line 2)"
