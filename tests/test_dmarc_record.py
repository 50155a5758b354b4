"""DMARC record parser: details the conformance table does not pin down."""

from __future__ import annotations

import pytest

from dmarc_audit.records.dmarc import (
    Alignment,
    DmarcMode,
    EffectivePolicy,
    Policy,
    ReportUri,
    TagMap,
    looks_like_dmarc,
    parse_dmarc,
)

R7489, R9989 = DmarcMode.RFC7489, DmarcMode.RFC9989


def ids(record) -> list[str]:
    return [p.check_id for p in record.problems]


def test_default_mode_is_rfc9989() -> None:
    record = parse_dmarc("v=DMARC1; p=reject; t=y")
    assert record.mode is R9989
    assert record.effective is not None and record.effective.t == "y"
    assert R9989.label == "RFC 9989" and R7489.label == "RFC 7489"


def test_tags_are_an_immutable_hashable_mapping_in_record_order() -> None:
    record = parse_dmarc("v=DMARC1; p=reject; rua=mailto:a@example.com; adkim=s")
    assert list(record.tags) == ["v", "p", "rua", "adkim"]
    assert record.tags["p"] is Policy.REJECT and record.tags["adkim"] is Alignment.STRICT
    assert record.tag("sp") is None and record.tag("sp", "x") == "x"
    assert record.rua == (ReportUri("mailto:a@example.com"),)
    assert isinstance(record.tags, TagMap) and dict(record.tags)["v"] == "DMARC1"
    assert hash(record) == hash(parse_dmarc(record.text))
    with pytest.raises(KeyError):
        record.tags["np"]
    with pytest.raises(TypeError):
        record.tags["p"] = Policy.NONE  # type: ignore[index]


def test_problems_carry_offsets_into_the_record() -> None:
    text = "v=DMARC1; p=bogus; rua=mailto:a@example.com"
    (problem,) = parse_dmarc(text).problems
    assert problem.check_id == "dmarc.p-invalid" and problem.tag == "p"
    assert text[problem.offset :].startswith("p=bogus")


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "empty"),
        ("v=DMARC1, p=reject", "';' must separate"),
        ("v=DMARC1 p=reject", "';' must separate"),
        ("v=dmarc1; p=reject", "case-sensitive"),
        ("p=reject; v=DMARC1", "first tag"),
        (" v=DMARC1; p=reject", "whitespace"),
        ("v=spf1 -all", "SPF record"),
        ("rua=mailto:d@example.com", "does not start"),
        (";v=DMARC1; p=reject", "does not start"),
    ],
)
def test_version_errors_say_what_is_wrong(text: str, fragment: str) -> None:
    for mode in DmarcMode:
        record = parse_dmarc(text, mode)
        assert not record.valid and not record.version_ok and record.effective is None
        assert not record.abnf_conformant
        assert ids(record) == ["dmarc.version-invalid"]
        assert fragment in record.problems[0].message


def test_missing_semicolon_is_explained() -> None:
    record = parse_dmarc("v=DMARC1; p=reject rua=mailto:d@example.com")
    assert not record.valid
    assert "';' is missing" in record.problems[0].message


def test_looks_like_dmarc_matches_the_version_check() -> None:
    for text in ("v=DMARC1", "v=DMARC1;", "V = DMARC1 ; p=none", "v=DMARC1;p=reject"):
        assert looks_like_dmarc(text) and parse_dmarc(text).version_ok
    for text in (" v=DMARC1", "v=DMARC1 p=none", "v=dmarc1", "v=DMARC10", "x=1"):
        assert not looks_like_dmarc(text) and not parse_dmarc(text).version_ok


def test_invalid_p_with_valid_sp_overrides_sp_too() -> None:
    """§6.6.3 / §4.10.1: act as if p=none was retrieved; the stated sp no longer applies."""
    record = parse_dmarc("v=DMARC1; p=rejct; sp=reject; rua=mailto:d@example.com")
    assert record.valid and record.effective is not None
    assert (record.effective.p, record.effective.sp, record.effective.np) == (Policy.NONE,) * 3
    assert dict(record.ignored) == {
        "p": "invalid value",
        "sp": "overridden: p is invalid, which triggers the p=none fallback",
    }
    assert "sp" not in record.tags and record.fallback and "p=none" in record.fallback


def test_invalid_np_depends_on_the_spec() -> None:
    text = "v=DMARC1; p=reject; np=bogus; rua=mailto:d@example.com"
    old, new = parse_dmarc(text, R7489), parse_dmarc(text, R9989)
    assert old.effective is not None and old.effective.p is Policy.REJECT  # np is unknown there
    assert ids(old) == []
    assert new.effective is not None and new.effective.p is Policy.NONE  # fallback
    assert ids(new) == ["dmarc.subdomain-policy-invalid"]


def test_missing_p_under_each_spec() -> None:
    assert parse_dmarc("v=DMARC1; sp=reject", R9989).effective == EffectivePolicy(
        p=Policy.NONE,
        sp=Policy.REJECT,
        adkim=Alignment.RELAXED,
        aspf=Alignment.RELAXED,
        np=Policy.REJECT,
        t="n",
        psd="u",
    )
    assert not parse_dmarc("v=DMARC1; sp=reject", R7489).valid


def test_only_the_first_occurrence_of_a_duplicate_is_parsed() -> None:
    record = parse_dmarc("v=DMARC1; p=bogus; p=reject")
    assert "p" not in record.tags and dict(record.ignored) == {"p": "invalid value"}


def test_duplicate_tags_invalidate_the_record_but_keep_the_partial_parse() -> None:
    record = parse_dmarc("v=DMARC1; p=reject; P=none; foo=1; foo=2")
    assert not record.valid and record.effective is None and record.version_ok
    assert record.tags["p"] is Policy.REJECT  # the first occurrence is shown
    assert ids(record).count("dmarc.duplicate-tag") == 2
    assert record.fallback and "more than once" in record.fallback


def test_removed_tags_and_size_suffix() -> None:
    text = "v=DMARC1; p=none; rua=mailto:d@example.com!10M; ri=3600; rf=afrf"
    old, new = parse_dmarc(text, R7489), parse_dmarc(text, R9989)
    assert old.rua == (ReportUri("mailto:d@example.com", "10m"),)
    assert old.tags["ri"] == 3600 and old.tags["rf"] == "afrf"
    assert str(old.rua[0]) == "mailto:d@example.com!10m"
    assert new.rua == (ReportUri("mailto:d@example.com"),)
    assert sorted(p.tag for p in new.problems if p.check_id == "dmarc.removed-tag") == [
        "rf",
        "ri",
        "rua",
    ]
    assert not old.has_problem("dmarc.removed-tag")


def test_fo_grammar_differs_between_specs() -> None:
    base = "v=DMARC1; p=none; ruf=mailto:f@example.com; fo="
    assert parse_dmarc(base + "1 : d", R7489).tags["fo"] == "1:d"
    assert parse_dmarc(base + "1:1", R7489).tags["fo"] == "1:1"
    assert "fo" not in parse_dmarc(base + "1:1", R9989).tags
    record = parse_dmarc(base + "0:1", R9989)
    assert record.effective is not None and record.effective.fo == "0"
    assert record.has_problem("dmarc.fo-invalid")
    without_ruf = parse_dmarc("v=DMARC1; p=none; fo=1")
    assert without_ruf.effective is not None and without_ruf.effective.fo is None


def test_report_uris() -> None:
    record = parse_dmarc(
        "v=DMARC1; p=none; rua=mailto:a@example.com, https://r.example/x,"
        " mailto:has space@example.com; ruf=mailto:f@example.com"
    )
    assert [u.scheme for u in record.rua] == ["mailto", "https"]
    assert record.ruf == (ReportUri("mailto:f@example.com"),)
    assert "rua[2]" in dict(record.ignored)
    assert record.effective is not None and record.effective.fo == "0"


def test_lenient_forms_are_flagged_once_each() -> None:
    record = parse_dmarc("V=DMARC1;; P=REJECT; rua=mailto:d@example.com ")
    assert record.valid and not record.abnf_conformant
    lenient = [p.message for p in record.problems if p.check_id == "dmarc.syntax-lenient"]
    assert len(lenient) == 5  # V, ';;', P, REJECT, trailing space
    assert not parse_dmarc("v = DMARC1 ; p = reject ;").problems


def test_p_position_only_matters_under_rfc7489() -> None:
    text = "v=DMARC1; sp=none; p=reject"
    assert not parse_dmarc(text, R7489).abnf_conformant
    assert parse_dmarc(text, R9989).abnf_conformant
    assert parse_dmarc(text, R7489).effective == parse_dmarc(text, R7489).effective


def test_policy_steps() -> None:
    assert Policy.NONE.step_up() is Policy.QUARANTINE
    assert Policy.REJECT.step_up() is Policy.REJECT
    assert Policy.REJECT.step_down() is Policy.QUARANTINE
    assert Policy.NONE.step_down() is Policy.NONE


def test_effective_as_dict_uses_plain_values() -> None:
    effective = parse_dmarc("v=DMARC1; p=quarantine; pct=20", R7489).effective
    assert effective is not None
    assert effective.as_dict() == {
        "p": "quarantine",
        "sp": "quarantine",
        "adkim": "r",
        "aspf": "r",
        "pct": 20,
    }


def test_non_ascii_and_control_characters_are_not_values() -> None:
    record = parse_dmarc("v=DMARC1; p=r\u00e9ject; rua=mailto:d@example.com\n")
    assert record.has_problem("dmarc.p-invalid")
    assert record.has_problem("dmarc.rua-invalid-uri")
