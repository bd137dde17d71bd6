"""The one authentication backend: the lockout check (django-axes), then Django's password check."""

from __future__ import annotations

from typing import Any

from axes.backends import AxesStandaloneBackend
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.base_user import AbstractBaseUser
from django.http import HttpRequest


class LockoutBackend(AxesStandaloneBackend, ModelBackend):
    """Refuses a locked-out username and address before any password is checked, then checks the password.

    One backend rather than axes' check followed by ModelBackend: with a single backend Django's `login()`
    needs no `backend` argument, which the sign-up page relies on to log a new member straight in.

    A call without a request (the test client's `login`, a management shell) is no login through a form
    and has no client address to key a lockout on: it goes straight to the password check. Every login
    form of the site (members and admin) passes its request.
    """

    def authenticate(  # type: ignore[override]
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> AbstractBaseUser | None:
        if request is not None:
            AxesStandaloneBackend.authenticate(self, request, username, password, **kwargs)
        return ModelBackend.authenticate(self, request, username, password, **kwargs)
