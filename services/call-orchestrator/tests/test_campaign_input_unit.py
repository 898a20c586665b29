"""Reading a campaign's rows: CSV and JSON rows checked one by one, and a file over the row limit
refused after reading just past the limit."""

from __future__ import annotations

import io

import pytest

from call_orchestrator.campaign_input import (
    BadFile,
    RowCheck,
    TooManyRows,
    check_rows,
    csv_header,
    csv_rows,
    ensure_row_limit,
    json_rows,
    metadata_columns,
)

pytestmark = pytest.mark.unit


def _check_csv(text: str | bytes, max_rows: int = 100) -> tuple[list[str], RowCheck]:
    data = text.encode() if isinstance(text, str) else text
    header, lines = csv_header(io.BytesIO(data))
    return header, check_rows(csv_rows(header, lines), max_rows)


def test_a_file_over_the_row_limit_is_refused_after_reading_just_past_it() -> None:
    content = b"to_number\n" + b"".join(b"+1%d\n" % (2025550000 + i) for i in range(1_000_000))
    file = io.BytesIO(content)
    header, lines = csv_header(file)

    with pytest.raises(TooManyRows, match="at most 1000 rows"):
        check_rows(csv_rows(header, lines), 1000)

    assert file.tell() < len(content) // 100  # the reader stopped near line 1,001 of 1,000,001


def test_the_row_count_alone_refuses_a_file_over_the_limit_and_rewinds_one_within_it() -> None:
    over = io.BytesIO(b"to_number\n" + b"+12025550123\n" * 1_000_000)
    within = io.BytesIO(b"to_number\n\n+12025550123\n+12025550124\n")

    with pytest.raises(TooManyRows):
        ensure_row_limit(over, 1000)
    ensure_row_limit(within, 2)

    assert over.tell() == 0 and within.tell() == 0
    with pytest.raises(TooManyRows):
        ensure_row_limit(within, 1)


def test_csv_lines_count_from_the_header_with_quoted_newlines_and_a_bom() -> None:
    text = '\ufeffto_number,note\n+12025550123,"two\nlines"\n+12025550124,plain\n'
    header, check = _check_csv(text)
    assert header == ["to_number", "note"]
    assert [(r.line, r.metadata) for r in check.accepted] == [
        (3, {"note": "two\nlines"}),
        (4, {"note": "plain"}),
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (b"", "header row naming to_number is required"),
        (b"phone\n+12025550123\n", "no to_number column"),
        (b"to_number\n\xff\xfe\n", "not a UTF-8 CSV"),
        (b"to_number,a\x00b\n+12025550123,x\n", "NUL character"),
    ],
)
def test_a_file_this_route_cannot_read_is_refused_saying_why(text: bytes, message: str) -> None:
    with pytest.raises(BadFile, match=message):
        _check_csv(text)


def test_json_rows_are_checked_by_their_1_based_index() -> None:
    check = check_rows(
        json_rows(
            [
                {"to_number": "+12025550123", "metadata": {"a": 1}},
                {"to_number": "+12025550123"},
                {"to_number": "+12025550124", "metadata": {"text": "nul\x00"}},
                {"to_number": "+12025550125", "metadata": {"big": "x" * 5000}},
                {"to_number": 12025550126},
            ]
        ),
        10,
    )
    assert [r.line for r in check.accepted] == [1]
    assert [(r.line, r.reason) for r in check.rejected] == [
        (2, "duplicate of line 1"),
        (3, "metadata holds a NUL or unpaired surrogate"),
        (4, "metadata is larger than 4096 bytes"),
        (5, "invalid number: Phone number is required"),
    ]


def test_rejected_rows_are_listed_up_to_a_thousand_and_all_counted() -> None:
    check = check_rows(json_rows([{"to_number": "nope"}] * 1500), 2000)
    assert (len(check.rejected), check.rejected_count) == (1000, 1500)


def test_do_not_call_numbers_are_rejected_in_line_order() -> None:
    check = check_rows(json_rows([{"to_number": "bad"}, {"to_number": "+12025550123"}]), 10)
    check.drop_blocked({"+12025550123"})
    assert [(r.line, r.reason[:10]) for r in check.rejected] == [
        (1, "invalid nu"),
        (2, "on the do-"),
    ]
    assert check.accepted == []


def test_results_columns_are_the_csvs_extra_columns_or_the_metadata_keys() -> None:
    check = check_rows(json_rows([{"to_number": "+12025550123", "metadata": {"b": 1, "a": 2}}]), 5)
    assert metadata_columns(["to_number", "time_zone", "first", "metadata"], []) == ("first",)
    assert metadata_columns(None, check.accepted) == ("b", "a")
