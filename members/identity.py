"""Resident ID numbers: validation (python-stdnum), encryption at rest, keyed hash, masking.

The raw number lives only in memory: the database holds a Fernet token (MultiFernet, so old keys
still decrypt after a rotation), an HMAC-SHA256 for uniqueness and look-up, and the masked form.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import date

from cryptography.fernet import Fernet, MultiFernet
from django.conf import settings
from django.utils.translation import gettext_lazy as _
from stdnum import exceptions as stdnum_errors
from stdnum.cn import ric

from members.errors import InvalidIdNumber


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
    value = (raw or "").strip().replace(" ", "").upper()
    if len(value) != 18:
        raise InvalidIdNumber(_("A resident ID number has exactly 18 characters."))
    try:
        number = ric.validate(value)
    except stdnum_errors.InvalidChecksum as exc:
        raise InvalidIdNumber(_("The last character (check digit) of this ID number is wrong; check for a typo.")) from exc
    except stdnum_errors.InvalidComponent as exc:
        raise InvalidIdNumber(_("The birth date inside this ID number is not a real date.")) from exc
    except stdnum_errors.ValidationError as exc:
        raise InvalidIdNumber() from exc
    birth_date = ric.get_birth_date(number)
    if birth_date > date.today():
        raise InvalidIdNumber(_("The birth date inside this ID number is in the future."))
    sex = "M" if int(number[16]) % 2 == 1 else "F"
    return ResidentId(number=number, birth_date=birth_date, sex=sex)


def mask_id_number(number: str) -> str:
    """`110105********002X`: the first 6 and last 4 characters, the rest hidden."""
    return f"{number[:6]}{'*' * (len(number) - 10)}{number[-4:]}"


def _fernet() -> MultiFernet:
    return MultiFernet([Fernet(key) for key in settings.ID_ENCRYPTION_KEYS])


def encrypt_id_number(number: str) -> str:
    return _fernet().encrypt(number.encode()).decode()


def decrypt_id_number(token: str) -> str:
    return _fernet().decrypt(token.encode()).decode()


def hash_id_number(number: str) -> str:
    return hmac.new(settings.ID_HASH_KEY.encode(), number.upper().encode(), hashlib.sha256).hexdigest()
