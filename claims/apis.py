"""The claims API (API.md) and the plan's rules, which include the claims app's covered conditions."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.http import Http404
from django.utils import translation
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from claims.models import Claim, ClaimKind, ClaimStatus, CoveredCondition
from claims.selectors import claim_for_partner, claims_for_partner, condition_by_code
from claims.services import claim_document_add, claim_file
from members.errors import DomainError
from members.models import HealthQuestion, Plan
from members.selectors import membership_for_partner, plan_get_default
from mutualaid.api.auth import partner_of
from mutualaid.api.fields import StrictCharField, StrictChoiceField, StrictIntegerField
from mutualaid.api.filters import QueryFilters
from mutualaid.api.idempotency import idempotent
from mutualaid.api.pagination import page_of, paginated
from mutualaid.api.schema import IDEMPOTENCY_PARAMETER, MAX_ID, MoneyField, PageParameters, error_responses


def _fee_rate(rate: Decimal) -> str:
    """0.0800 → "0.08": two places at least, more only when the rate has them."""
    text = f"{rate.normalize():f}"
    whole, _sep, places = text.partition(".")
    return f"{whole}.{places.ljust(2, '0')}"


class PayoutTierSerializer(serializers.Serializer[Any]):
    from_age = serializers.IntegerField()
    to_age = serializers.IntegerField()
    payout = MoneyField(source="amount_fen")


class HealthQuestionSerializer(serializers.Serializer[HealthQuestion]):
    code = serializers.CharField()
    text = serializers.SerializerMethodField()

    def get_text(self, question: HealthQuestion) -> str:
        return question.text(translation.get_language())


class ConditionSerializer(serializers.Serializer[CoveredCondition]):
    code = serializers.CharField()
    name = serializers.SerializerMethodField()

    def get_name(self, condition: CoveredCondition) -> str:
        return condition.name(translation.get_language())


class PlanApi(APIView):
    """The rules of the plan partners enrol into: ages, waiting period, payouts, questions, conditions."""

    class OutputSerializer(serializers.Serializer[Plan]):
        code = serializers.CharField()
        name = serializers.CharField()
        min_age_days = serializers.IntegerField()
        max_entry_age_years = serializers.IntegerField()
        waiting_period_days = serializers.IntegerField()
        payout_tiers = PayoutTierSerializer(many=True)
        management_fee_rate = serializers.SerializerMethodField(help_text='A decimal string, e.g. "0.08".')
        health_questions = HealthQuestionSerializer(many=True)
        conditions = ConditionSerializer(many=True)

        def get_management_fee_rate(self, plan: Plan) -> str:
            return _fee_rate(plan.management_fee_rate)

    @extend_schema(operation_id="plan_read", responses={200: OutputSerializer, **error_responses()})
    def get(self, request: Request) -> Response:
        return Response(self.OutputSerializer(plan_get_default()).data)


class ClaimSerializer(serializers.Serializer[Claim]):
    """The claim object of API.md."""

    class TimelineSerializer(serializers.Serializer[Any]):
        status = serializers.CharField(source="to_status")
        at = serializers.DateTimeField()
        note = serializers.CharField()

    class DocumentSerializer(serializers.Serializer[Any]):
        id = serializers.IntegerField()
        name = serializers.CharField()
        size = serializers.IntegerField()
        sha256 = serializers.CharField()

    id = serializers.IntegerField()
    member = serializers.IntegerField(source="member_id")
    kind = serializers.ChoiceField(choices=ClaimKind.choices)
    condition = serializers.CharField(source="condition.code")
    diagnosed_on = serializers.DateField()
    hospital = serializers.CharField()
    description = serializers.CharField()
    status = serializers.ChoiceField(choices=ClaimStatus.choices)
    rejection_reason = serializers.CharField(allow_null=True)
    payout = MoneyField(source="payout_fen", allow_null=True)
    # The sharing period is keyed by its notice (the same id), so the notice is the period.
    period = serializers.IntegerField(source="notice_id", allow_null=True)
    filed_at = serializers.DateTimeField()
    timeline = TimelineSerializer(source="transitions", many=True)
    documents = DocumentSerializer(many=True)

    def to_representation(self, instance: Claim) -> dict[str, Any]:
        data: dict[str, Any] = super().to_representation(instance)
        data["rejection_reason"] = instance.rejection_reason or None
        return data


class ClaimsApi(APIView):
    """GET: the claims of the partner's members; POST: file a claim for one of them."""

    class FilterSerializer(QueryFilters):
        member = serializers.IntegerField(min_value=1, max_value=MAX_ID, required=False)
        status = serializers.ChoiceField(choices=ClaimStatus.choices, required=False)

    class InputSerializer(serializers.Serializer[Any]):
        member = StrictIntegerField(min_value=1, max_value=MAX_ID)
        kind = StrictChoiceField(choices=ClaimKind.choices)
        condition = StrictCharField(max_length=16)
        diagnosed_on = serializers.DateField()
        hospital = StrictCharField(max_length=200)
        description = StrictCharField(max_length=5000)

    @extend_schema(
        operation_id="claims_list",
        parameters=[FilterSerializer, PageParameters],
        responses={200: page_of(ClaimSerializer), **error_responses(400, 404)},
    )
    def get(self, request: Request) -> Response:
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        claims = claims_for_partner(partner=partner_of(request), **filters.validated_data)
        return paginated(request=request, view=self, queryset=claims, serializer=ClaimSerializer)

    @extend_schema(
        operation_id="claims_file",
        request=InputSerializer,
        parameters=[IDEMPOTENCY_PARAMETER],
        responses={201: ClaimSerializer, **error_responses(400, 409, 422)},
    )
    @idempotent
    def post(self, request: Request) -> Response:
        body = self.InputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        partner = partner_of(request)
        try:
            member = membership_for_partner(partner=partner, membership_id=data["member"])
        except Http404 as exc:
            raise DomainError(_("None of your members has this id."), field="member") from exc
        condition = condition_by_code(plan=member.plan, code=data["condition"])
        if condition is None:
            raise DomainError(
                _("This is not one of the plan's covered conditions (see /api/v1/plan/)."), field="condition"
            )
        claim = claim_file(
            member=member,
            by=None,
            kind=data["kind"],
            condition=condition,
            diagnosed_on=data["diagnosed_on"],
            hospital=data["hospital"],
            description=data["description"],
        )
        claim = claim_for_partner(partner=partner, claim_id=claim.pk)
        return Response(ClaimSerializer(claim).data, status=status.HTTP_201_CREATED)


class ClaimDetailApi(APIView):
    @extend_schema(operation_id="claims_read", responses={200: ClaimSerializer, **error_responses(404)})
    def get(self, request: Request, claim_id: int) -> Response:
        return Response(ClaimSerializer(claim_for_partner(partner=partner_of(request), claim_id=claim_id)).data)


class ClaimDocumentsApi(APIView):
    """Attach a document to a claim: PDF, JPEG or PNG, at most 10 MB, its type read from the content."""

    parser_classes = [MultiPartParser]

    class InputSerializer(serializers.Serializer[Any]):
        file = serializers.FileField()

    @extend_schema(
        operation_id="claims_document_add",
        request={"multipart/form-data": InputSerializer},
        parameters=[IDEMPOTENCY_PARAMETER],
        responses={201: ClaimSerializer.DocumentSerializer, **error_responses(400, 404, 413, 415, 422)},
    )
    @idempotent
    def post(self, request: Request, claim_id: int) -> Response:
        claim = claim_for_partner(partner=partner_of(request), claim_id=claim_id)
        body = self.InputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        document = claim_document_add(claim=claim, upload=body.validated_data["file"], by=None)
        return Response(ClaimSerializer.DocumentSerializer(document).data, status=status.HTTP_201_CREATED)
