"""The check catalog: complete against the spec, documented, and its docs page up to date."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from dmarc_audit.catalog import CATALOG, CHECKS, CheckInfo, closest_ids, finding
from dmarc_audit.catalog.model import BULK_PROFILE_OPTION, CheckStatus
from dmarc_audit.findings import Severity, Status
from tests.cli_helpers import run_cli

ROOT = Path(__file__).resolve().parent.parent
SPEC = Path(__file__).parent / "data" / "checks.md"  # copy of ../shared/spec/checks.md
ID_RE = re.compile(r"^[a-z0-9]+\.[a-z0-9-]+$")


def spec_rows() -> dict[str, list[str]]:
    """Table rows of the spec whose first cell is a `check.id`: id -> the other cells."""
    rows = {}
    for line in SPEC.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split(" | ")]
        if line.startswith("|") and (m := re.fullmatch(r"`([^`]+)`", cells[0])):
            assert m[1] not in rows, f"{m[1]} listed twice in the spec"
            rows[m[1]] = cells[1:]
    return rows


PROJECT_AREAS = ("policy",)
"""Areas the project adds beyond the spec (policy-file rules); every other area is strict."""


def test_spec_and_catalog_list_the_same_ids() -> None:
    spec_ids = set(spec_rows())
    assert len(spec_ids) > 80
    additions = {i for i in CATALOG if i.split(".", 1)[0] in PROJECT_AREAS}
    assert not spec_ids & additions, "a project area is used by the spec"
    assert sorted(spec_ids - set(CATALOG)) == [], "in the spec, missing from the catalog"
    extra = set(CATALOG) - spec_ids - additions
    assert sorted(extra) == [], "in the catalog, missing from the spec"
    assert len(CHECKS) == len(CATALOG), "an id appears twice in CHECKS"


def test_project_additions_are_documented_like_spec_checks() -> None:
    added = [info for info in CHECKS if info.area in PROJECT_AREAS]
    assert len(added) >= 10
    for info in added:
        assert info.severity_note.startswith(info.severity.value), info.id
        assert "dmarc-audit policy file" in info.references, info.id


def test_severities_match_the_spec() -> None:
    for check_id, (_triggers, severity, *_rest) in spec_rows().items():
        info = CATALOG[check_id]
        assert info.severity_note == severity.replace("`", ""), check_id
        assert severity.startswith(info.severity.value), check_id


@pytest.mark.parametrize("check_id", sorted(CATALOG))
def test_id_format(check_id: str) -> None:
    assert ID_RE.match(check_id)


@pytest.mark.parametrize("info", CHECKS, ids=lambda info: info.id)
def test_entry_is_documented(info: CheckInfo) -> None:
    for field in ("title", "why", "fix", "triggers"):
        assert getattr(info, field).strip(), f"{info.id}: empty {field}"
    assert info.references and all(ref.strip() for ref in info.references)
    assert info.why.rstrip().endswith("."), f"{info.id}: why should be full sentences"
    assert info.bulk_severity is None or isinstance(info.bulk_severity, Severity)


@pytest.mark.parametrize(
    ("typo", "expected"),
    [
        ("spf.too-many-lookup", "spf.too-many-lookups"),
        ("pass-all", "spf.pass-all"),
        ("too-many-lookups", "spf.too-many-lookups"),
        ("dmarc.policy-non", "dmarc.policy-none"),
        ("dkim.rsa1024", "dkim.rsa-1024"),
        ("mta-sts.missing", "mtasts.missing"),
        (" SPF.Pass-All ", "spf.pass-all"),
    ],
)
def test_closest_ids_suggests_the_intended_id(typo: str, expected: str) -> None:
    assert closest_ids(typo)[0] == expected


def test_closest_ids_for_nonsense_is_empty() -> None:
    assert closest_ids("xyz") == []


def test_finding_rejects_unknown_id() -> None:
    with pytest.raises(KeyError):
        finding("spf.too-many-lookup", "example.com", "typo in a check")


def test_finding_takes_defaults_from_the_catalog() -> None:
    info = CATALOG["spf.too-many-lookups"]
    f = finding("spf.too-many-lookups", "example.com", "12 lookups", evidence=["a", "b"])
    assert (f.id, f.subject, f.message) == (info.id, "example.com", "12 lookups")
    assert f.severity is info.severity
    assert f.remediation == info.fix
    assert f.references == info.references
    assert f.status is Status.FAIL
    assert f.evidence == ("a", "b")


def test_finding_overrides() -> None:
    f = finding(
        "spf.missing",
        "example.com",
        "no SPF",
        severity=Severity.ERROR,
        status=Status.UNKNOWN,
        remediation="",
    )
    assert f.severity is Severity.ERROR
    assert f.status is Status.UNKNOWN
    assert f.remediation == ""
    assert f.references == CATALOG["spf.missing"].references


def test_docs_page_is_up_to_date(tmp_path: Path) -> None:
    out = tmp_path / "checks.md"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "gen_checks_doc.py"), str(out)],
        check=True,
        cwd=tmp_path,
        env=env,
        timeout=60,
    )
    committed = (ROOT / "docs" / "checks.md").read_text(encoding="utf-8")
    assert committed == out.read_text(encoding="utf-8"), (
        "docs/checks.md is stale: run python scripts/gen_checks_doc.py"
    )
    for info in CHECKS:
        assert f"### `{info.id}`" in committed


def test_severity_note_is_derived_from_the_severities() -> None:
    spf_missing, no_key = CATALOG["spf.missing"], CATALOG["dkim.no-key-found"]
    assert spf_missing.severity_note == "warning (error with --profile bulk-sender)"
    assert no_key.severity_note == "info (warning with --profile bulk-sender)"
    assert CATALOG["spf.void-lookups"].severity_note == "error (>2) / warning (1–2)"
    assert CATALOG["spf.type99"].severity_note == "info / error"
    assert CATALOG["dmarc.missing"].severity_note == "error (warning for non-sending domains)"
    for info in CHECKS:
        assert info.severity_note.startswith(info.severity.value), info.id
        assert "--bulk-sender" not in info.severity_note.replace(BULK_PROFILE_OPTION, ""), info.id
        if info.bulk_severity not in (None, info.severity):
            assert BULK_PROFILE_OPTION in info.severity_note, info.id


def test_the_bulk_profile_option_exists() -> None:
    from dmarc_audit.cli.common import ProfileChoice

    option, value = BULK_PROFILE_OPTION.split()
    assert option == "--profile"
    assert value in {choice.value for choice in ProfileChoice}


def _code_outside_the_catalog() -> str:
    package = ROOT / "dmarc_audit"
    return "\n".join(
        path.read_text(encoding="utf-8")
        for path in sorted(package.rglob("*.py"))
        if package / "catalog" not in path.parents
    )


def test_planned_ids_are_not_emitted_by_any_code() -> None:
    planned = [info.id for info in CHECKS if info.status is CheckStatus.PLANNED]
    code = _code_outside_the_catalog()
    for check_id in planned:
        assert f'"{check_id}"' not in code, f"{check_id} is emitted: mark it active"


@pytest.mark.parametrize("info", [i for i in CHECKS if i.planned], ids=lambda info: info.id)
def test_explain_says_a_planned_id_is_not_checked_yet(info: CheckInfo) -> None:
    run = run_cli("explain", info.id)
    assert run.code == 0
    assert "not checked yet" in run.out.splitlines()[1]


def test_explain_does_not_flag_an_active_id() -> None:
    run = run_cli("explain", "spf.missing")
    assert run.code == 0
    assert "not checked yet" not in run.out
    assert "severity: warning (error with --profile bulk-sender)" in run.out


def test_docs_page_says_which_ids_are_not_checked_yet() -> None:
    committed = (ROOT / "docs" / "checks.md").read_text(encoding="utf-8")
    for info in CHECKS:
        section = committed.split(f"### `{info.id}`\n", 1)[1]
        section = re.split(r"\n##+ ", section, maxsplit=1)[0]
        assert ("not checked yet" in section) is info.planned, info.id
