"""Admin asks staff for their second factor before any admin page, when one is required of them."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse


def second_factor_required(user: object) -> bool:
    """Staff need one when the site requires it of all of them (ADMIN_REQUIRE_2FA) or of them alone."""
    if not getattr(user, "is_authenticated", False) or not getattr(user, "is_staff", False):
        return False
    return bool(settings.ADMIN_REQUIRE_2FA or getattr(user, "require_2fa", False))


def is_verified(user: object) -> bool:
    """Whether this session passed a device check (set by django-otp's OTPMiddleware)."""
    check = getattr(user, "is_verified", None)
    return bool(check and check())


class AdminSecondFactorMiddleware:
    """Sends staff who still owe a code to the enrolment or code page, then back where they were going.

    A middleware rather than django-otp's OTPAdminSite: the requirement can be switched off (development,
    the demo) and set per account, and admin's own login page stays the one every test and person knows.
    Login and logout stay reachable, so a person can always leave or change account.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if self._owes_second_factor(request):
            query = urlencode({"next": request.get_full_path()})
            return HttpResponseRedirect(f"{reverse('security:two_factor')}?{query}")
        return self.get_response(request)

    def _owes_second_factor(self, request: HttpRequest) -> bool:
        if not request.path.startswith(reverse("admin:index")):
            return False
        if request.path in {reverse("admin:login"), reverse("admin:logout")}:
            return False
        return second_factor_required(request.user) and not is_verified(request.user)
