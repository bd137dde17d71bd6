from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

BAD_TOKEN = _("The code has 6 digits.")


class TokenForm(forms.Form):
    token = forms.CharField(
        label=_("6-digit code"),
        max_length=20,
        help_text=_("The code your authenticator app shows now for this site."),
        error_messages={"required": _("Enter the 6-digit code from your authenticator app."), "max_length": BAD_TOKEN},
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "one-time-code", "autofocus": True}),
    )

    def clean_token(self) -> str:
        # Apps show the code as “123 456”; people type it that way.
        token: str = self.cleaned_data["token"].replace(" ", "")
        if len(token) != 6 or not token.isascii() or not token.isdigit():
            raise forms.ValidationError(BAD_TOKEN, code="bad_token")
        return token
