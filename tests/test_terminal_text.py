"""Terminal text: folded to the width with a hanging indent, never cutting a name, IP or
count; -v / -q / --concise / --statistics; duplicates audited once; help and completion."""

from __future__ import annotations

import io
import re

import pytest
from cli_helpers import ROOT, run_cli
from rich.console import Console
from rich.text import Text

from dmarc_audit.output.wrap import RECORD_BREAKS, fold, print_hanging
from dmarc_audit.words import noun, plural

POSTURE = str(ROOT / "fixtures" / "posture")
NOISY = (
    "nothere.clean-org.example",
    "dmarc-missing.example",
    "spf-too-many.example",
    "spf-bloated.example",
    "dkim-1024.example",
    "spf-void.example",
    "dmarc-rua-external.example",
    "mx-noaddr.example",
    "clean-org.example",
)
NAME = re.compile(r"(?:[A-Za-z0-9_-]+\.)+[A-Za-z]{2,}\.?")
IPV4 = re.compile(r"\b\d{1,3}(?:\.\d{1,3}){3}(?:/\d+)?\b")
COUNT = re.compile(r"\b\d[\d,]*(?:/\d+)? (?:lookups?|octets|records?|bits|selectors?|DNS)\b")


def check(*args: str, columns: int = 80) -> tuple[int, str, str]:
    run = run_cli("check", "--zone", POSTURE, "--offline", *args, env={"COLUMNS": str(columns)})
    return run.code, run.out, run.err


def tokens(text: str) -> set[str]:
    """DNS names, IPv4 addresses and counts with their unit in ``text``."""
    found = set(NAME.findall(text)) | set(IPV4.findall(text)) | set(COUNT.findall(text))
    return {t.rstrip(".") for t in found}


def assert_fits_and_whole(out: str, width: int, expected: set[str]) -> None:
    """No line wider than ``width``; every token of ``expected`` that the text shows is
    on one line (joined without the folds, a split token would appear only across lines)."""
    lines = out.splitlines()
    assert lines
    too_wide = [line for line in lines if len(line) > width]
    assert not too_wide, too_wide
    joined = "".join(line.strip() for line in lines)
    spaced = " ".join(line.strip() for line in lines)
    shown = [t for t in expected if t in joined or t in spaced]
    assert len(shown) > 10
    split = [t for t in shown if not any(t in line for line in lines)]
    assert not split, f"split across lines: {split}"


@pytest.mark.parametrize("width", [80, 200])
def test_check_text_fits_the_width_and_cuts_no_name_ip_or_count(width: int) -> None:
    code, json_out, _ = check("--format", "json", *NOISY, columns=width)
    assert code == 1
    code, out, err = check(*NOISY, columns=width)
    assert code == 1
    assert_fits_and_whole(out, width, tokens(json_out))
    assert all(len(line) <= width for line in err.splitlines())
    if width == 80:  # the long messages did fold, under the message column
        assert any(line.startswith(" " * 20) for line in out.splitlines())


def test_verbose_shows_whole_keys_and_lists_the_default_does_not() -> None:
    _, default, _ = check("dkim-1024.example", "custom-selector.example", columns=200)
    _, verbose, _ = check("-v", "dkim-1024.example", "custom-selector.example", columns=200)
    _, data, _ = check("--format", "json", "dkim-1024.example", columns=200)
    key = re.search(r"p=([A-Za-z0-9+/=]{100,})", data)
    assert key is not None
    assert key[1] not in default and "(key shortened; -v shows it)" in default
    assert key[1] in "".join(line.strip() for line in verbose.splitlines())
    # the 27 probed selectors: counted without -v, listed once with it
    assert "selectors tried: 27 (-v lists them)" in default
    assert "protonmail2" not in default
    assert verbose.count("protonmail2") == 1


def test_quiet_keeps_errors_and_warnings_only() -> None:
    code, out, err = check("-q", "spf-bloated.example", "custom-selector.example")
    assert code == 0
    assert "spf.response-too-large" in out
    assert "custom-selector.example" not in out and "dkim.no-key-found" not in out
    assert err == ""
    _, loud, _ = check("spf-bloated.example", "custom-selector.example")
    assert "dkim.no-key-found" in loud
    assert check("-q", "-v", "clean-org.example")[0] == 2


def test_concise_is_one_line_per_domain() -> None:
    code, out, _ = check("--concise", *NOISY, columns=200)
    assert code == 1
    lines = out.splitlines()
    assert len(lines) == len(NOISY)
    assert lines[0].startswith("nothere.clean-org.example ")
    assert lines[0].endswith("✗ does not exist   1 error, 1 info: dns.nxdomain, dmarc.inherited")
    assert lines[2].startswith("spf-too-many.example   SPF ✗  DKIM ✓  DMARC ✓  MX ✓   ")
    assert lines[2].endswith("1 error: spf.too-many-lookups")
    assert lines[-1].startswith("clean-org.example ") and lines[-1].endswith("ok")
    _, narrow, _ = check("--concise", *NOISY, columns=80)
    assert_fits_and_whole(narrow, 80, tokens(out))


def test_statistics_counts_per_check_id() -> None:
    code, json_out, _ = check("--format", "json", *NOISY, columns=200)
    import json

    counted: dict[str, int] = {}
    for domain in json.loads(json_out)["domains"]:
        for f in domain["findings"]:
            counted[f["id"]] = counted.get(f["id"], 0) + 1
    code, out, _ = check("--statistics", *NOISY, columns=200)
    assert code == 1
    rows = [line.split() for line in out.splitlines()]
    assert {row[1]: int(row[0]) for row in rows} == counted
    assert [int(r[0]) for r in rows] == sorted((int(r[0]) for r in rows), reverse=True)
    assert "Too many SPF DNS lookups" in out


def test_view_flags_need_text_and_exclude_each_other() -> None:
    assert check("--concise", "--format", "json", "clean-org.example")[0] == 2
    code, _, err = check("--concise", "--statistics", "clean-org.example")
    assert code == 2 and "cannot be used together" in err


def test_a_domain_given_twice_is_audited_once() -> None:
    code, out, err = check(
        "--format", "json", "clean-org.example", "CLEAN-ORG.example.", "clean-org.example"
    )
    assert code == 0
    import json

    assert [d["domain"] for d in json.loads(out)["domains"]] == ["clean-org.example"]
    assert "given more than once, audited once: clean-org.example (3 times)" in err


@pytest.mark.parametrize("args", [(), ("reports",)])
def test_no_arguments_prints_the_help_layout(args: tuple[str, ...]) -> None:
    run = run_cli(*args, env={"COLUMNS": "80"})
    assert run.code == 2
    assert run.err.startswith("Usage: dmarc-audit")
    assert "\nCommands:\n" in run.err and "error:" not in run.err
    commands = run.err.partition("Commands:")[2].splitlines()
    assert len(commands) >= 4 and not any(line.endswith("...") for line in commands)
    assert all(len(line) <= 80 for line in run.err.splitlines())


def test_help_does_not_cut_command_descriptions() -> None:
    run = run_cli("--help", env={"COLUMNS": "80"})
    commands = run.out.partition("Commands:")[2].splitlines()
    assert run.code == 0 and not any(line.endswith("...") for line in commands)
    assert "senders that would start failing." in " ".join(run.out.split())
    assert "--install-completion" in run.out and "--show-completion" in run.out


def test_shell_completion_completes_commands_and_options() -> None:
    env = {"_DMARC_AUDIT_COMPLETE": "complete_bash", "COMP_WORDS": "dmarc-audit ch"}
    run = run_cli(env={**env, "COMP_CWORD": "1"})
    assert run.code == 0 and run.out.split() == ["check"]
    env["COMP_WORDS"] = "dmarc-audit check --stat"
    run = run_cli(env={**env, "COMP_CWORD": "2"})
    assert run.out.split() == ["--statistics"]
    script = run_cli("--show-completion", "bash")
    assert script.code == 0 and "_DMARC_AUDIT_COMPLETE=complete_bash" in script.out


def test_fold_breaks_at_spaces_and_after_semicolons() -> None:
    record = "v=DMARC1;p=reject;rua=mailto:dmarc-reports@clean-org.example;fo=1"
    lines = [t.plain for t in fold(record, 30, breaks=RECORD_BREAKS)]
    assert "".join(lines) == record
    assert all(len(line) <= 30 for line in lines)
    assert lines[0] == "v=DMARC1;p=reject;"
    words = [t.plain for t in fold("include:_spf.mailhost.example 3 lookups", 31)]
    assert words == ["include:_spf.mailhost.example 3", "lookups"]


def test_a_word_wider_than_the_line_folds_at_a_dot() -> None:
    name = "selector1._domainkey.a-very-long-subdomain-name.example"
    lines = [t.plain for t in fold(name, 30)]
    assert "".join(lines) == name
    assert all(line.endswith(".") for line in lines[:-1])


def test_print_hanging_indents_continuations_under_the_body() -> None:
    buffer = io.StringIO()
    console = Console(file=buffer, width=40, color_system=None)
    print_hanging(console, Text("  fix: "), "one two three four five six seven eight nine ten")
    lines = buffer.getvalue().splitlines()
    assert lines[0].startswith("  fix: one")
    assert len(lines) > 1 and all(line.startswith(" " * 7) for line in lines[1:])
    assert all(len(line) <= 40 for line in lines)


def test_plural() -> None:
    assert plural(1, "record") == "1 record"
    assert plural(2, "record") == "2 records"
    assert plural(0, "message") == "0 messages"
    assert plural(1, "DNS query") == "1 DNS query"
    assert plural(3, "DNS query") == "3 DNS queries"
    assert plural(2, "info") == "2 info"
    assert plural(1234, "report", grouped=True) == "1,234 reports"
    assert noun(2, "address") == "addresses"


def test_a_domain_that_does_not_exist_says_so_first() -> None:
    import json

    code, out, _ = check("--format", "json", "clean-org.exampel", "nothere.clean-org.example")
    assert code == 1
    typo, sub = json.loads(out)["domains"]
    assert [f["id"] for f in typo["findings"]] == ["dns.nxdomain"]
    assert typo["findings"][0]["evidence"] == ["TXT clean-org.exampel: NXDOMAIN"]
    assert typo["spf"]["status"] == "none"  # the facts stay in the JSON
    # the inherited policy still applies to a name that does not exist: it stays
    assert [f["id"] for f in sub["findings"]] == ["dns.nxdomain", "dmarc.inherited"]
    code, text, _ = check("clean-org.exampel")
    lines = text.splitlines()
    assert lines[0] == "clean-org.exampel   ✗ does not exist"
    assert "does not exist (NXDOMAIN); a typo?" in lines[1]
    assert "spf.missing" not in text and "mx.missing" not in text


def test_an_existing_domain_has_no_nxdomain_finding() -> None:
    _, out, _ = check("--format", "json", "dmarc-missing.example")
    assert "dns.nxdomain" not in out and "dmarc.missing" in out
