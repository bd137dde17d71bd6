"""The webhooks API: a partner registers URLs, reads what was sent to them and asks for a test event.

Each view parses, calls one service or selector, and renders; errors get their shape in the one
exception handler (mutualaid.api). The signing secret is in the answer to the POST only.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from mutualaid.api.auth import partner_of
from mutualaid.api.fields import StrictCharField, StrictChoiceField
from mutualaid.api.idempotency import idempotent
from mutualaid.api.pagination import page_of, paginated
from mutualaid.api.schema import IDEMPOTENCY_PARAMETER, PageParameters, error_responses
from webhooks.models import SUBSCRIBABLE_KINDS, DeliveryStatus, EventKind, WebhookDelivery, WebhookEndpoint
from webhooks.selectors import deliveries_for_endpoint, endpoint_for_partner, endpoints_for_partner
from webhooks.services import endpoint_create, endpoint_disable, ping_create


class EndpointSerializer(serializers.Serializer[WebhookEndpoint]):
    id = serializers.IntegerField()
    url = serializers.URLField()
    kinds = serializers.ListField(child=serializers.ChoiceField(choices=SUBSCRIBABLE_KINDS))
    description = serializers.CharField()
    active = serializers.BooleanField()
    secret_hint = serializers.CharField(help_text="The secret's last four characters, to tell secrets apart.")
    created_at = serializers.DateTimeField()


class AttemptSerializer(serializers.Serializer[Any]):
    at = serializers.DateTimeField()
    status_code = serializers.IntegerField(allow_null=True, help_text="The HTTP status answered; null on an error.")
    error = serializers.CharField(help_text="What went wrong before an answer came (timeout, refused…); or empty.")
    duration_ms = serializers.IntegerField()
    next_retry_at = serializers.DateTimeField(allow_null=True)


class DeliverySerializer(serializers.Serializer[WebhookDelivery]):
    id = serializers.IntegerField(help_text="The Mutualaid-Delivery header of its requests.")
    event = serializers.UUIDField(source="event.event_id", help_text="The event's id (`id` in the body).")
    kind = serializers.ChoiceField(choices=EventKind.choices, source="event.kind")
    status = serializers.ChoiceField(choices=DeliveryStatus.choices)
    next_attempt_at = serializers.DateTimeField(allow_null=True)
    delivered_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()
    attempts = AttemptSerializer(many=True, source="attempt_rows.all")


class WebhooksApi(APIView):
    """GET: the partner's endpoints; POST: register one (the answer holds its signing secret, once)."""

    class InputSerializer(serializers.Serializer[Any]):
        url = StrictCharField(max_length=500, help_text="https:// URL that receives the events.")
        kinds = serializers.ListField(
            child=StrictChoiceField(choices=SUBSCRIBABLE_KINDS),
            required=False,
            allow_empty=False,
            max_length=len(SUBSCRIBABLE_KINDS),
            help_text="The event kinds to receive; all of them when left out.",
        )
        description = StrictCharField(max_length=200, required=False, allow_blank=True, default="")

    class CreatedSerializer(EndpointSerializer):
        secret = serializers.CharField(
            help_text="The signing secret: shown only in this answer. Keep it to verify Mutualaid-Signature."
        )

    @extend_schema(
        operation_id="webhooks_list",
        parameters=[PageParameters],
        responses={200: page_of(EndpointSerializer), **error_responses(400)},
    )
    def get(self, request: Request) -> Response:
        endpoints = endpoints_for_partner(partner=partner_of(request))
        return paginated(request=request, view=self, queryset=endpoints, serializer=EndpointSerializer)

    @extend_schema(
        operation_id="webhooks_create",
        request=InputSerializer,
        parameters=[IDEMPOTENCY_PARAMETER],
        responses={201: CreatedSerializer, **error_responses(400, 409)},
    )
    @idempotent
    def post(self, request: Request) -> Response:
        body = self.InputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        endpoint, secret = endpoint_create(partner=partner_of(request), **body.validated_data)
        data = dict(EndpointSerializer(endpoint).data, secret=secret)
        return Response(data, status=status.HTTP_201_CREATED)


class WebhookDetailApi(APIView):
    @extend_schema(operation_id="webhooks_read", responses={200: EndpointSerializer, **error_responses(404)})
    def get(self, request: Request, endpoint_id: int) -> Response:
        endpoint = endpoint_for_partner(partner=partner_of(request), endpoint_id=endpoint_id)
        return Response(EndpointSerializer(endpoint).data)

    @extend_schema(operation_id="webhooks_delete", responses={204: None, **error_responses(404)})
    def delete(self, request: Request, endpoint_id: int) -> Response:
        endpoint = endpoint_for_partner(partner=partner_of(request), endpoint_id=endpoint_id)
        endpoint_disable(endpoint=endpoint)
        return Response(status=status.HTTP_204_NO_CONTENT)


class WebhookDeliveriesApi(APIView):
    @extend_schema(
        operation_id="webhooks_deliveries",
        parameters=[PageParameters],
        responses={200: page_of(DeliverySerializer), **error_responses(400, 404)},
    )
    def get(self, request: Request, endpoint_id: int) -> Response:
        endpoint = endpoint_for_partner(partner=partner_of(request), endpoint_id=endpoint_id)
        return paginated(
            request=request,
            view=self,
            queryset=deliveries_for_endpoint(endpoint=endpoint),
            serializer=DeliverySerializer,
        )


class WebhookTestApi(APIView):
    @extend_schema(
        operation_id="webhooks_test",
        request=None,
        parameters=[IDEMPOTENCY_PARAMETER],
        responses={202: DeliverySerializer, **error_responses(404)},
    )
    @idempotent
    def post(self, request: Request, endpoint_id: int) -> Response:
        endpoint = endpoint_for_partner(partner=partner_of(request), endpoint_id=endpoint_id)
        delivery = ping_create(endpoint=endpoint)
        return Response(DeliverySerializer(delivery).data, status=status.HTTP_202_ACCEPTED)
