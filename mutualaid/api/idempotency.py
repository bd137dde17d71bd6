"""Idempotency-Key on POST: the same key and body replay the first answer; another body is a conflict."""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Callable
from typing import Any

from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.http import QueryDict
from django.utils.translation import gettext as _
from rest_framework import exceptions
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from members.models import IdempotencyKey, Partner
from mutualaid.api.auth import partner_of
from mutualaid.api.errors import IdempotencyConflict

_KEY_MAX = IdempotencyKey._meta.get_field("key").max_length or 255

Handler = Callable[..., Response]


def idempotent(handler: Handler) -> Handler:
    """Give a POST handler the Idempotency-Key rule of API.md.

    The key's row is inserted first, in the same transaction as the work, and the response is written
    to it before commit. A second request with the same key blocks on that insert (the unique index)
    until the first commits, then fails the insert and replays the stored response; if the first
    rolled back, the second's insert goes through and it does the work itself. So ten identical
    requests at once create one member and get one answer. Only successes are kept: a request that
    failed leaves no key behind, and may be corrected and sent again with the same key.
    """

    @functools.wraps(handler)
    def wrapper(view: APIView, request: Request, *args: Any, **kwargs: Any) -> Response:
        key = request.META.get("HTTP_IDEMPOTENCY_KEY", "").strip()
        if not key:
            return handler(view, request, *args, **kwargs)
        if len(key) > _KEY_MAX:
            raise exceptions.ValidationError({"Idempotency-Key": [_("Use at most %d characters.") % _KEY_MAX]})
        if not key.isprintable():
            # A NUL or another control character cannot be stored (PostgreSQL refuses NUL in text).
            raise exceptions.ValidationError({"Idempotency-Key": [_("Use printable characters only.")]})
        partner = partner_of(request)
        fingerprint = request_fingerprint(request)
        with transaction.atomic():
            try:
                with transaction.atomic():
                    record = IdempotencyKey.objects.create(partner=partner, key=key, fingerprint=fingerprint)
            except IntegrityError:
                return _replay(partner=partner, key=key, fingerprint=fingerprint)
            response = handler(view, request, *args, **kwargs)
            if not 200 <= response.status_code < 300:
                transaction.set_rollback(True)
                return response
            record.status_code = response.status_code
            record.response = response.data
            record.save(update_fields=["status_code", "response"])
        return response

    return wrapper


def _replay(*, partner: Partner, key: str, fingerprint: str) -> Response:
    record = IdempotencyKey.objects.get(partner=partner, key=key)
    if record.fingerprint != fingerprint or record.status_code is None:
        raise IdempotencyConflict()
    return Response(record.response, status=record.status_code, headers={"Idempotent-Replayed": "true"})


def request_fingerprint(request: Request) -> str:
    """SHA-256 of the method, the path and the body as parsed (key order and spacing do not count)."""
    data = request.data
    body: Any
    if isinstance(data, QueryDict):
        body = {
            name: [_file_digest(v) if isinstance(v, UploadedFile) else v for v in data.getlist(name)]
            for name in sorted(data.keys())
        }
    else:
        body = data
    canonical = json.dumps([request.method, request.path, body], sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _file_digest(upload: UploadedFile) -> str:
    digest = hashlib.sha256()
    for chunk in upload.chunks():
        digest.update(chunk)
    upload.seek(0)
    return f"{upload.name}:{upload.size}:{digest.hexdigest()}"
