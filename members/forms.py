"""Member-facing forms: they parse and check the shape of input; the rules live in members.services."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth import password_validation
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from django.views.decorators.debug import sensitive_variables
from django_stubs_ext import StrOrPromise

from members.errors import DomainError, HealthDeclarationFailed
from members.models import HealthQuestion, Relationship, User

_PHONE_RE = re.compile(r"^1\d{10}$")
_PHONE_SEPARATORS = re.compile(r"[\s\-]")
BAD_PHONE = _("Enter your 11-digit mobile number; it starts with 1.")
PHONE_TAKEN = _("This mobile number already has an account: log in instead.")


def normalise_phone(value: str) -> str:
    """Digits only: people type spaces or dashes, and sometimes the +86 country code."""
    phone = _PHONE_SEPARATORS.sub("", value or "")
    if phone.startswith("+86"):
        phone = phone[3:]
    if not _PHONE_RE.match(phone):
        raise ValidationError(BAD_PHONE, code="invalid_phone")
    return phone


def _phone_widget(autocomplete: str) -> forms.TextInput:
    return forms.TextInput(
        attrs={"type": "tel", "inputmode": "numeric", "autocomplete": autocomplete, "maxlength": 20, "autofocus": True}
    )


def _password_field(label: StrOrPromise, help_text: StrOrPromise) -> forms.CharField:
    return forms.CharField(
        label=label,
        strip=False,
        help_text=help_text,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )


class SignupForm(forms.Form):
    phone = forms.CharField(
        label=_("Mobile number"),
        max_length=20,
        widget=_phone_widget("username"),
        error_messages={"required": BAD_PHONE, "max_length": BAD_PHONE},
    )
    password1 = _password_field(
        _("Password"), _("At least 8 characters, not only digits, not a common password and not your mobile number.")
    )
    password2 = _password_field(_("Password again"), _("Enter the same password again."))

    def clean_phone(self) -> str:
        phone = normalise_phone(self.cleaned_data["phone"])
        if User.objects.filter(Q(phone=phone) | Q(username=phone)).exists():
            raise ValidationError(PHONE_TAKEN, code="phone_taken")
        return phone

    @sensitive_variables("first", "second")
    def clean(self) -> dict[str, Any]:
        first, second = self.cleaned_data.get("password1"), self.cleaned_data.get("password2")
        if first and second and first != second:
            self.add_error("password2", ValidationError(_("The two passwords are not the same."), code="mismatch"))
        if first:
            phone = self.cleaned_data.get("phone") or ""
            try:
                # The validators compare the password with the username, which is the phone number.
                password_validation.validate_password(first, User(username=phone, phone=phone))
            except ValidationError as exc:
                self.add_error("password1", exc)
        return self.cleaned_data

    def save(self) -> User | None:
        """Create the account (username = phone); None, with a field error, if the phone was just taken."""
        phone = self.cleaned_data["phone"]
        try:
            with transaction.atomic():
                return User.objects.create_user(username=phone, phone=phone, password=self.cleaned_data["password1"])
        except IntegrityError:
            self.add_error("phone", ValidationError(PHONE_TAKEN, code="phone_taken"))
            return None


class PhoneLoginForm(AuthenticationForm):
    """Log in with the mobile number (it is the username) and the password."""

    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": _("The mobile number or the password is wrong."),
    }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["username"].label = _("Mobile number")
        self.fields["username"].widget = _phone_widget("username")
        self.fields["username"].error_messages["required"] = BAD_PHONE

    def clean_username(self) -> str:
        return normalise_phone(self.cleaned_data["username"])


class IdNumberInput(forms.TextInput):
    """Never writes the ID number back into the page, even when the form is shown again with errors."""

    def format_value(self, value: Any) -> str | None:
        return None


HEALTH_PREFIX = "health_"
YES_NO = [("yes", _("Yes")), ("no", _("No"))]

# Refusals about the person the ID number names (their age comes from it too), by error code:
# the service raises them without a field, the page shows them next to that input.
_FIELD_FOR_ERROR_CODE: dict[str, str] = {
    "age_out_of_range": "id_number",
    "already_enrolled": "id_number",
    "rejoining_not_allowed": "id_number",
}


class JoinForm(forms.Form):
    name = forms.CharField(
        label=_("Name"),
        max_length=50,
        help_text=_("As on the resident ID card."),
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
        error_messages={"required": _("Enter the person's name as on their ID card.")},
    )
    id_number = forms.CharField(
        label=_("Resident ID number"),
        max_length=30,
        help_text=_("18 characters; the last one may be X."),
        error_messages={"required": _("Enter the 18-character resident ID number.")},
        widget=IdNumberInput(
            attrs={"autocomplete": "off", "autocapitalize": "characters", "spellcheck": "false", "maxlength": 30}
        ),
    )
    relationship = forms.ChoiceField(label=_("Who is this person to you?"), widget=forms.RadioSelect)

    def __init__(
        self, *args: Any, questions: Sequence[HealthQuestion], relationships: Sequence[str], **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["relationship"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [(value, Relationship(value).label) for value in relationships]
        if list(relationships) == [Relationship.SELF]:
            field.initial = Relationship.SELF
            field.widget = forms.HiddenInput()
        language = get_language()
        for question in questions:
            self.fields[HEALTH_PREFIX + question.code] = forms.TypedChoiceField(
                label=question.text(language),
                choices=YES_NO,
                coerce=lambda answer: answer == "yes",
                widget=forms.RadioSelect,
                error_messages={"required": _("Answer this question with yes or no.")},
            )

    @property
    def for_self(self) -> bool:
        return isinstance(self.fields["relationship"].widget, forms.HiddenInput)

    def health_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in self.fields if name.startswith(HEALTH_PREFIX)]

    def health_answers(self) -> dict[str, bool]:
        return {
            name.removeprefix(HEALTH_PREFIX): bool(value)
            for name, value in self.cleaned_data.items()
            if name.startswith(HEALTH_PREFIX)
        }

    def add_domain_error(self, exc: DomainError) -> None:
        """Show a refusal of the service next to the input it is about, or above the form."""
        if isinstance(exc, HealthDeclarationFailed):
            answered_yes = [f"{HEALTH_PREFIX}{code}" for code, yes in self.health_answers().items() if yes]
            for name in answered_yes:
                self.add_error(name, ValidationError(str(exc.message), code=exc.code))
            if answered_yes:
                return
        field = exc.field if exc.field in self.fields else _FIELD_FOR_ERROR_CODE.get(exc.code)
        self.add_error(field, ValidationError(str(exc.message), code=exc.code))


class NotificationsForm(forms.Form):
    """E-mail notifications: an address (optional; members sign up with a phone), on or off, a language."""

    email = forms.EmailField(
        label=_("E-mail address"),
        required=False,
        max_length=254,
        help_text=_("Optional. We write only about your household: charges, claims and membership."),
        widget=forms.EmailInput(attrs={"autocomplete": "email", "inputmode": "email"}),
    )
    enabled = forms.BooleanField(label=_("Send me e-mail notifications"), required=False)
    language = forms.ChoiceField(label=_("Language of the e-mails"), choices=settings.LANGUAGES)

    def add_domain_error(self, exc: DomainError) -> None:
        field = exc.field if exc.field in self.fields else None
        self.add_error(field, ValidationError(str(exc.message), code=exc.code))
