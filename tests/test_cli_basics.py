"""The command line itself: version, help, explain, and how bad input is reported."""

from __future__ import annotations

import pytest

from tests.cli_helpers import DEMO, run_cli


def test_version() -> None:
    from dmarc_audit import __version__

    run = run_cli("--version")
    assert run.code == 0
    assert run.out.strip() == f"dmarc-audit {__version__}"


def test_help_lists_commands() -> None:
    run = run_cli("--help")
    assert run.code == 0
    for command in ("check", "spf", "explain"):
        assert command in run.out


def test_help_does_not_import_heavy_modules() -> None:
    """--help must start fast: dnspython, rich and tldextract stay unimported."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from dmarc_audit.cli.app import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "heavy = [m for m in ('dns.resolver', 'dns.asyncquery', 'tldextract', 'rich.console',"
        " 'yaml', 'dkim', 'spf') if m in sys.modules]\n"
        "print('HEAVY', heavy)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert "HEAVY []" in proc.stdout, proc.stdout + proc.stderr


def test_explain_known_id() -> None:
    run = run_cli("explain", "spf.too-many-lookups")
    assert run.code == 0
    assert run.out.startswith("spf.too-many-lookups:")
    assert "RFC 7208 §4.6.4" in run.out
    assert "How to fix:" in run.out


def test_explain_unknown_id_suggests_closest() -> None:
    run = run_cli("explain", "spf.too-many-lookup")
    assert run.code == 2
    assert run.out == ""
    lines = run.err.strip().splitlines()
    assert len(lines) == 1
    assert "unknown check id" in lines[0]
    assert "spf.too-many-lookups" in lines[0]


@pytest.mark.parametrize(
    "args, fragment",
    [
        (("check", "--fail-on", "bogus", "x.example"), "--fail-on"),
        (("check", "--zone", "no/such/file.zone", "x.example"), "no/such/file.zone"),
        (("check", "--timeout", "-1", "x.example"), "--timeout"),
        (("check", "--nameserver", "not-an-ip", "x.example"), "not-an-ip"),
        (("spf", "northwind.example", "--ip", "999.1.1.1", "--zone", str(DEMO)), "999.1.1.1"),
        (("check", "--domains-file", "no/such/list.txt"), "no/such/list.txt"),
        (("check",), "no domains"),
        (("explain",), "ID"),
        (("frobnicate",), "frobnicate"),
    ],
)
def test_bad_input_is_one_line_exit_2(args: tuple[str, ...], fragment: str) -> None:
    run = run_cli(*args)
    assert run.code == 2, run
    assert "Traceback" not in run.err
    lines = run.err.strip().splitlines()
    assert len(lines) == 1, run.err
    assert fragment in lines[0]
    assert lines[0].startswith("dmarc-audit: error:")


def test_malformed_zone_file_names_file_and_line(tmp_path) -> None:
    zone = tmp_path / "broken.zone"
    zone.write_text("$ORIGIN broken.example.\n@ 3600 IN MX ten mail\n")
    run = run_cli("check", "--zone", str(zone), "--offline", "broken.example")
    assert run.code == 2
    assert "Traceback" not in run.err
    assert "broken.zone" in run.err and ":2" in run.err


def test_malformed_yaml_zone(tmp_path) -> None:
    zone = tmp_path / "bad.yaml"
    zone.write_text("example.com:\n  - TXT: [unclosed\n")
    run = run_cli("check", "--zone", str(zone), "example.com")
    assert run.code == 2
    assert "bad.yaml" in run.err and "Traceback" not in run.err
