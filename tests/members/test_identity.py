"""Resident ID numbers: validation, what is derived from them, masking and the keyed hash."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest
import time_machine
from django.test import override_settings
from django.utils import translation
from stdnum.cn import ric

from members.errors import InvalidIdNumber
from members.identity import hash_id_number, mask_id_number, parse_resident_id
from tests.idnumbers import make_id_number

VALID = "11010519491231002X"  # the example of the API contract: a woman born on 31 December 1949


@pytest.fixture(autouse=True)
def _in_english() -> Iterator[None]:
    """Messages are matched in English; the site's default language is Chinese."""
    with translation.override("en"):
        yield


def with_check_digit(body: str) -> str:
    """Complete 17 characters with the right check digit, so only the part under test is wrong."""
    return body + ric.calc_check_digit(body + "0")


def test_it_accepts_a_valid_number() -> None:
    assert parse_resident_id(VALID).number == VALID


def test_it_accepts_a_lower_case_x() -> None:
    assert parse_resident_id(VALID.lower()).number == VALID


def test_it_accepts_spaces_and_full_width_characters_typed_on_a_phone() -> None:
    full_width = "".join(chr(ord(c) + 0xFEE0) for c in VALID)
    assert parse_resident_id(f" {full_width[:6]} {full_width[6:]} ").number == VALID


def test_it_refuses_a_wrong_check_digit() -> None:
    with pytest.raises(InvalidIdNumber, match="check digit"):
        parse_resident_id(VALID[:-1] + "1")


def test_it_refuses_an_impossible_birth_date_even_with_a_correct_check_digit() -> None:
    number = with_check_digit("11010519490230002")  # 30 February 1949
    with pytest.raises(InvalidIdNumber, match="not a real date"):
        parse_resident_id(number)


def test_it_refuses_a_number_that_is_too_short() -> None:
    with pytest.raises(InvalidIdNumber, match="18 characters"):
        parse_resident_id(VALID[:-1])


def test_it_refuses_a_number_that_is_too_long() -> None:
    with pytest.raises(InvalidIdNumber, match="18 characters"):
        parse_resident_id(VALID + "1")


def test_it_refuses_an_empty_number() -> None:
    with pytest.raises(InvalidIdNumber):
        parse_resident_id("")


def test_it_refuses_letters_among_the_digits() -> None:
    with pytest.raises(InvalidIdNumber, match="17 digits"):
        parse_resident_id("11010519491231A02X")


def test_it_refuses_a_letter_other_than_x_at_the_end() -> None:
    with pytest.raises(InvalidIdNumber, match="17 digits"):
        parse_resident_id(VALID[:-1] + "Y")


def test_it_refuses_a_number_that_is_not_from_a_province() -> None:
    with pytest.raises(InvalidIdNumber, match="province"):
        parse_resident_id(with_check_digit("99010519491231002"))


def test_it_accepts_a_county_code_younger_than_its_holder() -> None:
    # 110112 (Tongzhou) dates from 1997; people born before then hold it after registering there.
    number = make_id_number(date(1970, 5, 17), region="110112")
    assert parse_resident_id(number).birth_date == date(1970, 5, 17)


@time_machine.travel(date(2026, 11, 29), tick=False)
def test_it_refuses_a_birth_date_in_the_future() -> None:
    with pytest.raises(InvalidIdNumber, match="future"):
        parse_resident_id(make_id_number(date(2026, 11, 30)))


@time_machine.travel(date(2026, 11, 29), tick=False)
def test_it_accepts_a_birth_date_of_today() -> None:
    assert parse_resident_id(make_id_number(date(2026, 11, 29))).birth_date == date(2026, 11, 29)


def test_it_derives_the_birth_date() -> None:
    assert parse_resident_id(VALID).birth_date == date(1949, 12, 31)


def test_it_derives_male_from_an_odd_17th_digit() -> None:
    number = make_id_number(date(1990, 5, 17), male=True)
    assert int(number[16]) % 2 == 1
    assert parse_resident_id(number).sex == "M"


def test_it_derives_female_from_an_even_17th_digit() -> None:
    assert parse_resident_id(VALID).sex == "F"


def test_it_masks_all_but_the_first_six_and_last_four_characters() -> None:
    assert mask_id_number(VALID) == "110105********002X"
    assert parse_resident_id(VALID.lower()).masked == "110105********002X"


def test_it_hashes_the_same_number_to_the_same_value() -> None:
    assert hash_id_number(VALID) == hash_id_number(VALID)


def test_it_hashes_a_lower_case_x_like_an_upper_case_one() -> None:
    assert hash_id_number(VALID.lower()) == hash_id_number(VALID)


def test_it_hashes_different_numbers_differently() -> None:
    other = make_id_number(date(1949, 12, 31), serial=3)
    assert hash_id_number(other) != hash_id_number(VALID)


def test_it_keys_the_hash_so_another_key_gives_another_hash() -> None:
    before = hash_id_number(VALID)
    with override_settings(ID_HASH_KEY="another-key-of-sixteen-characters"):
        assert hash_id_number(VALID) != before


def test_it_does_not_leave_the_number_in_the_hash() -> None:
    assert VALID not in hash_id_number(VALID)
    assert len(hash_id_number(VALID)) == 64
