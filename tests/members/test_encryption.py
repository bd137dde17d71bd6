"""ID numbers at rest: encrypted, readable after a key rotation, and never in clear in any column."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pytest
from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings
from django.db import connection
from django.test import override_settings

from members.identity import decrypt_id_number, encrypt_id_number
from members.models import Membership, Person, Plan
from members.services import membership_enrol

NUMBER_BIRTH = date(1988, 8, 8)


@pytest.fixture
def number(make_id: Callable[..., str]) -> str:
    return make_id(NUMBER_BIRTH, serial=21)


@pytest.fixture
def member(plan: Plan, no_answers: dict[str, bool], number: str) -> Membership:
    return membership_enrol(
        plan=plan,
        name="赵六",
        id_number=number,
        health_answers=no_answers,
        attested_score=700,
        phone="13900000000",
        on=date(2026, 6, 1),
    )


def raw_rows(table: str) -> list[tuple[object, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608 - a fixed table name
        return list(cursor.fetchall())


def test_it_stores_no_raw_number_in_the_encrypted_column(member: Membership, number: str) -> None:
    person = Person.objects.get(pk=member.person_id)
    assert number not in person.id_number_encrypted
    assert number[6:14] not in person.id_number_encrypted  # not even the birth date


def test_it_decrypts_the_number_back(member: Membership, number: str) -> None:
    assert Person.objects.get(pk=member.person_id).reveal_id_number() == number


def test_it_encrypts_the_same_number_differently_each_time(number: str) -> None:
    assert encrypt_id_number(number) != encrypt_id_number(number)


def test_it_still_reads_rows_written_before_a_key_rotation(member: Membership, number: str) -> None:
    new_key = Fernet.generate_key().decode()
    with override_settings(ID_ENCRYPTION_KEYS=[new_key, *settings.ID_ENCRYPTION_KEYS]):
        assert Person.objects.get(pk=member.person_id).reveal_id_number() == number


def test_it_encrypts_with_the_new_key_after_a_rotation(number: str) -> None:
    new_key = Fernet.generate_key().decode()
    with override_settings(ID_ENCRYPTION_KEYS=[new_key, *settings.ID_ENCRYPTION_KEYS]):
        token = encrypt_id_number(number)
    with override_settings(ID_ENCRYPTION_KEYS=[new_key]):
        assert decrypt_id_number(token) == number


def test_it_cannot_read_a_row_once_its_key_is_dropped(member: Membership) -> None:
    with override_settings(ID_ENCRYPTION_KEYS=[Fernet.generate_key().decode()]), pytest.raises(InvalidToken):
        Person.objects.get(pk=member.person_id).reveal_id_number()


@pytest.mark.parametrize("table", ["members_person", "members_historicalperson"])
def test_it_keeps_the_raw_number_out_of_every_column(member: Membership, number: str, table: str) -> None:
    rows = raw_rows(table)
    assert rows, f"{table} should hold the enrolled person"
    for row in rows:
        for value in row:
            assert number not in str(value)
            assert number.lower() not in str(value)


def test_it_keeps_the_raw_number_out_of_the_membership_tables(member: Membership, number: str) -> None:
    for table in ("members_membership", "members_historicalmembership"):
        for row in raw_rows(table):
            assert all(number not in str(value) for value in row)


def test_it_keeps_the_encrypted_number_and_its_hash_out_of_the_history(member: Membership) -> None:
    columns = {
        c.name for c in connection.introspection.get_table_description(connection.cursor(), "members_historicalperson")
    }
    assert "id_number_encrypted" not in columns
    assert "id_number_hash" not in columns
    assert "id_number_masked" in columns
