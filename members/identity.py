"""Resident ID numbers: validation (python-stdnum), encryption at rest, keyed hash, masking.

The raw number lives only in memory: the database holds a Fernet token (MultiFernet, so old keys
still decrypt after a rotation), an HMAC-SHA256 for uniqueness and look-up, and the masked form.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata
from dataclasses import dataclass
from datetime import date

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from stdnum import exceptions as stdnum_errors
from stdnum.cn import ric
from stdnum.util import isdigits

from members.errors import InvalidIdNumber

# The provincial-level codes (GB/T 2260), plus 81/82/83 for the residence permits of Hong Kong, Macao
# and Taiwan residents, which use the same 18-character format. The library's own `validate` also
# checks the county against the birth year, which refuses real numbers: a county code is that of the
# registration, not of the birth (a person born in 1970 may hold a code created in 1997), and codes
# newer than the library's data would be refused too. So only the province is checked here.
_PROVINCE = re.compile(r"1[1-5]|2[1-3]|3[1-7]|4[1-6]|5[0-4]|6[1-5]|71|8[1-3]")


@dataclass(frozen=True)
class ResidentId:
    number: str
    birth_date: date
    sex: str  # "M" or "F", from the 17th digit (odd: male)

    @property
    def masked(self) -> str:
        return mask_id_number(self.number)


def parse_resident_id(raw: str) -> ResidentId:
    """Validate an 18-character resident ID (check digit, real birth date); lower-case x is accepted."""
    # Phone keyboards in Chinese mode type full-width digits and Ｘ: NFKC folds them to ASCII.
    value = unicodedata.normalize("NFKC", raw or "").strip().replace(" ", "").replace("-", "").upper()
    if len(value) != 18:
        raise InvalidIdNumber(_("A resident ID number has exactly 18 characters."))
    if not isdigits(value[:17]) or not (isdigits(value[17]) or value[17] == "X"):
        raise InvalidIdNumber(_("A resident ID number is 17 digits followed by a digit or X."))
    if not _PROVINCE.fullmatch(value[:2]):
        raise InvalidIdNumber(_("The first two digits of this ID number are not a province; check for a typo."))
    if value[17] != ric.calc_check_digit(value):
        raise InvalidIdNumber(_("The last character (check digit) of this ID number is wrong; check for a typo."))
    try:
        birth_date = ric.get_birth_date(value)
    except stdnum_errors.InvalidComponent as exc:
        raise InvalidIdNumber(_("The birth date inside this ID number is not a real date.")) from exc
    # Beijing date: the plan's days are Beijing days, whatever the server's clock says.
    if birth_date > timezone.localdate():
        raise InvalidIdNumber(_("The birth date inside this ID number is in the future."))
    sex = "M" if int(value[16]) % 2 == 1 else "F"
    return ResidentId(number=value, birth_date=birth_date, sex=sex)


def mask_id_number(number: str) -> str:
    """`110105********002X`: the first 6 and last 4 characters, the rest hidden."""
    return f"{number[:6]}{'*' * (len(number) - 10)}{number[-4:]}"


def _fernet() -> MultiFernet:
    return MultiFernet([Fernet(key) for key in settings.ID_ENCRYPTION_KEYS])


def encrypt_id_number(number: str) -> str:
    return _fernet().encrypt(number.encode()).decode()


def decrypt_id_number(token: str) -> str:
    return _fernet().decrypt(token.encode()).decode()


def reencrypt_with_newest_key(token: str) -> str | None:
    """The token encrypted with the first key, or None when it already is (so a re-run changes nothing).

    Any configured key may decrypt it; a token no key opens raises InvalidToken, as it should: a rotation
    must never silently skip a row it could not read.
    """
    newest = Fernet(settings.ID_ENCRYPTION_KEYS[0])
    try:
        newest.decrypt(token.encode())
    except InvalidToken:
        return _fernet().rotate(token.encode()).decode()
    return None


def hash_id_number(number: str) -> str:
    return hmac.new(settings.ID_HASH_KEY.encode(), number.upper().encode(), hashlib.sha256).hexdigest()
