"""ID_ENCRYPTION_KEYS rotates: old rows stay readable while both keys are set; `rotate_id_keys` moves every
row to the new key, after which the old key can go."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from cryptography.fernet import Fernet, InvalidToken
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from members.models import CreditImport, Membership, Person, User
from members.services import credit_import_preview, credit_import_rows

pytestmark = pytest.mark.django_db

OLD_KEY, NEW_KEY = Fernet.generate_key().decode(), Fernet.generate_key().decode()


@pytest.fixture
def old_rows(settings: Any, enrol: Callable[..., Membership], admin_user: User) -> dict[int, str]:
    """Five people and a pending bureau file, all encrypted under the old key alone: person id → number."""
    settings.ID_ENCRYPTION_KEYS = [OLD_KEY]
    people = {}
    for serial in range(5):
        person = enrol(birth_date=date(1980 + serial, 3, 1)).person
        people[person.pk] = person.reveal_id_number()
    credit_import_preview(file_name="bureau.csv", content=_bureau_file(list(people.values())[:2]), by=admin_user)
    return people


def _bureau_file(numbers: list[str]) -> bytes:
    lines = ["id_number,score,dishonest_debtor", *(f"{n},700,no" for n in numbers)]
    return ("\n".join(lines) + "\n").encode()


def _rotate(**options: Any) -> str:
    out = io.StringIO()
    call_command("rotate_id_keys", stdout=out, **options)
    return out.getvalue()


def test_old_rows_are_read_with_both_keys_configured(settings: Any, old_rows: dict[int, str]) -> None:
    settings.ID_ENCRYPTION_KEYS = [NEW_KEY, OLD_KEY]
    assert {p.pk: p.reveal_id_number() for p in Person.objects.all()} == old_rows


def test_new_rows_are_encrypted_with_the_first_key(
    settings: Any, old_rows: dict[int, str], enrol: Callable[..., Membership]
) -> None:
    settings.ID_ENCRYPTION_KEYS = [NEW_KEY, OLD_KEY]
    person = enrol(birth_date=date(1999, 9, 9)).person
    assert Fernet(NEW_KEY).decrypt(person.id_number_encrypted.encode()).decode() == person.reveal_id_number()


def test_without_the_old_key_old_rows_cannot_be_read(settings: Any, old_rows: dict[int, str]) -> None:
    settings.ID_ENCRYPTION_KEYS = [NEW_KEY]
    with pytest.raises(InvalidToken):
        Person.objects.first().reveal_id_number()  # type: ignore[union-attr]


def test_after_rotation_every_row_reads_with_the_new_key_alone(settings: Any, old_rows: dict[int, str]) -> None:
    settings.ID_ENCRYPTION_KEYS = [NEW_KEY, OLD_KEY]
    output = _rotate(chunk_size=2)
    assert "People: 5 checked, 5 re-encrypted with the newest key, 0 already on it." in output
    assert "Bureau files: 1 checked, 1 re-encrypted." in output
    settings.ID_ENCRYPTION_KEYS = [NEW_KEY]
    assert {p.pk: p.reveal_id_number() for p in Person.objects.all()} == old_rows
    rows = credit_import_rows(credit_import=CreditImport.objects.get())
    assert [r.id_number for r in rows] == list(old_rows.values())[:2]


def test_a_second_run_changes_nothing(settings: Any, old_rows: dict[int, str]) -> None:
    settings.ID_ENCRYPTION_KEYS = [NEW_KEY, OLD_KEY]
    _rotate()
    tokens = dict(Person.objects.values_list("pk", "id_number_encrypted"))
    output = _rotate()
    assert "People: 5 checked, 0 re-encrypted with the newest key, 5 already on it." in output
    assert dict(Person.objects.values_list("pk", "id_number_encrypted")) == tokens


def test_the_hash_and_masked_form_are_untouched(settings: Any, old_rows: dict[int, str]) -> None:
    before = list(Person.objects.order_by("pk").values_list("id_number_hash", "id_number_masked"))
    settings.ID_ENCRYPTION_KEYS = [NEW_KEY, OLD_KEY]
    _rotate()
    assert list(Person.objects.order_by("pk").values_list("id_number_hash", "id_number_masked")) == before


def test_it_works_in_chunks_with_one_bulk_update_each(
    settings: Any, old_rows: dict[int, str], enrol: Callable[..., Membership]
) -> None:
    """Queries grow with the number of chunks, not of rows: two more people in the same chunk cost nothing."""
    settings.ID_ENCRYPTION_KEYS = [NEW_KEY, OLD_KEY]
    with CaptureQueriesContext(connection) as five:
        _rotate(chunk_size=100)
    settings.ID_ENCRYPTION_KEYS = [OLD_KEY, NEW_KEY]  # now the old key is the newest: everything moves back
    for serial in range(2):
        enrol(birth_date=date(1970 + serial, 1, 1))
    with CaptureQueriesContext(connection) as seven:
        _rotate(chunk_size=100)
    assert len(seven) == len(five)
    assert not any("LIMIT" not in q["sql"] for q in five if q["sql"].startswith("SELECT"))


def test_a_row_no_key_opens_stops_the_run_with_a_clear_message(settings: Any, old_rows: dict[int, str]) -> None:
    settings.ID_ENCRYPTION_KEYS = [NEW_KEY]
    with pytest.raises(CommandError, match="opens with none of the keys"):
        _rotate()


def test_a_chunk_size_below_one_is_refused() -> None:
    with pytest.raises(CommandError, match="at least 1"):
        _rotate(chunk_size=0)
