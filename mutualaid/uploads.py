"""Size limits on request bodies, enforced before the body is read.

Two guards, one for each way a body can be too large:

- `RequestSizeLimitMiddleware` compares the declared Content-Length with the limit before anything
  reads the body: a multipart upload may hold a few documents (MAX_UPLOAD_REQUEST_BYTES), any other
  body at most DATA_UPLOAD_MAX_MEMORY_SIZE (Django applies that to forms, but the API's JSON parser
  reads the stream itself). The API answers 413 in its usual error shape; a page redirects back to
  itself with the reason, since its CSRF token is in the body that is never read.
- `DocumentSizeLimitHandler`, the first of FILE_UPLOAD_HANDLERS, counts each file's bytes as they
  stream in and stops the upload at the first chunk past 10 MB: one large file among small ones fits
  the request limit but is never written out in full. The refusal is recorded on the request
  (`upload_refusal`) for the page or the API to report; the rest of the body is not read.

A body sent without Content-Length (chunked) would not be read by Django at all under WSGI (its stream
is limited to the declared length, zero) and would arrive empty: RequestSizeLimitMiddleware refuses it
first with 411.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.files.uploadhandler import FileUploadHandler, StopUpload
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.utils.translation import gettext as _

from claims.errors import DocumentTooLarge
from claims.services import MAX_DOCUMENT_BYTES
from mutualaid.api.errors import error_body

# A few documents per request, plus room for the form's fields and the multipart headers.
MAX_DOCUMENTS_PER_REQUEST = 5
MAX_UPLOAD_REQUEST_BYTES = MAX_DOCUMENTS_PER_REQUEST * MAX_DOCUMENT_BYTES + 1024 * 1024

API_PREFIX = "/api/"
_REFUSAL_ATTRIBUTE = "upload_refusal"


@dataclass(frozen=True)
class UploadRefusal:
    """Why part of a request's body was not read: the file at fault (field and name) and a message."""

    field: str
    file_name: str
    message: str
    code: str


def upload_refusal(request: Any) -> UploadRefusal | None:
    """The refusal recorded while this request's body was parsed (a Django or a DRF request), if any."""
    request = getattr(request, "_request", request)  # DRF's Request wraps Django's
    refusal: UploadRefusal | None = getattr(request, _REFUSAL_ATTRIBUTE, None)
    return refusal


def _request_too_large(*, multipart: bool) -> str:
    if multipart:
        return _(
            "These files are too large together: send at most 50 MB at once, each file at most 10 MB, "
            "and add the others afterwards on the claim page."
        )
    return _("This request is too large.")


def _declared_length(request: HttpRequest) -> int | None:
    try:
        length = int(request.META.get("CONTENT_LENGTH") or "")
    except ValueError:
        return None  # Django reads an unparsable length as 0, so nothing is read either
    return length if length >= 0 else None


def _closing(request: HttpRequest, response: HttpResponse) -> HttpResponse:
    """The unread body stays on the connection: the server must not read a next request from it.

    Said with `Connection: close`, except to the development server (wsgiref), which refuses that header
    from an application (a 500) and closes such a connection by itself.
    """
    if not request.META.get("SERVER_SOFTWARE", "").startswith("WSGIServer/"):
        response["Connection"] = "close"
    return response


def _chunked_without_length(request: HttpRequest) -> bool:
    chunked = "chunked" in request.META.get("HTTP_TRANSFER_ENCODING", "").lower()
    return chunked and not request.META.get("CONTENT_LENGTH")


class RequestSizeLimitMiddleware:
    """Refuse a body larger than its limit from its Content-Length alone, before anything reads it.

    Placed after the message middleware (a page's refusal is a message) and, like every middleware
    body, it runs before the CSRF check reads the form.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if _chunked_without_length(request):
            return self._length_required(request)
        length = _declared_length(request)
        multipart = request.content_type == "multipart/form-data"
        limit = MAX_UPLOAD_REQUEST_BYTES if multipart else settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if length is None or limit is None or length <= limit:
            return self.get_response(request)
        return self._refuse(request, multipart=multipart)

    def _length_required(self, request: HttpRequest) -> HttpResponse:
        """411: under WSGI Django reads a body only up to its Content-Length, so a chunked body would
        arrive empty (a claim's documents missing, an enrolment without its fields) instead of refused."""
        message = _("Send the request with a Content-Length header: a body sent in chunks is not accepted.")
        response: HttpResponse
        if request.path_info.startswith(API_PREFIX):
            response = JsonResponse(
                error_body("length_required", message), status=411, json_dumps_params={"ensure_ascii": False}
            )
        else:
            response = HttpResponse(message, status=411, content_type="text/plain; charset=utf-8")
        return _closing(request, response)

    def _refuse(self, request: HttpRequest, *, multipart: bool) -> HttpResponse:
        message = _request_too_large(multipart=multipart)
        if request.path_info.startswith(API_PREFIX):
            code = "file_too_large" if multipart else "request_too_large"
            response: HttpResponse = JsonResponse(
                error_body(code, message), status=413, json_dumps_params={"ensure_ascii": False}
            )
        elif request.method == "POST" and hasattr(request, "_messages"):
            # Back to the same page (303: as a GET), which shows the reason above its form.
            messages.error(request, message)
            response = HttpResponseRedirect(request.get_full_path(), status=303)
        else:
            response = HttpResponse(message, status=413, content_type="text/plain; charset=utf-8")
        return _closing(request, response)


class DocumentSizeLimitHandler(FileUploadHandler):
    """Stop an upload at the first chunk that takes one file past 10 MB, before the file is written out."""

    def __init__(self, request: HttpRequest | None = None) -> None:
        super().__init__(request)
        self.field_name = self.file_name = ""

    def new_file(self, field_name: str, file_name: str, *args: Any, **kwargs: Any) -> None:
        super().new_file(field_name, file_name, *args, **kwargs)
        self.field_name, self.file_name = field_name, file_name or ""

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes | None:
        if start + len(raw_data) > MAX_DOCUMENT_BYTES:
            if self.request is not None:
                too_large = DocumentTooLarge()
                refusal = UploadRefusal(
                    field=self.field_name,
                    file_name=self.file_name or "",
                    message=str(too_large.message),
                    code=too_large.code,
                )
                setattr(self.request, _REFUSAL_ATTRIBUTE, refusal)
            # connection_reset: the parser stops here and reads none of the rest of the body.
            raise StopUpload(connection_reset=True)
        return raw_data

    def file_complete(self, file_size: int) -> None:
        return None  # the next handler (memory or temporary file) builds the file
