"""Money, the error shape and the auth scheme as the OpenAPI schema describes them."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from drf_spectacular import openapi
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema_field
from rest_framework import serializers

from mutualaid.api.auth import PartnerKeyAuthentication

CURRENCY = "CNY"
# The largest id a bigint column holds: a bigger number in a filter is refused as invalid input.
MAX_ID = 2**63 - 1


def money(fen: int) -> dict[str, str]:
    """Integer fen → {"amount": "300000.00", "currency": "CNY"}; yuan only at the edge."""
    return {"amount": str((Decimal(fen) / 100).quantize(Decimal("0.01"))), "currency": CURRENCY}


class MoneySerializer(serializers.Serializer[Any]):
    amount = serializers.DecimalField(max_digits=14, decimal_places=2, coerce_to_string=True)
    currency = serializers.CharField(default=CURRENCY)


@extend_schema_field(MoneySerializer(allow_null=True))
class MoneyField(serializers.Field[int, Any, dict[str, str], Any]):
    """A read-only amount in fen shown as Money; a null amount stays null."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs["read_only"] = True
        super().__init__(**kwargs)

    def to_representation(self, value: int) -> dict[str, str]:
        return money(value)


class PartnerKeyScheme(OpenApiAuthenticationExtension):  # type: ignore[no-untyped-call]  # registers itself
    target_class = PartnerKeyAuthentication
    name = "ApiKey"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Api-Key <key>`: the key `manage.py partner_create` printed (stored hashed, shown once).",
        }


class ErrorDetailSerializer(serializers.Serializer[Any]):
    code = serializers.CharField()
    message = serializers.CharField()
    # `fields` is the API's name; DRF takes declared fields off the class, so the property is not shadowed.
    fields = serializers.DictField(  # type: ignore[assignment]
        child=serializers.ListField(child=serializers.CharField()), required=False
    )


class ErrorSerializer(serializers.Serializer[Any]):
    error = ErrorDetailSerializer()


_ERROR_MEANINGS = {
    400: (
        "`invalid`: malformed input, or an enrolment's payer or a claim's member that is none of yours; `fields` "
        "names each field at fault. `not_a_payer`: a payment from a dependant."
    ),
    401: "`not_authenticated`: no API key, or a bad one.",
    404: (
        "`not_found`: no such object, or another partner's (in the path, or a payment's payer in the body: then "
        "`fields` says where)."
    ),
    409: (
        "A conflict: `idempotency_conflict`, `has_dependants`, `conflict`, `invalid_transition`, "
        "`payment_reference_conflict` (the reference was recorded for another payer or amount)."
    ),
    413: "`file_too_large`: a document over 10 MB.",
    415: "`unsupported_media_type`: a document that is not a PDF, JPEG or PNG.",
    422: "Not possible under the plan's rules (`error.code` says which).",
    429: "`throttled`: too many requests; retry after the seconds in `Retry-After`.",
    503: (
        "`unavailable`: the database failed this request (a restart, a failover); send the same request again "
        "after the seconds in `Retry-After`, with the same `Idempotency-Key` so that a step already done is not "
        "done twice."
    ),
}


def error_responses(*statuses: int) -> dict[int, OpenApiResponse]:
    """The documented error answers of an endpoint; 401, 429 and 503 apply to all of them."""
    return {
        status: OpenApiResponse(ErrorSerializer, description=_ERROR_MEANINGS[status])
        for status in sorted({401, 429, 503, *statuses})
    }


class PageParameters(serializers.Serializer[Any]):
    """A list's `?page=&page_size=`, for the schema (PagePagination reads them)."""

    page = serializers.IntegerField(min_value=1, required=False, help_text="The page, from 1; past the last: 404.")
    page_size = serializers.IntegerField(
        min_value=1, required=False, help_text="Items a page, 50 unless given; more than 500 is capped at 500."
    )


IDEMPOTENCY_PARAMETER = OpenApiParameter(
    "Idempotency-Key",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    description="Any unique string (a UUID): the same key with the same body replays the first answer.",
)


class AutoSchema(openapi.AutoSchema):
    """Names a view's nested serializers after the view: every view has an `InputSerializer`, and the
    schema needs one component name for each (ClaimsApi.InputSerializer → ClaimsInputRequest)."""

    def _get_serializer_name(self, serializer: Any, direction: str, bypass_extensions: bool = False) -> str:
        name = str(super()._get_serializer_name(serializer, direction, bypass_extensions))
        owner, _sep, _rest = (serializer if isinstance(serializer, type) else type(serializer)).__qualname__.rpartition(
            "."
        )
        if not owner:
            return name
        return owner.split(".")[-1].removesuffix("Api").removesuffix("Serializer") + name
