"""RFC 8601 Authentication-Results: reading what receivers write, and writing ours."""

from __future__ import annotations

import pytest

from dmarc_audit.message.authres import AuthResult, format_authres, parse_authres


def test_typical_receiver_header() -> None:
    header = parse_authres(
        "mx.example.net;\r\n dkim=pass (2048-bit key; unprotected) header.d=shop.example "
        'header.s=s1 header.b="AbCd/123";\r\n spf=pass (sender IP is 192.0.2.10) '
        "smtp.mailfrom=b@shop.example;\r\n dmarc=pass (p=REJECT dis=NONE) header.from=shop.example"
    )
    assert header.authserv_id == "mx.example.net"
    assert [r.method for r in header.results] == ["dkim", "spf", "dmarc"]
    dkim = header.of("dkim")[0]
    assert dkim.result == "pass"
    assert dkim.comment == "2048-bit key; unprotected"
    assert dkim.prop("header.b") == "AbCd/123"
    assert dkim.prop("HEADER.D") == "shop.example"
    assert header.of("dmarc")[0].comment == "p=REJECT dis=NONE"
    assert header.problems == ()


def test_version_reason_method_version_and_case() -> None:
    header = parse_authres(
        'example.org 1; DKIM/1=Fail reason="bad signature" header.i=@shop.example'
    )
    (result,) = header.results
    assert (result.method, result.result, result.reason) == ("dkim", "fail", "bad signature")
    assert result.prop("header.i") == "@shop.example"


def test_none_and_empty() -> None:
    assert parse_authres("example.org; none").results == ()
    assert parse_authres("example.org").results == ()


def test_arc_authentication_results_instance() -> None:
    header = parse_authres(
        "i=2; lists.example.org; arc=pass; dkim=pass header.d=x.example", arc=True
    )
    assert header.instance == 2
    assert header.authserv_id == "lists.example.org"
    assert [r.method for r in header.results] == ["arc", "dkim"]


@pytest.mark.parametrize(
    "text",
    [
        "",
        ";;;",
        "mx.example.net; =pass",
        "mx.example.net; dkim",
        "mx.example.net; dkim=pass (",
        'mx.example.net; dkim=pass header.d="unterminated',
        "mx; spf=pass x=",
        "i=x; id; a=b",
    ],
)
def test_garbage_never_raises(text: str) -> None:
    header = parse_authres(text, arc=text.startswith("i="))
    assert isinstance(header.results, tuple)


def test_problems_keep_the_results_before_them() -> None:
    header = parse_authres(
        "mx.example.net; spf=pass smtp.mailfrom=a@b.example; dkim; dmarc=fail header.from=b.example"
    )
    assert [r.method for r in header.results] == ["spf", "dmarc"]
    assert header.problems


def test_format_round_trips() -> None:
    results = (
        AuthResult(
            "dkim",
            "fail",
            (("header.d", "shop.example"), ("header.s", "s1")),
            comment="body hash mismatch",
        ),
        AuthResult("spf", "pass", (("smtp.mailfrom", "a b@shop.example"),)),
        AuthResult(
            "dmarc", "fail", (("header.from", "shop.example"),), comment="p=reject dis=reject"
        ),
    )
    text = format_authres("dmarc-audit", results)
    assert text.startswith("Authentication-Results: dmarc-audit;\n\tdkim=fail")
    again = parse_authres(text.split(":", 1)[1])
    assert again.results == results
    assert format_authres("x", (), fold=False) == "Authentication-Results: x; none"
    single = format_authres("x", results[:1], fold=False)
    assert "\n" not in single
