"""`check` and `spf` end to end on the demo zones (offline, through the real CLI)."""

from __future__ import annotations

from tests.cli_helpers import DEMO, run_cli

DEMO_DOMAINS = ("northwind.example", "franchise.example", "oldshop.example", "branch.example")


def ids(report: dict) -> set[str]:
    return {f["id"] for f in report["findings"]}


def test_check_demo_json_shape_and_order() -> None:
    run = run_cli("check", "--no-fetch", "--zone", str(DEMO), "--format", "json", *DEMO_DOMAINS)
    assert run.code == 1, run.err
    doc = run.json()
    assert doc["schema_version"] == 1
    assert [d["domain"] for d in doc["domains"]] == list(DEMO_DOMAINS)
    for domain in doc["domains"]:
        for finding in domain["findings"]:
            assert set(finding) >= {
                "id",
                "severity",
                "status",
                "message",
                "remediation",
                "suggested_record",
                "references",
            }
            assert finding["severity"] in ("error", "warning", "info")
            assert finding["status"] in ("fail", "unknown")
        spf = domain["spf"]
        assert set(spf) >= {"record", "lookups", "void_lookups", "status", "trace"}
    assert doc["dns"]["queries"] == len(doc["dns"]["trace"]) > 0
    # summary goes to stderr, never into the JSON on stdout
    assert "DNS queries" in run.err


def test_check_demo_findings() -> None:
    run = run_cli("check", "--no-fetch", "--zone", str(DEMO), "--format", "json", *DEMO_DOMAINS)
    by_name = {d["domain"]: d for d in run.json()["domains"]}

    northwind = by_name["northwind.example"]
    assert not [f for f in northwind["findings"] if f["severity"] in ("error", "warning")]
    assert northwind["spf"]["status"] == "valid"

    franchise = by_name["franchise.example"]
    assert "spf.too-many-lookups" in ids(franchise)
    assert franchise["spf"]["lookups"] == 12
    assert franchise["spf"]["status"] == "permerror"

    oldshop = by_name["oldshop.example"]
    pass_all = next(f for f in oldshop["findings"] if f["id"] == "spf.pass-all")
    assert pass_all["severity"] == "error"
    assert pass_all["suggested_record"] and "+all" not in pass_all["suggested_record"]

    branch = by_name["branch.example"]
    assert "spf.temperror" in ids(branch)
    assert "spf.missing" not in ids(branch)
    assert branch["spf"]["status"] == "temperror"
    unknown = [f for f in branch["findings"] if f["status"] == "unknown"]
    assert unknown, "a timed-out include must be reported as could-not-check"


def test_check_clean_domain_exits_0() -> None:
    run = run_cli("check", "--no-fetch", "--zone", str(DEMO), "northwind.example")
    assert run.code == 0, run.out + run.err
    assert "northwind.example" in run.out


def test_fail_on_and_strict() -> None:
    # branch.example: the provider times out -> unknown; spf.temperror is an error
    never = run_cli(
        "check", "--no-fetch", "--zone", str(DEMO), "--fail-on", "never", "branch.example"
    )
    assert never.code == 0
    strict = run_cli(
        "check",
        "--no-fetch",
        "--zone",
        str(DEMO),
        "--fail-on",
        "never",
        "--strict",
        "branch.example",
    )
    assert strict.code == 3


def test_invalid_domain_among_many_is_skipped_exit_2() -> None:
    run = run_cli(
        "check",
        "--zone",
        str(DEMO),
        "--format",
        "json",
        "northwind.example",
        "bad..name",
        "oldshop.example",
    )
    assert run.code == 2
    doc = run.json()
    assert [d["domain"] for d in doc["domains"]] == ["northwind.example", "oldshop.example"]
    assert len(doc["input_errors"]) == 1 and "bad..name" in doc["input_errors"][0]
    assert "bad..name" in run.err and "Traceback" not in run.err


def test_domains_from_file_and_stdin(tmp_path) -> None:
    listing = tmp_path / "domains.txt"
    listing.write_text("# our domains\nnorthwind.example\n\noldshop.example  # legacy\n")
    from_file = run_cli(
        "check",
        "--no-fetch",
        "--zone",
        str(DEMO),
        "--format",
        "json",
        "--domains-file",
        str(listing),
    )
    assert [d["domain"] for d in from_file.json()["domains"]] == [
        "northwind.example",
        "oldshop.example",
    ]
    from_stdin = run_cli(
        "check",
        "--zone",
        str(DEMO),
        "--format",
        "json",
        "-",
        stdin="oldshop.example\nnorthwind.example\n",
    )
    assert [d["domain"] for d in from_stdin.json()["domains"]] == [
        "oldshop.example",
        "northwind.example",
    ]


def test_idn_domain_shown_in_both_forms(tmp_path) -> None:
    zone = tmp_path / "idn.zone"
    zone.write_text(
        "$ORIGIN xn--bcher-kva.example.\n@ 3600 IN SOA ns hm 1 2 3 4 5\n"
        '@ 3600 IN TXT "v=spf1 -all"\n'
    )
    run = run_cli("check", "--zone", str(zone), "--offline", "--format", "json", "bücher.example")
    domain = run.json()["domains"][0]
    assert domain["domain"] == "xn--bcher-kva.example"
    assert domain["domain_unicode"] == "bücher.example"
    text = run_cli("check", "--zone", str(zone), "--offline", "bücher.example")
    assert "bücher.example (xn--bcher-kva.example)" in text.out


def test_offline_outside_zones_is_unknown_not_missing() -> None:
    run = run_cli(
        "check",
        "--zone",
        str(DEMO / "northwind.example.zone"),
        "--offline",
        "--format",
        "json",
        "elsewhere.example",
    )
    domain = run.json()["domains"][0]
    assert "spf.missing" not in ids(domain)
    assert domain["spf"]["status"] == "temperror"
    assert any(f["status"] == "unknown" for f in domain["findings"])


def test_spf_tree_text() -> None:
    run = run_cli("spf", "--zone", str(DEMO), "franchise.example")
    assert run.code == 1
    assert "12/10" in run.out
    assert "include:_spf.crm.example" in run.out
    assert "spf.too-many-lookups" in run.out


def test_spf_json_without_ip() -> None:
    run = run_cli("spf", "--zone", str(DEMO), "--format", "json", "franchise.example")
    doc = run.json()
    assert doc["schema_version"] == 1
    assert doc["spf"]["lookups"] == 12
    assert doc["spf"]["void_lookups"] == 0
    assert "spf.too-many-lookups" in {f["id"] for f in doc["findings"]}


def test_spf_ip_results_and_exit_codes() -> None:
    passing = run_cli("spf", "--zone", str(DEMO), "branch.example", "--ip", "192.0.2.240")
    assert passing.code == 0, passing.out + passing.err
    assert passing.out.startswith("pass")
    failing = run_cli(
        "spf", "--zone", str(DEMO), "northwind.example", "--ip", "203.0.113.9", "--format", "json"
    )
    assert failing.code == 1
    doc = failing.json()
    assert doc["spf"]["result"] == "fail"
    assert doc["spf"]["matched_term"] == "-all"
    assert "explanation" in doc["spf"]
    temperror = run_cli("spf", "--zone", str(DEMO), "branch.example", "--ip", "192.0.2.99")
    assert temperror.code == 3
    assert temperror.out.startswith("temperror")


def test_spf_sender_domain_and_helo_identity() -> None:
    run = run_cli(
        "spf",
        "--zone",
        str(DEMO),
        "--ip",
        "198.51.100.7",
        "--sender",
        "news@northwind.example",
        "--format",
        "json",
    )
    assert run.code == 0
    assert run.json()["domain"] == "northwind.example"
    helo = run_cli(
        "spf",
        "--zone",
        str(DEMO),
        "--ip",
        "192.0.2.240",
        "--sender",
        "",
        "--helo",
        "branch.example",
        "--format",
        "json",
    )
    assert helo.json()["spf"]["sender"] == "postmaster@branch.example"
    malformed = run_cli(
        "spf",
        "--zone",
        str(DEMO),
        "--ip",
        "192.0.2.1",
        "--sender",
        "user@bad..example",
        "--format",
        "json",
    )
    assert malformed.code == 1
    assert malformed.json()["spf"]["result"] == "none"
