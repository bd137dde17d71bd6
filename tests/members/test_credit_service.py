"""The bureau file: parse, preview, apply — every bad row reported by its line, nothing half-imported."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date
from unittest import mock

import pytest
from django.utils import translation

from members.errors import CreditImportInvalid, InvalidTransition
from members.identity import hash_id_number
from members.models import CreditImport, CreditRecord, User
from members.services import credit_file_parse, credit_import_apply, credit_import_preview, credit_import_rows

HEADER = "id_number,score,dishonest_debtor\n"


@pytest.fixture(autouse=True)
def _in_english() -> Iterator[None]:
    """Messages are matched in English; the site's default language is Chinese."""
    with translation.override("en"):
        yield


@pytest.fixture
def ids(make_id: Callable[..., str]) -> list[str]:
    return [make_id(date(1980 + i, 3, 9), serial=i + 1) for i in range(4)]


def csv_of(*lines: str) -> bytes:
    return (HEADER + "".join(f"{line}\n" for line in lines)).encode()


def errors_of(content: bytes) -> list[str]:
    with pytest.raises(CreditImportInvalid) as caught:
        credit_file_parse(content=content)
    return [str(e) for e in caught.value.errors]


def import_file(content: bytes, by: User) -> int:
    credit_import, _rows = credit_import_preview(file_name="bureau.csv", content=content, by=by)
    return credit_import_apply(credit_import=credit_import, by=by)


def record_of(number: str) -> CreditRecord:
    return CreditRecord.objects.get(id_number_hash=hash_id_number(number))


# --- parsing ---------------------------------------------------------------------------------------


def test_it_parses_a_good_file(ids: list[str]) -> None:
    rows = credit_file_parse(content=csv_of(f"{ids[0]},700,no", f"{ids[1]},640,yes"))
    assert [(r.line, r.id_number, r.score, r.dishonest_debtor) for r in rows] == [
        (2, ids[0], 700, False),
        (3, ids[1], 640, True),
    ]


def test_it_accepts_a_byte_order_mark_and_a_spaced_header(ids: list[str]) -> None:
    content = "\ufeff id_number , Score ,dishonest_debtor\n".encode() + f"{ids[0]},700,0\n".encode()
    assert len(credit_file_parse(content=content)) == 1


def test_it_reads_the_dishonest_debtor_flag_in_chinese(ids: list[str]) -> None:
    rows = credit_file_parse(content=csv_of(f"{ids[0]},700,是", f"{ids[1]},700,否"))
    assert [r.dishonest_debtor for r in rows] == [True, False]


def test_it_normalises_a_lower_case_x(ids: list[str], make_id: Callable[..., str]) -> None:
    number = next(n for n in (make_id(date(1990, 1, 1), serial=s) for s in range(100)) if n.endswith("X"))
    assert credit_file_parse(content=csv_of(f"{number.lower()},700,no"))[0].id_number == number


def test_it_reports_every_bad_row_with_its_line_number(ids: list[str]) -> None:
    errors = errors_of(
        csv_of(
            f"{ids[0]},700,no",
            f"{ids[1][:-1]}0,700,no" if not ids[1].endswith("0") else f"{ids[1][:-1]}1,700,no",
            f"{ids[2]},seven hundred,no",
            f"{ids[3]},700,maybe",
        )
    )
    assert [e.split(":")[0] for e in errors] == ["Line 3", "Line 4", "Line 5"]
    assert "check digit" in errors[0]
    assert "score" in errors[1]
    assert "dishonest_debtor" in errors[2]


def test_it_counts_blank_lines_in_the_line_numbers(ids: list[str]) -> None:
    errors = errors_of(csv_of(f"{ids[0]},700,no", "", f"{ids[1]},-5,no"))
    assert errors[0].startswith("Line 4:")


def test_it_reports_all_problems_of_one_row_together(ids: list[str]) -> None:
    errors = errors_of(csv_of("12345,abc,maybe"))
    assert len(errors) == 1
    assert "18 characters" in errors[0]
    assert "score" in errors[0]
    assert "dishonest_debtor" in errors[0]


def test_it_refuses_a_score_above_1000(ids: list[str]) -> None:
    assert errors_of(csv_of(f"{ids[0]},1001,no"))[0].startswith("Line 2:")


def test_it_refuses_a_score_in_unusual_digits(ids: list[str]) -> None:
    assert "score" in errors_of(csv_of(f"{ids[0]},²,no"))[0]


def test_it_refuses_the_same_number_twice_in_a_file(ids: list[str]) -> None:
    errors = errors_of(csv_of(f"{ids[0]},700,no", f"{ids[0]},710,no"))
    assert errors == [errors[0]]
    assert errors[0].startswith("Line 3:")
    assert "line 2" in errors[0]


def test_it_refuses_a_row_with_too_few_columns(ids: list[str]) -> None:
    assert errors_of(csv_of(f"{ids[0]},700"))[0] == "Line 2: expected 3 columns."


def test_it_refuses_a_row_with_too_many_columns(ids: list[str]) -> None:
    assert errors_of(csv_of(f"{ids[0]},700,no,extra"))[0] == "Line 2: expected 3 columns."


def test_it_refuses_a_file_without_the_header(ids: list[str]) -> None:
    assert "header" in errors_of(f"{ids[0]},700,no\n".encode())[0]


def test_it_refuses_a_file_with_only_the_header() -> None:
    assert "no rows" in errors_of(HEADER.encode())[0]


def test_it_refuses_a_file_that_is_not_utf8(ids: list[str]) -> None:
    assert "UTF-8" in errors_of((HEADER + f"{ids[0]},700,是\n").encode("gbk"))[0]


# --- preview and apply -----------------------------------------------------------------------------


def test_it_applies_nothing_at_preview(ids: list[str], admin_user: User) -> None:
    credit_import, rows = credit_import_preview(file_name="b.csv", content=csv_of(f"{ids[0]},700,no"), by=admin_user)
    assert (credit_import.status, credit_import.row_count, len(rows)) == (CreditImport.Status.PREVIEWED, 1, 1)
    assert CreditRecord.objects.count() == 0


def test_it_keeps_the_previewed_rows_encrypted(ids: list[str], admin_user: User) -> None:
    credit_import, _rows = credit_import_preview(file_name="b.csv", content=csv_of(f"{ids[0]},700,no"), by=admin_user)
    assert ids[0] not in credit_import.payload_encrypted
    assert [r.id_number for r in credit_import_rows(credit_import=credit_import)] == [ids[0]]


def test_it_keeps_nothing_of_a_file_with_errors(ids: list[str], admin_user: User) -> None:
    with pytest.raises(CreditImportInvalid):
        credit_import_preview(file_name="b.csv", content=csv_of(f"{ids[0]},700,no", "bad,row,here"), by=admin_user)
    assert (CreditImport.objects.count(), CreditRecord.objects.count()) == (0, 0)


def test_it_applies_a_good_file(ids: list[str], admin_user: User) -> None:
    assert import_file(csv_of(f"{ids[0]},700,no", f"{ids[1]},640,yes"), admin_user) == 2
    first, second = record_of(ids[0]), record_of(ids[1])
    assert (first.score, first.dishonest_debtor, second.score, second.dishonest_debtor) == (700, False, 640, True)


def test_it_stores_only_the_hash_and_the_mask(ids: list[str], admin_user: User) -> None:
    import_file(csv_of(f"{ids[0]},700,no"), admin_user)
    record = record_of(ids[0])
    assert record.id_number_masked == f"{ids[0][:6]}********{ids[0][-4:]}"
    assert ids[0] not in (record.id_number_hash, record.id_number_masked)


def test_it_marks_the_import_applied_and_drops_its_rows(ids: list[str], admin_user: User) -> None:
    credit_import, _rows = credit_import_preview(file_name="b.csv", content=csv_of(f"{ids[0]},700,no"), by=admin_user)
    credit_import_apply(credit_import=credit_import, by=admin_user)
    credit_import.refresh_from_db()
    assert credit_import.status == CreditImport.Status.APPLIED
    assert credit_import.applied_at is not None
    assert credit_import_rows(credit_import=credit_import) == []


def test_it_updates_a_record_on_reimport(ids: list[str], admin_user: User) -> None:
    import_file(csv_of(f"{ids[0]},700,no"), admin_user)
    import_file(csv_of(f"{ids[0]},600,yes"), admin_user)
    record = record_of(ids[0])
    assert (record.score, record.dishonest_debtor, CreditRecord.objects.count()) == (600, True, 1)


def test_it_links_a_reimported_record_to_the_newer_import(ids: list[str], admin_user: User) -> None:
    import_file(csv_of(f"{ids[0]},700,no"), admin_user)
    import_file(csv_of(f"{ids[0]},600,no"), admin_user)
    assert record_of(ids[0]).credit_import == CreditImport.objects.latest("pk")


def test_it_refuses_to_apply_a_file_twice(ids: list[str], admin_user: User) -> None:
    credit_import, _rows = credit_import_preview(file_name="b.csv", content=csv_of(f"{ids[0]},700,no"), by=admin_user)
    credit_import_apply(credit_import=credit_import, by=admin_user)
    with pytest.raises(InvalidTransition):
        credit_import_apply(credit_import=credit_import, by=admin_user)


def test_it_imports_nothing_when_the_apply_fails_half_way(ids: list[str], admin_user: User) -> None:
    credit_import, _rows = credit_import_preview(
        file_name="b.csv", content=csv_of(*(f"{n},700,no" for n in ids)), by=admin_user
    )
    # The records are written, then marking the import applied fails: all of it must roll back.
    with (
        mock.patch.object(CreditImport, "save", side_effect=RuntimeError("disk full")),
        pytest.raises(RuntimeError),
    ):
        credit_import_apply(credit_import=credit_import, by=admin_user)
    credit_import.refresh_from_db()
    assert CreditRecord.objects.count() == 0
    assert credit_import.status == CreditImport.Status.PREVIEWED


def test_it_can_apply_again_after_a_failed_apply(ids: list[str], admin_user: User) -> None:
    credit_import, _rows = credit_import_preview(
        file_name="b.csv", content=csv_of(*(f"{n},700,no" for n in ids)), by=admin_user
    )
    with mock.patch.object(CreditImport, "save", side_effect=RuntimeError("disk full")), pytest.raises(RuntimeError):
        credit_import_apply(credit_import=credit_import, by=admin_user)
    assert credit_import_apply(credit_import=credit_import, by=admin_user) == len(ids)


def test_it_keeps_an_earlier_import_when_a_later_one_fails(ids: list[str], admin_user: User) -> None:
    import_file(csv_of(f"{ids[0]},700,no"), admin_user)
    later, _rows = credit_import_preview(
        file_name="b.csv", content=csv_of(f"{ids[0]},500,yes", f"{ids[1]},700,no"), by=admin_user
    )
    with mock.patch.object(CreditImport, "save", side_effect=RuntimeError("disk full")), pytest.raises(RuntimeError):
        credit_import_apply(credit_import=later, by=admin_user)
    assert (record_of(ids[0]).score, CreditRecord.objects.count()) == (700, 1)
