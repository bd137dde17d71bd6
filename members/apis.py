"""The members API (API.md): enrol one or many, list, read, exit. Each view parses, calls one service or
selector, and renders; errors get their shape in the one exception handler (mutualaid.api)."""

from __future__ import annotations

from typing import Any

from django.http import Http404
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from members.errors import DomainError
from members.models import Membership, MembershipStatus, Partner, Plan, Relationship, Sex
from members.selectors import (
    membership_coverage_fen,
    membership_for_partner,
    memberships_for_partner,
    plan_get_default,
)
from members.services import membership_enrol, membership_exit
from mutualaid.api.auth import partner_of
from mutualaid.api.errors import domain_error_body, validation_error_body
from mutualaid.api.idempotency import idempotent
from mutualaid.api.pagination import paginated
from mutualaid.api.schema import (
    IDEMPOTENCY_PARAMETER,
    MAX_ID,
    ErrorDetailSerializer,
    MoneySerializer,
    error_responses,
    money,
)

BULK_MAX = 1000


class MemberSerializer(serializers.Serializer[Membership]):
    """The member object of API.md, shared by every members endpoint."""

    id = serializers.IntegerField()
    external_ref = serializers.CharField()
    name = serializers.CharField(source="person.name")
    id_number_masked = serializers.CharField(source="person.id_number_masked")
    birth_date = serializers.DateField(source="person.birth_date")
    sex = serializers.ChoiceField(choices=Sex.choices, source="person.sex")
    relationship = serializers.ChoiceField(choices=Relationship.choices)
    payer = serializers.IntegerField(source="payer_id", allow_null=True)
    status = serializers.ChoiceField(choices=MembershipStatus.choices)
    status_reason = serializers.CharField()
    joined_on = serializers.DateField()
    waiting_period_ends = serializers.DateField()
    coverage = serializers.SerializerMethodField(
        help_text="The payout the member would receive if diagnosed today; null when not covered."
    )
    # Payers only: payments − charges. The members app cannot read settlement's ledger (data flows one
    # way), so the amount stays null here until a settlement-level endpoint supplies it.
    balance = serializers.SerializerMethodField(help_text="Payers only: payments − charges; null for now.")

    @extend_schema_field(MoneySerializer(allow_null=True))
    def get_coverage(self, membership: Membership) -> dict[str, str] | None:
        fen = membership_coverage_fen(membership=membership)
        return None if fen is None else money(fen)

    @extend_schema_field(MoneySerializer(allow_null=True))
    def get_balance(self, membership: Membership) -> dict[str, str] | None:
        return None


class EnrolmentSerializer(serializers.Serializer[Any]):
    """One enrolment body, alone or as an item of a bulk request."""

    external_ref = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")
    name = serializers.CharField(max_length=50)
    id_number = serializers.CharField(max_length=32)
    phone = serializers.CharField(max_length=20, required=False, allow_blank=True, default="")
    payer = serializers.IntegerField(min_value=1, max_value=MAX_ID, allow_null=True, required=False, default=None)
    relationship = serializers.ChoiceField(choices=Relationship.choices, required=False, default=Relationship.SELF)
    credit_score = serializers.IntegerField(min_value=0, max_value=1000, allow_null=True, required=False, default=None)
    health_declaration = serializers.DictField(child=serializers.BooleanField())


def _enrol(*, partner: Partner, plan: Plan, data: dict[str, Any]) -> Membership:
    payer = None
    if data["payer"] is not None:
        try:
            payer = membership_for_partner(partner=partner, membership_id=data["payer"])
        except Http404 as exc:
            raise DomainError(_("None of your members has this id."), field="payer") from exc
    return membership_enrol(
        plan=plan,
        name=data["name"],
        id_number=data["id_number"],
        health_answers=data["health_declaration"],
        relationship=data["relationship"],
        payer=payer,
        phone=data["phone"],
        attested_score=data["credit_score"],
        external_ref=data["external_ref"],
        partner=partner,
    )


def _plan() -> Plan:
    # The tiers once for the whole request: every member object shown reads its coverage from them.
    plan = plan_get_default()
    return Plan.objects.prefetch_related("payout_tiers").get(pk=plan.pk)


class MembersApi(APIView):
    """GET: the partner's members; POST: enrol one person. (One URL, so one view for both operations.)"""

    class FilterSerializer(serializers.Serializer[Any]):
        status = serializers.ChoiceField(choices=MembershipStatus.choices, required=False)
        external_ref = serializers.CharField(max_length=64, required=False)
        payer = serializers.IntegerField(min_value=1, max_value=MAX_ID, required=False)

    @extend_schema(
        operation_id="members_list",
        parameters=[FilterSerializer],
        responses={200: MemberSerializer(many=True), **error_responses(400)},
    )
    def get(self, request: Request) -> Response:
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        memberships = memberships_for_partner(partner=partner_of(request), **filters.validated_data)
        return paginated(request=request, view=self, queryset=memberships, serializer=MemberSerializer)

    @extend_schema(
        operation_id="members_enrol",
        request=EnrolmentSerializer,
        parameters=[IDEMPOTENCY_PARAMETER],
        responses={201: MemberSerializer, **error_responses(400, 409, 422)},
    )
    @idempotent
    def post(self, request: Request) -> Response:
        body = EnrolmentSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        membership = _enrol(partner=partner_of(request), plan=_plan(), data=body.validated_data)
        return Response(MemberSerializer(membership).data, status=status.HTTP_201_CREATED)


class BulkResultSerializer(serializers.Serializer[Any]):
    index = serializers.IntegerField()
    status = serializers.IntegerField(help_text="201, 400, 409 or 422")
    member = MemberSerializer(required=False)
    error = ErrorDetailSerializer(required=False)


class MembersBulkApi(APIView):
    """Enrol up to 1,000 people; each item succeeds or fails alone and gets its own status."""

    class InputSerializer(serializers.Serializer[Any]):
        # Items are checked one by one below, so a malformed item fails alone, not the whole request.
        members = serializers.ListField(child=serializers.JSONField(), allow_empty=False, max_length=BULK_MAX)

    class OutputSerializer(serializers.Serializer[Any]):
        results = BulkResultSerializer(many=True)

    @extend_schema(
        operation_id="members_enrol_bulk",
        request=InputSerializer,
        parameters=[IDEMPOTENCY_PARAMETER],
        responses={200: OutputSerializer, **error_responses(400)},
    )
    @idempotent
    def post(self, request: Request) -> Response:
        body = self.InputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        partner, plan = partner_of(request), _plan()
        results = [
            self._one(partner=partner, plan=plan, index=i, item=item)
            for i, item in enumerate(body.validated_data["members"])
        ]
        return Response({"results": results})

    @staticmethod
    def _one(*, partner: Partner, plan: Plan, index: int, item: Any) -> dict[str, Any]:
        enrolment = EnrolmentSerializer(data=item)
        if not enrolment.is_valid():
            return {"index": index, "status": 400, "error": validation_error_body(enrolment.errors)["error"]}
        try:
            membership = _enrol(partner=partner, plan=plan, data=enrolment.validated_data)
        except DomainError as exc:
            return {"index": index, "status": exc.http_status, "error": domain_error_body(exc)["error"]}
        return {"index": index, "status": 201, "member": MemberSerializer(membership).data}


class MemberDetailApi(APIView):
    @extend_schema(operation_id="members_read", responses={200: MemberSerializer, **error_responses(404)})
    def get(self, request: Request, member_id: int) -> Response:
        membership = membership_for_partner(partner=partner_of(request), membership_id=member_id)
        return Response(MemberSerializer(membership).data)


class MemberExitApi(APIView):
    @extend_schema(
        operation_id="members_exit",
        request=None,
        parameters=[IDEMPOTENCY_PARAMETER],
        responses={200: MemberSerializer, **error_responses(404, 409)},
    )
    @idempotent
    def post(self, request: Request, member_id: int) -> Response:
        membership = membership_for_partner(partner=partner_of(request), membership_id=member_id)
        membership_exit(membership=membership, by=None)
        return Response(
            MemberSerializer(membership_for_partner(partner=partner_of(request), membership_id=member_id)).data
        )
