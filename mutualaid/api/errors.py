"""The one exception handler: every 4xx as {"error": {"code", "message", "fields"?}}."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from django.db import DataError, IntegrityError, InterfaceError, OperationalError
from django.http import Http404, HttpRequest, JsonResponse
from django.urls import is_valid_path
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import exception_handler as drf_exception_handler
from rest_framework.views import set_rollback

from members.errors import DomainError

logger = logging.getLogger(__name__)


class IdempotencyConflict(DomainError):
    code = "idempotency_conflict"
    http_status = 409

    def __init__(self) -> None:
        super().__init__(
            _("This Idempotency-Key was already used with a different request; send a new key for a new request.")
        )


class NotYours(DomainError):
    """A body names an object the partner cannot see: 404, as for a path, and the field says which."""

    code = "not_found"
    http_status = 404
    default_message = gettext_lazy("None of your members has this id.")


def error_body(code: str, message: str, fields: Mapping[str, list[str]] | None = None) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message}
    if fields:
        error["fields"] = dict(fields)
    return {"error": error}


def domain_error_body(exc: DomainError) -> dict[str, Any]:
    message = str(exc.message)
    return error_body(exc.code, message, {exc.field: [message]} if exc.field else None)


def validation_error_body(detail: Any) -> dict[str, Any]:
    """DRF's nested errors → {"a.b": ["…"]}; errors of the whole body become the message."""
    fields = _flatten(detail)
    general = fields.pop(api_settings.NON_FIELD_ERRORS_KEY, None)
    message = " ".join(general) if general else _("Some fields are not valid: see `fields`.")
    return error_body("invalid", message, fields)


def _flatten(detail: Any, prefix: str = "") -> dict[str, list[str]]:
    key = prefix or api_settings.NON_FIELD_ERRORS_KEY
    if isinstance(detail, Mapping):
        out: dict[str, list[str]] = {}
        for name, value in detail.items():
            out.update(_flatten(value, f"{prefix}.{name}" if prefix else str(name)))
        return out
    if isinstance(detail, list):
        if all(not isinstance(item, Mapping | list) for item in detail):
            return {key: [str(item) for item in detail]}
        out = {}
        for index, item in enumerate(detail):
            out.update(_flatten(item, f"{prefix}.{index}" if prefix else str(index)))
        return out
    return {key: [str(detail)]}


_CODES: dict[type[exceptions.APIException], str] = {
    exceptions.ParseError: "invalid",
    exceptions.NotAuthenticated: "not_authenticated",
    exceptions.AuthenticationFailed: "not_authenticated",
    exceptions.NotFound: "not_found",
}


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """The one place errors get their shape; anything it does not know stays a 500 and is logged."""
    if isinstance(exc, DomainError):
        set_rollback()
        return Response(domain_error_body(exc), status=exc.http_status)
    if isinstance(exc, IntegrityError):
        # A unique key or a check lost to a simultaneous request: a conflict, never a server error.
        set_rollback()
        logger.warning("API integrity conflict: %s", exc)
        message = _("This conflicts with data changed at the same time; fetch the current state and try again.")
        return Response(error_body("conflict", message), status=409)
    if isinstance(exc, OperationalError | InterfaceError):
        # The database failed this request: restarted or failed over (the worker's reused connection is
        # dead; Django closes it at the end of this request and the next one reconnects), a statement
        # cancelled, a deadlock. What the request's open transaction held is rolled back, but a step that
        # had already committed stays done (an enrolment whose answer could not be read back): the partner
        # sends the same request again with the same Idempotency-Key, which replays or completes it once.
        set_rollback()
        logger.error("API request failed on the database: %s", exc)
        message = _(
            "The service is unavailable for a moment; send the same request again shortly, with the same "
            "Idempotency-Key."
        )
        return Response(error_body("unavailable", message), status=503, headers={"Retry-After": "1"})
    if isinstance(exc, DataError):
        set_rollback()
        logger.warning("API value refused by the database: %s", exc)
        return Response(error_body("invalid", _("A value is out of range or too long.")), status=400)
    if isinstance(exc, exceptions.ValidationError | exceptions.ParseError) and (too_large := _upload_refused(context)):
        # The upload handler stopped reading at a file over the limit, so that file is missing from the
        # parsed body: the answer is the limit, not a "required" field.
        return too_large
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    response = drf_exception_handler(exc, context)
    if response is None or not isinstance(exc, exceptions.APIException):
        return response
    if isinstance(exc, exceptions.ValidationError):
        response.data = validation_error_body(exc.detail)
        return response
    if isinstance(exc, exceptions.NotFound):
        message = _("No such object, or not one of yours.")
    else:
        message = str(exc.detail) if not isinstance(exc.detail, dict | list) else str(exc.default_detail)
    code = next((c for kind, c in _CODES.items() if isinstance(exc, kind)), str(exc.default_code))
    response.data = error_body(code, message)
    return response


@csrf_exempt
def api_not_found(request: HttpRequest, path: str = "") -> JsonResponse:
    """Any path under /api/ that names no endpoint, whatever the method: the error shape, not an HTML page.

    It also stands in for the redirect that adds a missing final slash, which would drop a POST's body.
    """
    message = _("There is no such endpoint: see /api/docs/ for the API's paths.")
    if not request.path.endswith("/") and is_valid_path(f"{request.path}/"):
        message = _("There is no such endpoint: the API's paths end with a slash (%(path)s/).") % {"path": request.path}
    return JsonResponse(error_body("not_found", message), status=404, json_dumps_params={"ensure_ascii": False})


def _upload_refused(context: dict[str, Any]) -> Response | None:
    # Imported here: mutualaid.uploads answers with error_body, so it imports this module.
    from mutualaid.uploads import upload_refusal

    refusal = upload_refusal(context.get("request"))
    if refusal is None:
        return None
    return Response(error_body(refusal.code, refusal.message, {refusal.field: [refusal.message]}), status=413)
