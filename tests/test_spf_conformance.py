"""The OpenSPF RFC 7208 test suite (tests/conformance/spf/rfc7208-tests.yml), every case.

Each scenario's ``zonedata`` is the only DNS there is while its tests run. The
suite's ``DEFAULT`` explanation means "the built-in default", so the harness sets
the default explanation to the literal ``DEFAULT``.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
import yaml

from dmarc_audit.dns.local import LocalRouter
from dmarc_audit.dns.yamlzone import YamlZoneSource
from dmarc_audit.spf.evaluate import SpfResultCode, evaluate_identity

SUITE = Path(__file__).parent / "conformance" / "spf" / "rfc7208-tests.yml"
EXPECTED_CASES = 203


def _load_cases() -> list[Any]:
    scenarios = [doc for doc in yaml.safe_load_all(SUITE.read_text(encoding="utf-8")) if doc]
    cases = []
    for index, scenario in enumerate(scenarios):
        for test_id, test in scenario["tests"].items():
            cases.append(pytest.param(scenario, test, id=f"{index}-{test_id}"))
    return cases


CASES = _load_cases()


def test_suite_case_count() -> None:
    """A broken loader must not pass by collecting nothing."""
    assert len(CASES) == EXPECTED_CASES
    assert len({case.id for case in CASES}) == EXPECTED_CASES


@pytest.mark.parametrize(("scenario", "test"), CASES)
def test_rfc7208_case(scenario: dict[str, Any], test: dict[str, Any]) -> None:
    resolver = LocalRouter([YamlZoneSource(scenario["zonedata"])], closed_world=True)
    result = asyncio.run(
        evaluate_identity(
            resolver,
            str(test["host"]),
            mail_from=test["mailfrom"],
            helo=test["helo"],
            default_explanation="DEFAULT",
        )
    )
    expected = test["result"] if isinstance(test["result"], list) else [test["result"]]
    accepted = {SpfResultCode(value) for value in expected}
    trace = "\n".join(result.steps)
    assert result.result in accepted, f"{result.reason}\n{trace}"
    if "explanation" in test:
        assert result.explanation == test["explanation"], trace
