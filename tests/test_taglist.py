"""The shared tag-list splitter: specs, offsets and the two shape problems."""

from __future__ import annotations

from dmarc_audit.records.taglist import FWS, Tag, TagListIssue, TagListProblem, split_tags


def test_tags_keep_name_case_value_and_offset() -> None:
    split = split_tags("v=DMARC1; P = reject;rua=mailto:a@b.example")
    assert split.tags == (
        Tag("v", "DMARC1", 0, "v=DMARC1", False),
        Tag("P", "reject", 10, "P = reject", True),
        Tag("rua", "mailto:a@b.example", 21, "rua=mailto:a@b.example", False),
    )
    assert split.problems == ()
    assert not split.trailing_space


def test_only_the_first_equals_splits() -> None:
    (tag,) = split_tags("rua=mailto:a@b.example?x=1").tags
    assert (tag.name, tag.value) == ("rua", "mailto:a@b.example?x=1")


def test_empty_specs_and_specs_without_equals_are_problems_in_place() -> None:
    split = split_tags("v=1;; x ; ;a=b;")
    assert split.problems == (
        TagListProblem(TagListIssue.EMPTY, 4),
        TagListProblem(TagListIssue.NO_EQUALS, 6, "x"),
        TagListProblem(TagListIssue.EMPTY, 10),
    )
    assert [type(item).__name__ for item in split.in_order()] == [
        "Tag",
        "TagListProblem",
        "TagListProblem",
        "TagListProblem",
        "Tag",
    ]


def test_one_final_separator_is_allowed_and_blank_text_splits_to_nothing() -> None:
    assert split_tags("a=b; ").problems == ()
    assert split_tags("").blank
    assert split_tags(" \t").blank
    assert not split_tags(";").blank


def test_trailing_space_after_the_last_value() -> None:
    assert split_tags("a=b ").trailing_space
    assert not split_tags("a=b; ").trailing_space
    assert not split_tags("a=b").trailing_space


def test_start_offsets_count_from_the_whole_text() -> None:
    split = split_tags("v=STSv1; id=abc", start=8)
    assert split.tags == (Tag("id", "abc", 9, "id=abc", False),)


def test_dkim_whitespace_includes_line_breaks() -> None:
    split = split_tags("v=DKIM1;\r\n p=abc", wsp=FWS)
    assert [(t.name, t.value, t.offset) for t in split.tags] == [
        ("v", "DKIM1", 0),
        ("p", "abc", 11),
    ]
    assert split_tags("v=DKIM1;\r\n p=abc").tags[1].name == "\r\n p"
