"""The lockout page and the staff second-factor page (enrol an authenticator app, then type its code)."""

from __future__ import annotations

from base64 import b32encode
from typing import Any

import segno
from django.conf import settings
from django.contrib.admin.views.decorators import staff_member_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from members.models import User
from mutualaid.security.forms import TokenForm


def lockout(
    request: HttpRequest, original_response: HttpResponse | None = None, credentials: Any = None
) -> HttpResponse:
    """What django-axes answers a locked-out login with: 429 and a page that says how long to wait."""
    context = {"minutes": settings.LOGIN_COOLOFF_MINUTES, "failure_limit": settings.AXES_FAILURE_LIMIT}
    return render(request, "security/lockout.html", context, status=429)


def _device_to_verify(user: User) -> tuple[TOTPDevice, bool]:
    """The confirmed device, else the one being enrolled (kept across reloads so a scanned code stays valid)."""
    confirmed = TOTPDevice.objects.filter(user=user, confirmed=True).order_by("id").first()
    if confirmed is not None:
        return confirmed, False
    pending = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("id").first()
    if pending is None:
        pending = TOTPDevice.objects.create(user=user, name=_("authenticator app"), confirmed=False)
    return pending, True


def _safe_next(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    ok = url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure())
    return target if ok else "admin:index"


@never_cache
@staff_member_required
@require_http_methods(["GET", "POST"])
def two_factor(request: HttpRequest) -> HttpResponse:
    """Enrol (QR code and secret, confirmed by a first code) or, once enrolled, type a code to go on."""
    assert isinstance(request.user, User)
    device, enrolling = _device_to_verify(request.user)
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        allowed, _why = device.verify_is_allowed()
        if allowed and device.verify_token(form.cleaned_data["token"]):
            if enrolling:
                device.confirmed = True
                device.save(update_fields=["confirmed"])
            otp_login(request, device)
            return redirect(_safe_next(request))
        form.add_error(
            "token",
            _("That code is not right, or was already used. Wait for the next code and try again.")
            if allowed
            else _("Too many wrong codes: wait a minute, then try the code your app shows then."),
        )
    context: dict[str, Any] = {
        "form": form,
        "enrolling": enrolling,
        "next": _safe_next(request),
        "title": _("Set up your second factor") if enrolling else _("Enter your code"),
    }
    if enrolling:
        # segno writes only <svg> and <path> elements with attributes: nothing the CSP would refuse.
        context["qr_svg"] = mark_safe(segno.make(device.config_url, error="m").svg_inline(scale=5))  # noqa: S308
        # For apps that cannot scan: the same key, as people type it.
        context["secret"] = b32encode(device.bin_key).decode().rstrip("=")
    return render(request, "security/two_factor.html", context)
