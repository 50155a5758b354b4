"""The CI gate points at the zone-file line that defines the broken record."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli_helpers import ROOT, run_cli

SAMPLE = ROOT / "fixtures" / "ci-sample"


@pytest.mark.parametrize(
    ("change", "rule", "line_text"),
    [
        ("over-budget", "policy.spf-over-budget", "v=spf1"),
        ("drop-reject", "policy.dmarc-too-weak", "_dmarc"),
        ("broken-dkim", "dkim.key-invalid", "s2._domainkey"),
    ],
)
def test_sarif_locates_the_record(change: str, rule: str, line_text: str) -> None:
    zone = SAMPLE / "changes" / f"shop.example.{change}.zone"
    run = run_cli(
        "check",
        "--config",
        str(SAMPLE / "dmarc-audit.yaml"),
        "--zone",
        str(zone),
        "--format",
        "sarif",
        "shop.example",
    )
    assert run.code == 1
    results = json.loads(run.out)["runs"][0]["results"]
    result = next(r for r in results if r["ruleId"] == rule)
    location = result["locations"][0]["physicalLocation"]
    assert Path(location["artifactLocation"]["uri"]).name == zone.name
    line = zone.read_text().splitlines()[location["region"]["startLine"] - 1]
    assert line_text in line
