"""Bad input is one line naming the file and line, exit 2, never a traceback or a hang.

Each case runs the real command line (issue 12): policy files, YAML and RFC 1035 zones,
``$GENERATE`` bombs, timeouts that are not finite, and credentials that must not be echoed.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_helpers import run_cli

AGGREGATE = (
    Path(__file__).resolve().parent
    / "data"
    / "reports"
    / "corpus"
    / "aggregate"
    / "!example.com!1538204542!1538463818.xml"
)
DEEP_FLOW = "a: " + "[" * 3000 + "]" * 3000 + "\n"  # RecursionError inside the YAML parser
DEEP_BLOCK = "".join("  " * i + f"k{i}:\n" for i in range(150)) + "  " * 150 + "v: 1\n"
ALIAS_BOMB = (
    "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
    + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 10)}]\n" for i in range(6)
    )
    + "domains: {}\n"
)


def one_line_error(run, *needles: str) -> str:
    assert run.code == 2, (run.code, run.err)
    assert "Traceback" not in run.err, run.err
    lines = run.err.strip().splitlines()
    assert len(lines) == 1, run.err
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


@pytest.mark.parametrize(
    ("text", "needles"),
    [
        ("fail_on: !!python/name:os.system\n", (":1: invalid YAML: tag", "python/name")),
        ("domains:\n  a.example: !!python/object/apply:os.system [id]\n", (":2:", "not allowed")),
        (DEEP_FLOW, (":1: invalid YAML: nested too deeply",)),
        (DEEP_BLOCK, ("invalid YAML: nested too deeply",)),
        (ALIAS_BOMB, (":1: unknown key 'a'",)),  # quick: aliases are shared, not expanded
        ("domains:\n  a.example:\n    <<: 3\n", (":3: invalid YAML:", "merging")),
    ],
)
def test_policy_file_yaml_errors_are_one_line(tmp_path: Path, text: str, needles) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text(text)
    for command in (["config", "show"], ["check", "a.example", "--offline"]):
        one_line_error(run_cli(*command, "--config", str(policy)), str(policy), *needles)


def test_policy_file_not_utf8_names_the_line(tmp_path: Path) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_bytes(b"fail_on: error\nstrict: \xff\n")
    one_line_error(run_cli("config", "show", "--config", str(policy)), f"{policy}:2:", "UTF-8")


def test_merge_keys_are_applied(tmp_path: Path) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text(
        "domains:\n  a.example: &base\n    sends_mail: false\n"
        "  b.example:\n    <<: *base\n    dkim_selectors: [s1]\n"
    )
    run = run_cli("config", "show", "--config", str(policy), "--format", "json")
    assert run.code == 0, run.err
    domains = run.json()["settings"]["domains"]
    assert domains["b.example"]["sends_mail"] is False
    assert domains["b.example"]["dkim_selectors"] == ["s1"]


@pytest.mark.parametrize(
    ("body", "needles"),
    [
        (b"a.example:\n  - A: not-an-ip\n", (":2:", "bad A value 'not-an-ip'", "IPv4")),
        (b"a.example:\n  - TXT: ok\n  - A: [1, 2]\n", (":3:", "bad A value [1, 2]")),
        (b"a.example:\n  - AAAA: 192.0.2.1\n", (":2:", "IPv6")),
        (b"a.example:\n  - MX: [10]\n", (":2:", "bad MX value")),
        (b"a.example:\n  - MX: [70000, mx.a.example]\n", (":2:", "0-65535")),
        (b"a.example:\n  - MX: [10, {x: 1}]\n", (":2:", "not a domain name")),
        (b"a.example:\n  - CNAME: 12\n", (":2:", "not a domain name")),
        (b"a.example:\n  - TXT: {a: 1}\n", (":2:", "expected text")),
        (b'a.example:\n  - TXT: ok\n  - TXT: "\xff"\n', (":3:", "not UTF-8")),
        (DEEP_FLOW.encode(), (":1:", "nested too deeply")),
        (b"a.example: !!python/name:os.system\n", (":1:", "not allowed")),
        (b"[1, 2]\n", (":1:", "must be a mapping")),
    ],
)
def test_yaml_zone_values_are_checked(tmp_path: Path, body: bytes, needles) -> None:
    zone = tmp_path / "zone.yaml"
    zone.write_bytes(body)
    for command in (["check", "a.example"], ["spf", "a.example"]):
        one_line_error(run_cli(*command, "--zone", str(zone)), str(zone), *needles)


def test_yaml_zone_good_values_still_load(tmp_path: Path) -> None:
    zone = tmp_path / "zone.yaml"
    zone.write_text(
        "a.example:\n  - A: 192.0.2.1\n  - MX: [10, mx.a.example]\n  - TXT: v=spf1 mx -all\n"
        "mx.a.example:\n  - A: 192.0.2.2\n  - AAAA: 2001:db8::1\n"
    )
    run = run_cli("spf", "a.example", "--zone", str(zone), "--ip", "192.0.2.2", "--format", "json")
    assert run.code == 0, run.err
    assert run.json()["spf"]["result"] == "pass"


@pytest.mark.parametrize("origin", ["", "@a.example"])
def test_empty_zone_file(tmp_path: Path, origin: str) -> None:
    zone = tmp_path / "empty.zone"
    zone.write_text("; nothing here\n")
    one_line_error(run_cli("check", "a.example", "--zone", f"{zone}{origin}"), "holds no records")


GENERATE_ZONE = (
    "$ORIGIN a.example.\n@ 3600 IN SOA ns hm 1 2 3 4 5\n@ IN NS ns\n"
    "$GENERATE 1-{stop} h$ A 192.0.2.1\n"
)


def test_generate_is_capped_before_expanding(tmp_path: Path) -> None:
    zone = tmp_path / "gen.zone"
    zone.write_text(GENERATE_ZONE.format(stop=10_000_000))
    run = run_cli("check", "a.example", "--zone", str(zone))  # run_cli's 60 s bound is the hang
    one_line_error(run, f"{zone}:4:", "$GENERATE", "100,000", "DMARC_AUDIT_ZONE_MAX_RECORDS")


def test_generate_cap_is_configurable(tmp_path: Path) -> None:
    zone = tmp_path / "gen.zone"
    zone.write_text(GENERATE_ZONE.format(stop=50))
    assert run_cli("check", "a.example", "--zone", str(zone)).code in (0, 1)
    capped = run_cli(
        "check", "a.example", "--zone", str(zone), env={"DMARC_AUDIT_ZONE_MAX_RECORDS": "20"}
    )
    one_line_error(capped, "more than 20 records")
    many = tmp_path / "many.zone"
    many.write_text(
        GENERATE_ZONE.replace("$GENERATE 1-{stop} h$ A 192.0.2.1\n", "").format()
        + "".join(f"h{i} A 192.0.2.1\n" for i in range(30))
    )
    capped = run_cli(
        "check", "a.example", "--zone", str(many), env={"DMARC_AUDIT_ZONE_MAX_RECORDS": "20"}
    )
    one_line_error(capped, "32 records, more than the limit of 20")
    bad = run_cli(
        "check", "a.example", "--zone", str(zone), env={"DMARC_AUDIT_ZONE_MAX_RECORDS": "lots"}
    )
    one_line_error(bad, "DMARC_AUDIT_ZONE_MAX_RECORDS='lots'")


@pytest.mark.parametrize("value", ["nan", "inf", "1e9", "61"])
@pytest.mark.parametrize("command", ["check", "spf", "diff", "reports"])
def test_timeouts_are_finite_and_bounded(tmp_path: Path, value: str, command: str) -> None:
    zone = tmp_path / "z.yaml"
    zone.write_text("a.example:\n  - TXT: v=spf1 -all\n")
    args = {
        "check": ["check", "a.example", "--nameserver", "127.0.0.1:9"],
        "spf": ["spf", "a.example", "--nameserver", "127.0.0.1:9"],
        "diff": ["diff", "a.example", "--zone", str(zone)],
        "reports": ["reports", "summary", "--resolve", "--db", str(tmp_path / "r.sqlite")],
    }[command]
    if command == "reports":
        ingest = run_cli("reports", "ingest", str(AGGREGATE), "--db", str(tmp_path / "r.sqlite"))
        assert ingest.code == 0, ingest.err
    one_line_error(run_cli(*args, "--timeout", value), "--timeout ", "must be")


def test_message_timeout_is_bounded(tmp_path: Path) -> None:
    message = tmp_path / "m.eml"
    message.write_text("From: a@a.example\nTo: b@b.example\nSubject: x\n\nhi\n")
    one_line_error(run_cli("message", str(message), "--timeout", "nan"), "--timeout nan")


def test_policy_file_timeout_must_be_finite(tmp_path: Path) -> None:
    policy = tmp_path / "policy.yaml"
    for text, needle in (
        ("resolver:\n  timeout: .inf\n", "finite"),
        ("resolver:\n  timeout: 3600\n", "at most 60"),
    ):
        policy.write_text(text)
        one_line_error(run_cli("config", "show", "--config", str(policy)), f"{policy}:2:", needle)


@pytest.mark.parametrize("value", ["nan", "inf", "100000"])
def test_smtp_timeout_is_bounded(value: str) -> None:
    run = run_cli(
        "digest", "--to", "a@b.example", "--smtp-timeout", value, "--smtp-host", "127.0.0.1"
    )
    one_line_error(run, "--smtp-timeout")


@pytest.mark.parametrize(
    ("args", "env"),
    [
        (["--smtp-host", "user:SECRET@mail.example"], {}),
        (["--smtp-host", "smtp://user:SECRET@mail.example"], {}),
        ([], {"DMARC_AUDIT_SMTP_HOST": "user:SECRET@mail.example"}),
    ],
)
def test_credentials_are_never_echoed(args: list[str], env: dict[str, str]) -> None:
    run = run_cli("digest", "--to", "a@b.example", *args, env=env)
    line = one_line_error(run, "credentials never go in the host", "mail.example")
    assert "SECRET" not in run.err + run.out and "user" not in line


def test_hidden_options_are_never_suggested() -> None:
    run = run_cli("digest", "--smtp-pass", "x")
    line = one_line_error(run, "No such option: --smtp-pass")
    assert "--smtp-password-file" in line
    assert "--smtp-password," not in line and "--smtp-password)" not in line
    assert "x" not in line.split("--smtp-pass", 1)[1].split("(")[0]
