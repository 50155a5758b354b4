"""DKIM key-record conformance: every case in tests/conformance/dkim/key-records.yaml.

The file is the project's copy of the shared vectors (two documented corrections,
see its header). Each case is checked for validity, usability for e-mail, key type,
key size and the exact set of check ids an auditor raises.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from dmarc_audit.catalog import CATALOG
from dmarc_audit.records.dkim_key import parse_dkim_key

HERE = Path(__file__).parent / "conformance" / "dkim"
EXPECTED_CASES = 43
FIELDS = ("id", "txt", "valid", "usable_for_email", "key_type", "key_bits", "warnings")


def _load() -> list[dict]:
    cases = yaml.safe_load((HERE / "key-records.yaml").read_text(encoding="utf-8"))
    assert isinstance(cases, list)
    return cases


CASES = _load()


def _text(case: dict) -> str:
    txt = case["txt"]
    return "".join(txt) if isinstance(txt, list) else txt


def test_case_count_is_exact() -> None:
    assert len(CASES) == EXPECTED_CASES


def test_cases_are_well_formed() -> None:
    ids = [case["id"] for case in CASES]
    assert len(set(ids)) == len(ids)
    for case in CASES:
        missing = [f for f in FIELDS if f not in case]
        assert not missing, f"{case.get('id')}: missing {missing}"
        assert case["key_type"] in (None, "rsa", "ed25519")
        for check_id in case["warnings"]:
            assert check_id in CATALOG, f"{case['id']}: {check_id} is not a catalog id"


@pytest.mark.parametrize("case", [c for c in CASES if c.get("source")], ids=lambda c: c["id"])
def test_source_files_are_the_records(case: dict) -> None:
    path = HERE / case["source"]
    assert path.read_text(encoding="latin-1").strip() == _text(case)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c["id"])
def test_key_record(case: dict) -> None:
    key = parse_dkim_key(_text(case))
    assert key.valid is case["valid"]
    assert key.usable_for_email is case["usable_for_email"]
    assert key.key_type == case["key_type"]
    assert key.key_bits == case["key_bits"]
    assert len(key.warnings) == len(set(key.warnings))
    assert sorted(key.warnings) == sorted(case["warnings"])
    assert key.text == _text(case)
    assert {p.check_id for p in key.problems} == set(key.warnings)
