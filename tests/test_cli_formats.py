"""`check --format` reaches every renderer, end to end."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import jsonschema
import pytest

from tests.cli_helpers import DEMO, run_cli

SCHEMA = Path(__file__).parent / "data" / "sarif-schema-2.1.0.json"


def test_cli_choices_mirror_the_renderer_registry() -> None:
    import typer

    from dmarc_audit.cli.app import app
    from dmarc_audit.output.formats import RenderFormat
    from dmarc_audit.output.render import RENDERERS

    check = typer.main.get_command(app).commands["check"]  # type: ignore[attr-defined]
    option = next(p for p in check.params if p.name == "output_format")
    assert list(option.type.choices) == [f.value for f in RenderFormat]
    assert set(RENDERERS) == set(RenderFormat)


def test_sarif_from_cli_validates_and_points_at_zone_lines() -> None:
    run = run_cli(
        "check", "--zone", str(DEMO), "--format", "sarif", "oldshop.example", "franchise.example"
    )
    assert run.code == 1
    doc = json.loads(run.out)
    jsonschema.validate(doc, json.loads(SCHEMA.read_text()))
    results = doc["runs"][0]["results"]
    pass_all = next(r for r in results if r["ruleId"] == "spf.pass-all")
    location = pass_all["locations"][0]["physicalLocation"]
    assert location["artifactLocation"]["uri"].endswith("oldshop.example.zone")
    line = location["region"]["startLine"]
    text = (DEMO / "oldshop.example.zone").read_text().splitlines()[line - 1]
    assert "+all" in text


@pytest.mark.parametrize("fmt", ["junit", "github", "markdown", "csv"])
def test_ci_formats_exit_like_text(fmt: str) -> None:
    run = run_cli("check", "--zone", str(DEMO), "--format", fmt, "oldshop.example")
    assert run.code == 1
    assert "spf.pass-all" in run.out
    assert "DNS queries" in run.err  # the summary stays on stderr


def test_csv_rows_are_findings() -> None:
    run = run_cli("check", "--zone", str(DEMO), "--format", "csv", "oldshop.example")
    rows = list(csv.DictReader(io.StringIO(run.out)))
    assert {r["id"] for r in rows} >= {"spf.pass-all", "dmarc.policy-none"}
    assert all(r["domain"] == "oldshop.example" for r in rows)
