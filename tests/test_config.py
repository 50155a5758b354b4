"""The policy file: loading, one-line FILE:LINE errors, flags over the file, `config show`."""

from __future__ import annotations

import ipaddress
import json
import re
from pathlib import Path

import pytest
import yaml

from dmarc_audit.config import (
    MtaStsMode,
    Overrides,
    find_config,
    load_config,
    parse_config,
    resolve_settings,
)
from dmarc_audit.errors import InputError
from dmarc_audit.filters import IdPattern, IgnoreRule
from dmarc_audit.findings import FailOn, Severity
from dmarc_audit.records.dmarc import Alignment, Policy
from tests.cli_helpers import ROOT
from tests.test_ci_gate import CONFIG, gate_cli

BRIEF_EXAMPLE = """\
resolver: {nameservers: ["192.0.2.53"], timeout: 3, concurrency: 32}
fail_on: error
domains:
  example.com:
    sends_mail: true
    dkim_selectors: [s1, s2]
    dmarc: {min_policy: quarantine, min_subdomain_policy: quarantine, require_rua: true}
    spf: {max_lookups: 8, required_includes: [_spf.esp.example],
          allowed_includes: [_spf.esp.example, spf.crm.example]}
    mta_sts_mode: enforce
    ignore: [{id: dmarc.no-rua, reason: "reports go to the parent domain"}]
  parked.example:
    sends_mail: false
"""


def load(text: str, name: str = "dmarc-audit.yaml"):  # type: ignore[no-untyped-def]
    return parse_config(text, Path(name))


def error_of(text: str) -> str:
    with pytest.raises(InputError) as info:
        load(text)
    message = str(info.value)
    assert "\n" not in message
    return message


def test_the_example_from_the_issue_loads() -> None:
    config = load(BRIEF_EXAMPLE)
    assert config.resolver.nameservers == ("192.0.2.53",)
    assert (config.resolver.timeout, config.resolver.concurrency) == (3.0, 32)
    assert config.fail_on is FailOn.ERROR
    example, parked = config.domains
    assert example.domain.ascii == "example.com" and example.sends_mail is True
    assert example.dkim_selectors == ("s1", "s2")
    assert example.dmarc is not None
    assert example.dmarc.min_policy is Policy.QUARANTINE
    assert example.dmarc.min_subdomain_policy is Policy.QUARANTINE
    assert example.dmarc.require_rua is True
    assert example.spf is not None and example.spf.max_lookups == 8
    assert example.spf.required_includes == ("_spf.esp.example",)
    assert example.spf.allowed_includes == ("_spf.esp.example", "spf.crm.example")
    assert example.mta_sts_mode is MtaStsMode.ENFORCE
    (rule,) = example.rules.ignore
    assert rule == IgnoreRule(IdPattern("dmarc.no-rua"), "reports go to the parent domain")
    assert parked.domain.ascii == "parked.example" and parked.sends_mail is False
    assert parked.dmarc is None and parked.spf is None


def test_the_documented_example_loads() -> None:
    text = (ROOT / "docs" / "config.md").read_text(encoding="utf-8")
    block = re.search(r"```yaml\n(# dmarc-audit.yaml\n.*?)```", text, re.S)
    assert block
    config = load(block[1], str(ROOT / "dmarc-audit.yaml"))
    example = config.policy_for("example.com")
    assert example is not None and example.spf is not None
    assert example.spf.required_ips == (ipaddress.ip_network("192.0.2.25/32"),)
    assert example.spf.allowed_ips == (
        ipaddress.ip_network("192.0.2.0/24"),
        ipaddress.ip_network("2001:db8::/32"),
    )
    assert example.dmarc is not None and example.dmarc.dkim_alignment is Alignment.RELAXED
    assert config.policy_for("newsletter.example.com") is not None
    assert config.rules.severity[0].severity is Severity.WARNING
    assert config.zones == (str(ROOT / "zones"),)
    assert config.baseline == str(ROOT / "dmarc-audit.baseline.json")


def test_sample_config_loads() -> None:
    config = load_config(CONFIG)
    assert [p.domain.ascii for p in config.domains] == ["shop.example", "parked-shop.example"]
    assert config.zones == (str(Path(CONFIG).parent / "zones"),)
    assert config.resolver.offline is True


def test_domains_as_a_plain_list_and_idn() -> None:
    config = load("domains: [a.example, bücher.example]\n")
    assert [p.domain.ascii for p in config.domains] == ["a.example", "xn--bcher-kva.example"]
    assert all(p.dmarc is None and p.sends_mail is None for p in config.domains)


def test_alignment_forms_and_null_values() -> None:
    config = load(
        "domains:\n  a.example:\n    dmarc: {alignment: strict, spf_alignment: r}\n"
        "    spf:\n    sends_mail:\n"
    )
    (policy,) = config.domains
    assert policy.dmarc is not None
    assert (policy.dmarc.dkim_alignment, policy.dmarc.spf_alignment) == (
        Alignment.STRICT,
        Alignment.RELAXED,
    )
    assert policy.spf is None and policy.sends_mail is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "domains:\n  a.example:\n    dmarc: {min_polcy: reject}\n",
            "dmarc-audit.yaml:3: domains.a.example.dmarc: unknown key 'min_polcy' "
            "(did you mean 'min_policy'?)",
        ),
        (
            "fail_on: error\nresolvers: {}\n",
            "dmarc-audit.yaml:2: unknown key 'resolvers' (did you mean 'resolver'?)",
        ),
        (
            "domains:\n  a.example:\n    sends_mail: maybe\n",
            "dmarc-audit.yaml:3: domains.a.example.sends_mail: expected true or false, got 'maybe'",
        ),
        (
            "resolver:\n  timeout: fast\n",
            "dmarc-audit.yaml:2: resolver.timeout: expected a number, got 'fast'",
        ),
        (
            "resolver:\n  timeout: 0\n",
            "dmarc-audit.yaml:2: resolver.timeout: 0 must be greater than 0",
        ),
        (
            "resolver:\n  concurrency: 0\n",
            "dmarc-audit.yaml:2: resolver.concurrency: 0 is out of range (1-1000)",
        ),
        (
            "resolver:\n  nameservers: [192.0.2.1, dns.example]\n",
            "dmarc-audit.yaml:2: resolver.nameservers: 'dns.example': not an IP address",
        ),
        (
            "fail_on: sometimes\n",
            "dmarc-audit.yaml:1: fail_on: 'sometimes' is not one of error, warning, info, never",
        ),
        (
            "domains:\n  a.example:\n    dmarc:\n      min_policy: strict\n",
            "dmarc-audit.yaml:4: domains.a.example.dmarc.min_policy: 'strict' is not one of "
            "none, quarantine, reject",
        ),
        (
            "domains:\n  a.example:\n    spf: {max_lookups: 12}\n",
            "dmarc-audit.yaml:3: domains.a.example.spf.max_lookups: 12 is out of range (0-10)",
        ),
        (
            "domains:\n  a.example:\n    spf: {max_lookups: '8'}\n",
            "dmarc-audit.yaml:3: domains.a.example.spf.max_lookups: expected a whole number, "
            "got '8'",
        ),
        (
            "domains:\n  a.example:\n    spf:\n      allowed_ips: [192.0.2.0/33]\n",
            "dmarc-audit.yaml:4: domains.a.example.spf.allowed_ips: '192.0.2.0/33' does not "
            "appear to be an IPv4 or IPv6 network",
        ),
        (
            "domains:\n  a.example:\n    spf:\n      required_includes: ['include:x.example']\n",
            "dmarc-audit.yaml:4: domains.a.example.spf.required_includes: give the domain alone "
            "('x.example'), not 'include:x.example'",
        ),
        (
            "domains:\n  a.example:\n    dkim_selectors: [s1, 's1._domainkey.a.example']\n",
            "dmarc-audit.yaml:3: domains.a.example.dkim_selectors: invalid DKIM selector "
            "'s1._domainkey.a.example': give the selector alone (e.g. 's1'), "
            "not the full ._domainkey "
            "name",
        ),
        (
            "domains:\n  a.example:\n  bad..example:\n",
            "dmarc-audit.yaml:3: domains: invalid domain name 'bad..example': empty label",
        ),
        (
            "domains:\n  a.example:\n  A.example:\n",
            "dmarc-audit.yaml:3: domains: 'A.example' listed twice",
        ),
        ("fail_on: error\nfail_on: warning\n", "dmarc-audit.yaml:2: key 'fail_on' given twice"),
        (
            "domains:\n  a.example:\n    mta_sts_mode: enforcing\n",
            "dmarc-audit.yaml:3: domains.a.example.mta_sts_mode: 'enforcing' is not one of "
            "enforce, testing, none",
        ),
        ("domains: 3\n", "dmarc-audit.yaml:1: domains: expected a mapping, got 3"),
        ("- a\n- b\n", "dmarc-audit.yaml:1: expected a mapping, got a list"),
        (
            "ignore: [dmarc.no-rau]\n",
            "dmarc-audit.yaml:1: ignore: unknown check id or prefix 'dmarc.no-rau' "
            "(did you mean dmarc.no-rua?)",
        ),
        (
            "domains:\n  a.example:\n    ignore:\n      - {id: spf.missing, why: x}\n",
            "dmarc-audit.yaml:4: domains.a.example.ignore: unknown key 'why' (allowed: id, reason)",
        ),
        (
            "domains:\n  a.example:\n    ignore:\n      - {reason: x}\n",
            "dmarc-audit.yaml:4: domains.a.example.ignore: each entry needs an 'id'",
        ),
        (
            "severity:\n  xyz.: error\n",
            "dmarc-audit.yaml:2: severity: unknown check id or prefix 'xyz.' "
            "(see dmarc-audit explain)",
        ),
        (
            "select: [dmrc.]\n",
            "dmarc-audit.yaml:1: select: unknown check id or prefix 'dmrc.' (did you mean dmarc.?)",
        ),
        (
            "severity:\n  dmarc.: fatal\n",
            "dmarc-audit.yaml:2: severity.dmarc.: 'fatal' is not one of error, warning, info",
        ),
        ("select: spf.\nstrict: 1\n", "dmarc-audit.yaml:2: strict: expected true or false, got 1"),
    ],
)
def test_errors_name_file_and_line(text: str, expected: str) -> None:
    assert error_of(text) == expected


@pytest.mark.parametrize(
    ("text", "line", "problem"),
    [
        ("domains:\n  a.example: {sends_mail: true\n", 3, "expected ',' or '}'"),
        ("fail_on: error\n  bad: indent\n", 2, "mapping values are not allowed here"),
        ("domains: [a.example\n", 2, "expected ',' or ']'"),
        ('x: "unterminated\n', 2, "found unexpected end of stream"),
    ],
)
def test_invalid_yaml(text: str, line: int, problem: str) -> None:
    message = error_of(text)
    assert message.startswith(f"dmarc-audit.yaml:{line}: invalid YAML: ")
    assert problem in message


def test_empty_file_and_unreadable_file(tmp_path: Path) -> None:
    assert error_of("") == "dmarc-audit.yaml: config is empty (see docs/config.md)"
    assert (
        error_of("# only a comment\n") == "dmarc-audit.yaml: config is empty (see docs/config.md)"
    )
    with pytest.raises(InputError, match="cannot read config"):
        load_config(tmp_path)  # a directory
    binary = tmp_path / "x.yaml"
    binary.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(InputError, match="not UTF-8"):
        load_config(binary)


def test_find_config(tmp_path: Path) -> None:
    assert find_config(None, tmp_path) is None
    (tmp_path / "dmarc-audit.yaml").write_text("fail_on: never\n")
    assert find_config(None, tmp_path) == tmp_path / "dmarc-audit.yaml"
    with pytest.raises(InputError, match=r"--config nope.yaml: file not found"):
        find_config("nope.yaml", tmp_path)


def test_defaults_without_a_file() -> None:
    settings = resolve_settings(None)
    assert (settings.timeout, settings.concurrency, settings.offline) == (2.0, 32, False)
    assert settings.fail_on is FailOn.ERROR and settings.strict is False
    assert (settings.profile, settings.dmarc_mode) == ("default", "rfc9989")
    assert settings.domains == () and settings.baseline is None and settings.config_path is None


def test_flags_override_the_file() -> None:
    config = load(
        "resolver: {nameservers: [192.0.2.53], timeout: 3, concurrency: 4}\n"
        "zones: [zones]\nfail_on: warning\nstrict: true\nprofile: bulk-sender\n"
        "select: [spf.]\nignore: [{id: bimi., reason: no logo}]\n"
        "domains:\n  a.example:\n    select: [dmarc.]\n",
        "cfg/dmarc-audit.yaml",
    )
    kept = resolve_settings(config)
    assert kept.nameservers == ("192.0.2.53",) and kept.timeout == 3.0
    assert kept.fail_on is FailOn.WARNING and kept.strict is True
    assert kept.zones == ("cfg/zones",)
    assert [p.text for p in kept.rules_for("a.example").select] == ["dmarc."]
    assert [p.text for p in kept.rules_for("b.example").select] == ["spf."]

    flags = Overrides(
        nameservers=("127.0.0.1:5353",),
        timeout=1.0,
        concurrency=2,
        zones=("new.zone",),
        fail_on=FailOn.NEVER,
        strict=False,
        profile="default",
        select=(IdPattern("mx."),),
        ignore=(IgnoreRule(IdPattern("tlsrpt."), "--ignore"),),
    )
    settings = resolve_settings(config, flags)
    assert settings.nameservers == ("127.0.0.1:5353",)
    assert (settings.timeout, settings.concurrency) == (1.0, 2)
    assert settings.zones == ("new.zone", "cfg/zones")  # the proposed zone comes first
    assert settings.fail_on is FailOn.NEVER and settings.strict is False
    assert settings.profile == "default"
    # --select replaces every select of the file; --ignore adds to its ignores
    assert [p.text for p in settings.rules_for("a.example").select] == ["mx."]
    assert [r.pattern.text for r in settings.rules.ignore] == ["bimi.", "tlsrpt."]


def test_config_show_yaml_round_trips(tmp_path: Path) -> None:
    run = gate_cli("config", "show", "--config", CONFIG)
    assert run.code == 0, run.err
    assert run.out.startswith(f"# effective settings from {CONFIG}\n")
    data = yaml.safe_load(run.out)
    assert data["resolver"] == {
        "nameservers": [],
        "timeout": 3.0,
        "concurrency": 8,
        "offline": True,
    }
    assert data["fail_on"] == "error" and data["strict"] is False
    shop = data["domains"]["shop.example"]
    assert shop["dmarc"] == {
        "min_policy": "reject",
        "min_subdomain_policy": "quarantine",
        "require_rua": True,
        "dkim_alignment": "relaxed",
        "spf_alignment": "relaxed",
    }
    assert shop["spf"]["allowed_ips"] == ["192.0.2.0/24"]
    assert data["domains"]["parked-shop.example"]["ignore"] == [
        {"id": "dkim.no-key-found", "reason": "parked: no DKIM keys on purpose"}
    ]
    again = tmp_path / "dmarc-audit.yaml"
    again.write_text(run.out, encoding="utf-8")
    reloaded = resolve_settings(load_config(again))
    original = resolve_settings(load_config(CONFIG))
    assert reloaded.domains == original.domains
    assert reloaded.rules == original.rules
    assert reloaded.fail_on is original.fail_on and reloaded.timeout == original.timeout


def test_config_show_json_and_defaults(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    run = gate_cli("config", "show", "--config", CONFIG, "--format", "json")
    doc = json.loads(run.out)
    assert doc["schema_version"] == 1 and doc["config"] == CONFIG
    assert list(doc["settings"]["domains"]) == ["shop.example", "parked-shop.example"]
    monkeypatch.chdir(tmp_path)
    defaults = gate_cli("config", "show")
    assert defaults.code == 0
    assert defaults.out.startswith("# effective settings from no policy file (defaults only)")
    assert yaml.safe_load(defaults.out)["domains"] == {}


def test_config_show_reports_errors(tmp_path: Path) -> None:
    bad = tmp_path / "p.yaml"
    bad.write_text("domains:\n  a.example:\n    spf: {max_lookup: 8}\n")
    run = gate_cli("config", "show", "--config", str(bad))
    assert run.code == 2
    assert f"{bad}:3: domains.a.example.spf: unknown key 'max_lookup'" in run.err
