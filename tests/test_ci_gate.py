"""The CI gate end to end on fixtures/ci-sample: a good change passes, bad ones fail with the
right ids and exit codes, for `check` (zone audit) and `diff` (posture change).

`diff` and `config` are not registered in the real CLI yet, so :func:`gate_cli` runs the
commands in-process through a small Typer app that mirrors ``dmarc_audit.cli.app.main``.
"""

from __future__ import annotations

import contextlib
import io
import json
import shutil
from pathlib import Path

import pytest
import typer

from dmarc_audit.cli import check, config_cmd, diff
from dmarc_audit.errors import InputError
from tests.cli_helpers import ROOT, Run, run_cli

SAMPLE = ROOT / "fixtures" / "ci-sample"
CONFIG = str(SAMPLE / "dmarc-audit.yaml")
CURRENT = str(SAMPLE / "zones" / "shop.example.zone")


def change(name: str) -> str:
    return str(SAMPLE / "changes" / f"shop.example.{name}.zone")


def _app() -> typer.Typer:
    app = typer.Typer(add_completion=False, pretty_exceptions_enable=False, rich_markup_mode=None)

    @app.callback()
    def _root() -> None:
        """Test app."""

    app.command("check")(check.check_command)
    app.command("diff")(diff.diff_command)
    app.add_typer(config_cmd.config_app, name="config")
    return app


_COMMAND = typer.main.get_command(_app())


def gate_cli(*args: str) -> Run:
    """Run a command in-process: exit code, stdout and stderr apart (like main())."""
    try:
        from typer._click import exceptions as click_exc
    except ImportError:  # typer releases that depend on click
        from click import exceptions as click_exc  # type: ignore[no-redef]

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = _COMMAND.main(args=list(args), prog_name="dmarc-audit", standalone_mode=False)
        except InputError as exc:
            err.write(f"dmarc-audit: error: {exc}\n")
            code = 2
        except click_exc.UsageError as exc:
            err.write(f"dmarc-audit: error: {exc.format_message()}\n")
            code = 2
    return Run(int(code or 0), out.getvalue(), err.getvalue())


def ids(run: Run, domain: str = "shop.example") -> set[str]:
    doc = run.json()
    report = next(d for d in doc["domains"] if d["domain"] == domain)
    return {f["id"] for f in report["findings"] if not f.get("baselined")}


def failing_ids(run: Run, domain: str = "shop.example") -> set[str]:
    doc = run.json()
    report = next(d for d in doc["domains"] if d["domain"] == domain)
    return {f["id"] for f in report["findings"] if f["severity"] == "error" and not f["baselined"]}


# --- check: the published zones and each proposed change ---------------------------------


def test_published_zones_pass_the_gate() -> None:
    run = gate_cli("check", "--config", CONFIG, "--format", "json")
    assert run.code == 0, run.err
    doc = run.json()
    assert [d["domain"] for d in doc["domains"]] == ["shop.example", "parked-shop.example"]
    for domain in doc["domains"]:
        assert not [f for f in domain["findings"] if f["severity"] != "info"], domain
        assert all(f["status"] == "fail" for f in domain["findings"])  # nothing unknown offline
    # the parked domain's ignore rule has nothing left to drop: a parked domain gets no
    # dkim.no-key-found in the first place
    assert doc["suppressed"] == []


def test_good_change_passes() -> None:
    run = gate_cli(
        "check", "--config", CONFIG, "--zone", change("good"), "--format", "json", "shop.example"
    )
    assert run.code == 0, run.out + run.err
    assert failing_ids(run) == set()
    spf = run.json()["domains"][0]["spf"]
    assert "ip4:192.0.2.40" in spf["record"]  # the proposed zone shadows the published one


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("over-budget", {"policy.spf-over-budget"}),
        ("drop-reject", {"policy.dmarc-too-weak"}),
        ("broken-dkim", {"dkim.key-invalid"}),
        ("drop-mailer", {"policy.spf-include-required-missing"}),
    ],
)
def test_bad_change_fails_with_the_right_ids(name: str, expected: set[str]) -> None:
    run = gate_cli(
        "check", "--config", CONFIG, "--zone", change(name), "--format", "json", "shop.example"
    )
    assert run.code == 1, run.err
    assert failing_ids(run) == expected
    assert "exit 1 (--fail-on error)" in run.err


def test_over_budget_change_details() -> None:
    run = gate_cli(
        "check",
        "--config",
        CONFIG,
        "--zone",
        change("over-budget"),
        "--format",
        "json",
        "shop.example",
    )
    domain = run.json()["domains"][0]
    assert domain["spf"]["lookups"] == 9
    budget = next(f for f in domain["findings"] if f["id"] == "policy.spf-over-budget")
    assert "needs 9 DNS lookups" in budget["message"] and "budget is 8" in budget["message"]
    assert "include:spf.newsletter.example: 4" in budget["evidence"]
    assert "spf.lookups-near-limit" in ids(run)


def test_drop_reject_suggests_the_required_record() -> None:
    run = gate_cli(
        "check",
        "--config",
        CONFIG,
        "--zone",
        change("drop-reject"),
        "--format",
        "json",
        "shop.example",
    )
    weak = next(
        f for f in run.json()["domains"][0]["findings"] if f["id"] == "policy.dmarc-too-weak"
    )
    assert weak["suggested_record"] == (
        '_dmarc.shop.example. TXT "v=DMARC1; p=reject; '
        'sp=quarantine; rua=mailto:dmarc-reports@shop.example"'
    )


def test_fail_on_never_and_warning() -> None:
    never = gate_cli(
        "check",
        "--config",
        CONFIG,
        "--zone",
        change("drop-reject"),
        "--fail-on",
        "never",
        "shop.example",
    )
    assert never.code == 0
    ignored = gate_cli(
        "check",
        "--config",
        CONFIG,
        "--zone",
        change("drop-reject"),
        "--ignore",
        "policy.",
        "--fail-on",
        "error",
        "shop.example",
    )
    assert ignored.code == 0  # only dmarc.policy-none (a warning) is left
    warning = gate_cli(
        "check",
        "--config",
        CONFIG,
        "--zone",
        change("drop-reject"),
        "--ignore",
        "policy.",
        "--fail-on",
        "warning",
        "shop.example",
    )
    assert warning.code == 1


def test_text_output_of_a_failing_change() -> None:
    run = gate_cli("check", "--config", CONFIG, "--zone", change("over-budget"), "shop.example")
    assert run.code == 1
    assert "error    policy.spf-over-budget" in run.out
    assert "SPF ~ 9/10 lookups" in run.out
    assert "exit 1" in run.err and "exit 1" not in run.out


def test_config_from_the_current_directory(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(SAMPLE)
    run = gate_cli("check", "--format", "json")
    assert run.code == 0, run.err
    assert "using policy file dmarc-audit.yaml" in run.err
    assert len(run.json()["domains"]) == 2


def test_real_cli_reads_the_config_and_reports_config_errors(tmp_path: Path) -> None:
    good = run_cli(
        "check",
        "--config",
        CONFIG,
        "--zone",
        change("drop-reject"),
        "--format",
        "json",
        "shop.example",
    )
    assert good.code == 1
    assert "policy.dmarc-too-weak" in {f["id"] for f in good.json()["domains"][0]["findings"]}
    bad = tmp_path / "dmarc-audit.yaml"
    bad.write_text("domains:\n  shop.example:\n    sends_mail: maybe\n", encoding="utf-8")
    run = run_cli("check", "--config", str(bad))
    assert run.code == 2
    assert run.out == ""
    assert run.err == (
        f"dmarc-audit: error: {bad}:3: domains.shop.example.sends_mail: "
        "expected true or false, got 'maybe'\n"
    )


# --- gate controls on check ----------------------------------------------------------------


def test_ignore_prefix_and_select_on_the_command_line() -> None:
    ignored = gate_cli(
        "check",
        "--config",
        CONFIG,
        "--zone",
        change("drop-reject"),
        "--ignore",
        "policy.",
        "--format",
        "json",
        "shop.example",
    )
    assert ignored.code == 0
    assert ids(ignored) == {"dmarc.policy-none"}
    assert {s["id"] for s in ignored.json()["suppressed"]} == {"policy.dmarc-too-weak"}
    selected = gate_cli(
        "check",
        "--config",
        CONFIG,
        "--zone",
        change("over-budget"),
        "--select",
        "spf.lookups-near-limit",
        "--format",
        "json",
        "shop.example",
    )
    assert selected.code == 0  # the error is not selected
    assert ids(selected) == {"spf.lookups-near-limit"}


def test_unknown_id_in_a_flag_is_a_usage_error() -> None:
    run = gate_cli("check", "--config", CONFIG, "--ignore", "dmarc.no-rau", "shop.example")
    assert run.code == 2
    assert (
        "--ignore: unknown check id or prefix 'dmarc.no-rau' (did you mean dmarc.no-rua" in run.err
    )


def test_baseline_accepts_known_findings_and_fails_on_new_ones(tmp_path: Path) -> None:
    baseline = tmp_path / "baseline.json"
    write = gate_cli(
        "check",
        "--config",
        CONFIG,
        "--zone",
        change("over-budget"),
        "--write-baseline",
        str(baseline),
        "shop.example",
    )
    assert write.code == 0, write.err  # everything just written is accepted
    assert "wrote 2 findings to baseline" in write.err
    keys = json.loads(baseline.read_text())["findings"]
    assert {k["id"] for k in keys} == {"policy.spf-over-budget", "spf.lookups-near-limit"}

    same = gate_cli(
        "check",
        "--config",
        CONFIG,
        "--zone",
        change("over-budget"),
        "--baseline",
        str(baseline),
        "--format",
        "json",
        "shop.example",
    )
    assert same.code == 0
    findings = same.json()["domains"][0]["findings"]
    assert {f["id"]: f["baselined"] for f in findings} == {
        "policy.spf-over-budget": True,
        "spf.lookups-near-limit": True,
    }
    assert "2 baselined findings not counted" in same.err

    text = gate_cli(
        "check",
        "--config",
        CONFIG,
        "--zone",
        change("over-budget"),
        "--baseline",
        str(baseline),
        "shop.example",
    )
    assert "no new problems" in text.out
    assert "baselined error    policy.spf-over-budget" in text.out

    new = gate_cli(
        "check",
        "--config",
        CONFIG,
        "--zone",
        change("drop-reject"),
        "--baseline",
        str(baseline),
        "--format",
        "json",
        "shop.example",
    )
    assert new.code == 1
    assert failing_ids(new) == {"policy.dmarc-too-weak"}


def test_baseline_from_the_config_file(tmp_path: Path) -> None:
    sample = tmp_path / "sample"
    shutil.copytree(SAMPLE, sample)
    config = sample / "dmarc-audit.yaml"
    config.write_text(config.read_text() + "baseline: known.json\n", encoding="utf-8")
    gate_cli(
        "check",
        "--config",
        str(config),
        "--zone",
        str(sample / "changes" / "shop.example.broken-dkim.zone"),
        "--write-baseline",
        str(sample / "known.json"),
    )
    run = gate_cli(
        "check",
        "--config",
        str(config),
        "--zone",
        str(sample / "changes" / "shop.example.broken-dkim.zone"),
    )
    assert run.code == 0, run.out + run.err


def test_missing_baseline_is_an_input_error(tmp_path: Path) -> None:
    run = gate_cli("check", "--config", CONFIG, "--baseline", str(tmp_path / "none.json"))
    assert run.code == 2
    assert "file not found" in run.err


# --- diff ----------------------------------------------------------------------------------


def test_diff_good_change_is_not_worse() -> None:
    run = gate_cli(
        "diff",
        "--config",
        CONFIG,
        "--zone",
        change("good"),
        "--against",
        CURRENT,
        "--format",
        "json",
    )
    assert run.code == 0, run.err
    doc = run.json()
    assert doc["schema_version"] == 1 and doc["worse"] is False
    (domain,) = doc["domains"]  # the policy file's domains inside the new zone
    assert domain["domain"] == "shop.example"
    assert domain["added"] == [] and domain["fixed"] == []
    assert domain["spf"]["terms_added"] == ["ip4:192.0.2.40"]
    assert domain["spf"]["lookups_delta"] == 0
    assert domain["verdict"] == "changed"


@pytest.mark.parametrize(
    ("name", "added"),
    [
        ("over-budget", {"policy.spf-over-budget", "spf.lookups-near-limit"}),
        ("drop-reject", {"policy.dmarc-too-weak", "dmarc.policy-none"}),
        ("broken-dkim", {"dkim.key-invalid"}),
        ("drop-mailer", {"policy.spf-include-required-missing"}),
    ],
)
def test_diff_bad_change_is_worse(name: str, added: set[str]) -> None:
    run = gate_cli(
        "diff", "--config", CONFIG, "--zone", change(name), "--against", CURRENT, "--format", "json"
    )
    assert run.code == 1, run.err
    (domain,) = run.json()["domains"]
    assert {f["id"] for f in domain["added"]} == added
    assert domain["verdict"] == "worse"


def test_diff_lookup_delta_policy_change_and_failing_senders() -> None:
    over = gate_cli(
        "diff",
        "--config",
        CONFIG,
        "--zone",
        change("over-budget"),
        "--against",
        CURRENT,
        "--format",
        "json",
    ).json()["domains"][0]
    assert (over["spf"]["lookups_before"], over["spf"]["lookups_after"]) == (5, 9)
    assert over["spf"]["lookups_delta"] == 4
    assert over["spf"]["terms_added"] == ["include:spf.newsletter.example"]

    weak = gate_cli(
        "diff",
        "--config",
        CONFIG,
        "--zone",
        change("drop-reject"),
        "--against",
        CURRENT,
        "--format",
        "json",
    ).json()["domains"][0]
    assert (weak["dmarc"]["policy_before"], weak["dmarc"]["policy_after"]) == ("reject", "none")
    assert weak["dmarc"]["changed"] and weak["dmarc"]["weaker"]

    dropped = gate_cli(
        "diff",
        "--config",
        CONFIG,
        "--zone",
        change("drop-mailer"),
        "--against",
        CURRENT,
        "--format",
        "json",
    ).json()["domains"][0]
    assert dropped["spf"]["terms_removed"] == ["include:_spf.mailer.example"]
    assert dropped["senders_failing"] == ["include:_spf.mailer.example"]
    assert dropped["spf"]["lookups_delta"] == -1


def test_diff_reverse_direction_reports_fixed_findings() -> None:
    run = gate_cli(
        "diff",
        "--config",
        CONFIG,
        "--zone",
        CURRENT,
        "--against",
        change("drop-reject"),
        "--format",
        "json",
    )
    assert run.code == 0
    (domain,) = run.json()["domains"]
    assert {f["id"] for f in domain["fixed"]} == {"policy.dmarc-too-weak", "dmarc.policy-none"}
    assert domain["added"] == []
    assert domain["verdict"] == "better"
    assert not domain["dmarc"]["weaker"]


def test_diff_text_output() -> None:
    run = gate_cli(
        "diff", "--config", CONFIG, "--zone", change("over-budget"), "--against", CURRENT
    )
    assert run.code == 1
    assert run.out.splitlines()[0].startswith(
        "shop.example   worse   SPF lookups 5 → 9 (+4)   DMARC p=reject sp=quarantine"
    )
    assert "+ error    policy.spf-over-budget" in run.out
    assert "SPF senders added: include:spf.newsletter.example" in run.out
    assert "2 added, 0 fixed" in run.err and "worse at --fail-on error · exit 1" in run.err

    dropped = gate_cli(
        "diff", "--config", CONFIG, "--zone", change("drop-mailer"), "--against", CURRENT
    )
    assert (
        "would start failing (required by the policy file): include:_spf.mailer.example"
        in dropped.out
    )


def test_diff_fail_on_and_ignore_and_baseline(tmp_path: Path) -> None:
    never = gate_cli(
        "diff",
        "--config",
        CONFIG,
        "--zone",
        change("drop-reject"),
        "--against",
        CURRENT,
        "--fail-on",
        "never",
    )
    assert never.code == 0
    ignored = gate_cli(
        "diff",
        "--config",
        CONFIG,
        "--zone",
        change("drop-reject"),
        "--against",
        CURRENT,
        "--ignore",
        "policy.dmarc-too-weak",
    )
    assert ignored.code == 0  # dmarc.policy-none (warning) is new, but below --fail-on error
    warn = gate_cli(
        "diff",
        "--config",
        CONFIG,
        "--zone",
        change("drop-reject"),
        "--against",
        CURRENT,
        "--ignore",
        "policy.dmarc-too-weak",
        "--fail-on",
        "warning",
    )
    assert warn.code == 1
    baseline = tmp_path / "b.json"
    gate_cli(
        "check",
        "--config",
        CONFIG,
        "--zone",
        change("drop-reject"),
        "--write-baseline",
        str(baseline),
        "shop.example",
    )
    known = gate_cli(
        "diff",
        "--config",
        CONFIG,
        "--zone",
        change("drop-reject"),
        "--against",
        CURRENT,
        "--baseline",
        str(baseline),
        "--format",
        "json",
    )
    assert known.code == 0
    added = known.json()["domains"][0]["added"]
    assert added and all(f["baselined"] for f in added)


def test_diff_against_live_dns(dns_server) -> None:  # type: ignore[no-untyped-def]
    zones = SAMPLE / "zones"
    server = dns_server(
        zones / "shop.example.zone",
        zones / "mailer.example.zone",
        zones / "ticketdesk.example.zone",
        zones / "newsletter.example.zone",
        zones / "parked-shop.example.zone",
        outside="nxdomain",
    )
    run = gate_cli(
        "diff",
        "--zone",
        change("drop-reject"),
        "--against",
        "live",
        "--nameserver",
        server.nameserver,
        "--selector",
        "s1",
        "--selector",
        "s2",
        "--format",
        "json",
    )
    doc = run.json()
    assert run.code == 0, run.err  # without the policy file, p=none is only a warning
    assert doc["before"] == "live"
    (domain,) = doc["domains"]  # the NEW zone's origin
    assert domain["domain"] == "shop.example"
    assert {f["id"] for f in domain["added"]} == {"dmarc.policy-none"}
    assert domain["dmarc"]["policy_before"] == "reject"
    strict = gate_cli(
        "diff",
        "--zone",
        change("drop-reject"),
        "--against",
        "live",
        "--nameserver",
        server.nameserver,
        "--fail-on",
        "warning",
    )
    assert strict.code == 1
    logged = {entry.name for entry in server.log}
    assert "_dmarc.shop.example" in logged  # the before side asked the server


def test_diff_input_errors() -> None:
    assert gate_cli("diff", "--against", CURRENT).code == 2
    both = gate_cli("diff", "--zone", change("good"), "--against", "live", "--against", CURRENT)
    assert both.code == 2 and "not both" in both.err
    offline = gate_cli("diff", "--config", CONFIG, "--zone", change("good"))
    assert offline.code == 2 and "--against live needs DNS" in offline.err
    missing = gate_cli(
        "diff", "--zone", str(SAMPLE / "nope.zone"), "--offline", "--against", CURRENT
    )
    assert missing.code == 2 and "file not found" in missing.err
