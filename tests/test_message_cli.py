"""`dmarc-audit message` end to end: real subprocess, fixture messages, fixture zones, offline.

Until ``message`` is registered in ``cli/app.py`` the command runs through a tiny
Typer app around :func:`dmarc_audit.cli.message.message_command` that handles
errors the way ``app.main`` does; afterwards through ``python -m dmarc_audit``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli_helpers import ROOT, Run

MESSAGES = ROOT / "fixtures" / "messages"
ZONES = str(MESSAGES / "zones.yaml")
GOLDEN = MESSAGES / "golden"

_WRAPPER = """
import sys
from dmarc_audit.cli.app import app, main
from dmarc_audit.cli.message import message_command
app.command("message")(message_command)
main(sys.argv[1:])
"""


def _registered() -> bool:
    from dmarc_audit.cli.app import app

    return any(c.name == "message" for c in app.registered_commands)


def run_message(*args: str, stdin: bytes | None = None, zone: bool = True) -> Run:
    """Run ``dmarc-audit message ARGS`` (offline, with the fixture zones unless zone=False)."""
    extra = ("--zone", ZONES, "--offline") if zone else ()
    prefix = ["-m", "dmarc_audit"] if _registered() else ["-c", _WRAPPER]
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "200"}
    proc = subprocess.run(
        [sys.executable, *prefix, "message", *args, *extra],
        input=stdin,
        capture_output=True,
        env=env,
        timeout=60,
        cwd=ROOT,
    )
    return Run(proc.returncode, proc.stdout.decode("utf-8"), proc.stderr.decode("utf-8"))


def analyse(name: str, *args: str) -> tuple[Run, dict]:
    run = run_message(f"fixtures/messages/{name}", "--format", "json", *args)
    assert run.code in (0, 1, 3), run.err
    return run, json.loads(run.out)


def library(name: str, **options: object) -> dict:
    """The same JSON document, from the library API in this process (for the faster tests)."""
    import asyncio

    from dmarc_audit.dns.setup import DnsOptions, build_resolver
    from dmarc_audit.message.parse import parse_message
    from dmarc_audit.message.verdict import MessageOptions, analyze_message

    resolver = build_resolver(DnsOptions(zones=(ZONES,), offline=True))
    message = parse_message((MESSAGES / name).read_bytes())
    report = asyncio.run(analyze_message(resolver, message, MessageOptions(**options), name))
    doc = report.to_json()
    assert doc["verdict"]["exit_status"] == int(report.exit_status)
    return doc


def ids(doc: dict) -> list[str]:
    return [f["id"] for f in doc["findings"]]


# --- the seven scenarios of the issue ---------------------------------------------------


def test_aligned_pass() -> None:
    run, doc = analyse("aligned-pass.eml")
    assert run.code == 0
    assert doc["verdict"]["dmarc"] == "pass"
    assert doc["dmarc"]["aligned_pass"] == ["dkim", "spf"]
    (sig,) = doc["dkim"]
    assert (sig["d"], sig["s"], sig["result"], sig["reason"]) == (
        "shop.example",
        "s1",
        "pass",
        "verified",
    )
    assert doc["spf"]["result"] == "pass"
    assert doc["bulk"]["is_bulk"] and doc["bulk"]["problems"] == []
    assert doc["bulk"]["signed_by"] == ["shop.example"]
    # must not fire: nothing to fix on a well-configured message
    assert ids(doc) == []
    # the topmost Received is an internal LMTP hop; the entry hop is the one below it
    assert doc["connection"]["ip"]["value"] == "192.0.2.10"
    assert doc["connection"]["ip"]["source"].startswith("Received #2")
    assert doc["connection"]["mail_from"] == {
        "value": "bounce@shop.example",
        "source": "Return-Path (line 1)",
    }


def test_passes_only_by_spf() -> None:
    run, doc = analyse("spf-only.eml")
    assert run.code == 0
    assert doc["verdict"]["dmarc"] == "pass"
    assert doc["dkim"] == []
    assert doc["dmarc"]["aligned_pass"] == ["spf"]
    assert doc["connection"]["ip"]["source"] == "Received-SPF (line 2) client-ip"
    assert doc["connection"]["helo"]["source"] == "Received-SPF (line 2) helo"
    assert "dkim=none" in doc["authentication_results"]


def test_esp_signed_and_unaligned() -> None:
    run, doc = analyse("esp-unaligned.eml")
    assert run.code == 1
    assert doc["verdict"]["dmarc"] == "fail"
    assert doc["verdict"]["disposition"] == "reject"
    found = {f["id"]: f for f in doc["findings"]}
    assert {
        "align.none",
        "align.dkim-unaligned",
        "align.spf-unaligned",
        "bulk.one-click-unsubscribe",
    } <= set(found)
    fix = found["align.dkim-unaligned"]["remediation"]
    assert "your ESP signs as esp.example" in fix and "CNAME" in fix
    assert "k1._domainkey.shop.example" in fix
    (dkim_check,) = doc["dmarc"]["alignment"]["dkim"]
    assert dkim_check["org_domain"] == "esp.example"
    assert dkim_check["from_org_domain"] == "shop.example"
    assert doc["connection"]["ip"]["source"].endswith("policy.iprev")


def test_strict_alignment_with_a_subdomain() -> None:
    run, doc = analyse("strict-subdomain.eml")
    assert run.code == 1
    assert doc["verdict"]["dmarc"] == "fail"
    assert doc["dmarc"]["adkim"] == doc["dmarc"]["aspf"] == "strict"
    (check,) = doc["dmarc"]["alignment"]["dkim"]
    assert check["aligned"] is False and check["relaxed_aligned"] is True
    assert check["org_domain"] == check["from_org_domain"] == "corp.example"
    strict = next(f for f in doc["findings"] if f["id"] == "align.strict-mode")
    assert strict["severity"] == "warning"
    assert strict["suggested_record"] == (
        '_dmarc.corp.example TXT "v=DMARC1; p=reject; rua=mailto:dmarc@corp.example"'
    )
    # strict mode is the cause: no "your ESP signs as ..." advice
    assert "align.dkim-unaligned" not in ids(doc)
    assert doc["dkim"][0]["a"] == "ed25519-sha256" and doc["dkim"][0]["result"] == "pass"


def test_forwarded_with_broken_body_and_valid_arc() -> None:
    run, doc = analyse("forwarded-arc.eml")
    assert run.code == 1
    assert doc["verdict"]["dmarc"] == "fail"
    assert doc["dkim"][0]["reason"] == "body-hash-mismatch"
    assert doc["arc"]["status"] == "pass"
    (hop,) = doc["arc"]["hops"]
    assert hop["seal"] == {"d": "forum.example", "s": "arc", "cv": "none", "valid": True}
    assert {
        "method": "dmarc",
        "result": "pass",
        "properties": {"header.from": "shop.example"},
    } in hop["results"]
    override = doc["dmarc"]["arc_override"]
    assert override["possible"] is True
    assert "forum.example" in override["reason"]
    none = next(f for f in doc["findings"] if f["id"] == "align.none")
    assert any(line.startswith("ARC: ") for line in none["evidence"])
    # the list's own bounce domain is not an ESP to configure
    assert "align.spf-unaligned" not in ids(doc)
    assert "arc=pass" in doc["authentication_results"]
    assert doc["connection"]["ip"]["source"].endswith("smtp.remote-ip")


def test_tampered_body() -> None:
    run, doc = analyse("tampered-body.eml")
    assert run.code == 1
    assert doc["dkim"][0]["reason"] == "body-hash-mismatch"
    assert doc["dkim"][0]["result"] == "fail"
    assert doc["spf"]["result"] == "fail"
    assert "dkim.signature-invalid" in ids(doc)
    assert doc["verdict"]["disposition"] == "reject"


def test_revoked_key() -> None:
    run, doc = analyse("revoked-key.eml")
    assert run.code == 1
    sig = doc["dkim"][0]
    assert (sig["result"], sig["reason"]) == ("permerror", "key-revoked")
    revoked = next(f for f in doc["findings"] if f["id"] == "dkim.key-revoked")
    assert revoked["severity"] == "error"
    assert doc["spf"]["result"] == "softfail"
    assert doc["verdict"]["disposition"] == "quarantine"


# --- more verdicts ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "code", "dmarc", "reason"),
    [
        ("expired.eml", 1, "fail", "signature-expired"),
        ("from-not-signed.eml", 1, "fail", "from-not-signed"),
        ("unknown-selector.eml", 1, "fail", "key-not-found"),
    ],
)
def test_dkim_failure_reasons(name: str, code: int, dmarc: str, reason: str) -> None:
    doc = library(name)
    assert doc["verdict"]["exit_status"] == code
    assert doc["verdict"]["dmarc"] == dmarc
    assert doc["dkim"][0]["reason"] == reason


def test_no_dmarc_record_is_none_and_exit_1() -> None:
    doc = library("no-dmarc.eml")
    assert doc["verdict"]["exit_status"] == 1
    assert doc["verdict"]["dmarc"] == "none"
    assert "it would pass" in doc["dmarc"]["reason"]
    missing = next(f for f in doc["findings"] if f["id"] == "dmarc.missing")
    assert missing["suggested_record"].startswith('_dmarc.nodmarc.example TXT "v=DMARC1;')


def test_policy_lookup_timeout_is_temperror_exit_3() -> None:
    doc = library("dmarc-timeout.eml")
    assert doc["verdict"]["exit_status"] == 3
    assert doc["verdict"]["dmarc"] == "temperror"
    unknown = [f for f in doc["findings"] if f["status"] == "unknown"]
    assert unknown and unknown[0]["id"] == "dns.lookup-failed"


@pytest.mark.parametrize(
    ("name", "status"),
    [("no-from.eml", "missing"), ("multiple-from-domains.eml", "multiple-domains")],
)
def test_no_usable_from_is_a_finding_and_exit_1(name: str, status: str) -> None:
    doc = library(name)
    assert doc["verdict"]["exit_status"] == 1
    assert doc["verdict"]["dmarc"] == "permerror"
    assert doc["message"]["from"]["status"] == status
    assert ids(doc) == ["align.none"]
    assert "dmarc=permerror" in doc["authentication_results"]


def test_command_line_facts_override_the_headers() -> None:
    run, doc = analyse(
        "forwarded-arc.eml",
        "--ip",
        "192.0.2.10",
        "--mail-from",
        "alice@shop.example",
        "--helo",
        "mail.shop.example",
    )
    assert run.code == 0
    assert doc["connection"]["ip"] == {"value": "192.0.2.10", "source": "--ip"}
    assert doc["connection"]["mail_from"]["source"] == "--mail-from"
    assert doc["dmarc"]["aligned_pass"] == ["spf"]


def test_null_mail_from_uses_helo_only_under_rfc7489() -> None:
    from dmarc_audit.records.dmarc import DmarcMode

    args = {"ip": "192.0.2.60", "mail_from": "", "helo": "nodmarc.example"}
    doc = library("spf-only.eml", **args)
    assert doc["spf"]["identity"] == "helo"
    assert doc["spf"]["dmarc_domain"] is None
    doc = library("spf-only.eml", **args, dmarc_mode=DmarcMode.RFC7489)
    assert doc["dmarc_mode"] == "rfc7489"
    assert doc["spf"]["dmarc_domain"] == "nodmarc.example"


def test_no_connecting_ip_and_no_dkim_is_unknown_exit_3() -> None:
    message = b"From: a@shop.example\nReturn-Path: <bounce@shop.example>\nSubject: hi\n\nhi\n"
    run = run_message("-", "--format", "json", stdin=message)
    assert run.code == 3, run.err
    doc = json.loads(run.out)
    assert doc["verdict"]["dmarc"] == "unknown"
    assert "--ip" in doc["spf"]["skipped"]
    assert doc["source"] == "stdin"
    assert "dmarc=" not in doc["authentication_results"]


def test_offline_without_zones_never_goes_live() -> None:
    run = run_message(
        "fixtures/messages/aligned-pass.eml", "--offline", "--format", "json", zone=False
    )
    assert run.code == 3
    doc = json.loads(run.out)
    assert {e["outcome"] for e in doc["dns"]["trace"]} == {"offline"}
    assert doc["dkim"][0]["reason"] == "key-lookup-failed"


def test_compare_shows_where_the_receiver_differs() -> None:
    doc = library("tampered-body.eml", compare=True)
    by_method = {c["method"]: c for c in doc["comparisons"]}
    assert by_method["dkim"]["theirs"] == "pass" and by_method["dkim"]["ours"] == "fail"
    assert by_method["dkim"]["pass_differs"] is True
    assert by_method["spf"]["agree"] is True
    assert by_method["dmarc"]["pass_differs"] is True
    text = run_message("fixtures/messages/tampered-body.eml", "--compare")
    assert "Compared with the message's Authentication-Results" in text.out
    assert "dkim: theirs pass, ours fail" in text.out


def test_compare_marks_earlier_hops() -> None:
    doc = library("forwarded-arc.eml", compare=True)
    hops = {(c["authserv_id"], c["receiver"]) for c in doc["comparisons"]}
    assert hops == {("mx.receiver.example", True), ("mx.forum.example", False)}
    assert all(c["agree"] for c in doc["comparisons"] if c["receiver"])


def test_without_compare_there_are_no_comparisons() -> None:
    doc = library("tampered-body.eml")
    assert doc["comparisons"] is None


# --- output ----------------------------------------------------------------------------


def test_text_puts_the_verdict_first_and_ends_with_authentication_results() -> None:
    run = run_message("fixtures/messages/esp-unaligned.eml")
    assert run.code == 1
    lines = run.out.splitlines()
    assert lines[0].startswith("DMARC fail: no aligned pass")
    assert lines[0].endswith("→ reject")
    assert "Findings" in run.out
    tail = run.out[run.out.index("Authentication-Results: dmarc-audit;") :]
    assert "dmarc=fail" in tail and "header.from=shop.example" in tail
    assert "\x1b[" not in run.out
    assert run.err.strip().endswith("exit 1")
    assert "DMARC fail" in run.err and "DNS queries" in run.err


def test_json_shape() -> None:
    run, doc = analyse("aligned-pass.eml")
    assert doc["schema_version"] == 1
    assert set(doc) == {
        "schema_version",
        "source",
        "dmarc_mode",
        "verdict",
        "message",
        "connection",
        "dkim",
        "spf",
        "dmarc",
        "arc",
        "bulk",
        "authentication_results",
        "comparisons",
        "findings",
        "dns",
    }
    assert set(doc["verdict"]) == {"dmarc", "headline", "disposition", "exit_status"}
    assert doc["verdict"]["exit_status"] == run.code == 0
    assert doc["dns"]["queries"] == len(doc["dns"]["trace"]) > 0
    assert set(doc["dkim"][0]) >= {"d", "s", "a", "result", "reason", "detail", "key", "warnings"}
    assert "DNS queries" in run.err


@pytest.mark.parametrize("name", ["aligned-pass", "forwarded-arc", "strict-subdomain"])
def test_text_golden(name: str) -> None:
    run = run_message(f"fixtures/messages/{name}.eml", "--compare")
    path = GOLDEN / f"{name}.txt"
    if os.environ.get("UPDATE_GOLDEN"):
        path.parent.mkdir(exist_ok=True)
        path.write_text(run.out, encoding="utf-8")
    assert run.out == path.read_text(encoding="utf-8")


@pytest.mark.parametrize("name", ["esp-unaligned", "forwarded-arc"])
def test_json_golden(name: str) -> None:
    """The JSON shape, snapshot-tested (the DNS trace, whose timing varies, left out)."""
    run = run_message(f"fixtures/messages/{name}.eml", "--format", "json", "--compare")
    doc = json.loads(run.out)
    assert doc.pop("dns")["queries"] > 0
    path = GOLDEN / f"{name}.json"
    text = json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
    if os.environ.get("UPDATE_GOLDEN"):
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8")


# --- bad input -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "stdin", "wanted"),
    [
        (("fixtures/messages/does-not-exist.eml",), None, "cannot read message file"),
        (("fixtures/messages",), None, "is a directory"),
        (("-",), b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "not an e-mail message"),
        (("-",), b"", "not an e-mail message: the input is empty"),
        (("-",), b'{"from": "a@b.example"}\n', "not an e-mail message"),
        (("fixtures/messages/aligned-pass.eml", "--ip", "300.1.1.1"), None, "--ip"),
        (("fixtures/messages/aligned-pass.eml", "--mail-from", "no at sign"), None, "--mail-from"),
        (("fixtures/messages/aligned-pass.eml", "--dmarc-mode", "rfc1"), None, "--dmarc-mode"),
    ],
)
def test_bad_input_is_one_line_exit_2(
    args: tuple[str, ...], stdin: bytes | None, wanted: str
) -> None:
    run = run_message(*args, stdin=stdin)
    assert run.code == 2, run.err
    assert run.out == ""
    assert wanted in run.err
    assert "Traceback" not in run.err
    if "--dmarc-mode" not in args:
        assert len(run.err.strip().splitlines()) == 1


def test_malformed_8bit_headers_do_not_crash() -> None:
    path = ROOT / "tests" / "conformance" / "dkim" / "dkimpy" / "rfc6376.w1258.msg"
    run = run_message(str(path), "--format", "json")
    assert run.code in (1, 3), run.err
    assert json.loads(run.out)["schema_version"] == 1


def test_realistic_multi_hop_message() -> None:
    path = ROOT / "tests" / "conformance" / "dkim" / "dkimpy" / "message.mbox"
    run = run_message(str(path), "--format", "json")
    doc = json.loads(run.out)
    assert doc["message"]["from"]["domain"] == "kitterman.com"
    assert doc["dkim"][0]["reason"] == "key-not-found"
    assert Path(path).exists()


def test_docs_name_every_json_key() -> None:
    doc = library("forwarded-arc.eml", compare=True)
    text = (ROOT / "docs" / "message.md").read_text(encoding="utf-8")
    keys = set(doc) | {"dns"}
    for section in ("verdict", "message", "connection", "spf", "dmarc", "bulk"):
        keys |= set(doc[section])
    keys |= set(doc["dkim"][0]) | set(doc["dmarc"]["policy"]) | set(doc["comparisons"][0])
    keys |= set(doc["dmarc"]["alignment"]["spf"]) | set(doc["arc"]["hops"][0])
    missing = sorted(k for k in keys if f"`{k}`" not in text)
    assert not missing, f"docs/message.md does not describe {missing}"


def test_fixture_messages_are_current() -> None:
    proc = subprocess.run(
        [sys.executable, "scripts/make_fixture_messages.py", "--check"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
