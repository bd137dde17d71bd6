"""The members API (API.md): enrol one or many, list, read, exit. Each view parses, calls one service or
selector, and renders; errors get their shape in the one exception handler (mutualaid.api)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db.models import QuerySet
from django.http import Http404
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from members.bulk import Enrolment, enrol_one, memberships_enrol_bulk
from members.errors import DomainError
from members.models import Membership, MembershipStatus, Partner, Relationship, Sex
from members.selectors import (
    membership_coverage_fen,
    membership_for_partner,
    memberships_for_partner,
    plan_get_default,
)
from members.services import membership_exit
from mutualaid.api.auth import partner_of
from mutualaid.api.errors import domain_error_body, validation_error_body
from mutualaid.api.fields import StrictBooleanField, StrictCharField, StrictChoiceField, StrictIntegerField
from mutualaid.api.filters import QueryFilters
from mutualaid.api.idempotency import idempotent
from mutualaid.api.pagination import page_of, paginated
from mutualaid.api.schema import (
    IDEMPOTENCY_PARAMETER,
    MAX_ID,
    ErrorDetailSerializer,
    MoneySerializer,
    PageParameters,
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
    balance = serializers.SerializerMethodField(
        help_text=(
            "Payers only: what was paid (and settled from payouts or refunded) minus what the household was "
            "charged; negative while they owe. Null for dependants, whose charges are billed to their payer."
        )
    )

    def to_representation(self, instance: Membership) -> dict[str, Any]:
        """The fields above, written out: DRF's generic walk copies all fourteen field objects for every
        serializer, a tenth of a member read's time. A test holds the two to the same answer for every
        kind of member (tests/api/test_members_read.py); the declared fields stay the schema."""
        person = instance.person
        return {
            "id": instance.pk,
            "external_ref": instance.external_ref,
            "name": person.name,
            "id_number_masked": person.id_number_masked,
            "birth_date": person.birth_date.isoformat(),
            "sex": person.sex,
            "relationship": instance.relationship,
            "payer": instance.payer_id,
            "status": instance.status,
            "status_reason": instance.status_reason,
            "joined_on": instance.joined_on.isoformat(),
            "waiting_period_ends": instance.waiting_period_ends.isoformat(),
            "coverage": self.get_coverage(instance),
            "balance": self.get_balance(instance),
        }

    @extend_schema_field(MoneySerializer(allow_null=True))
    def get_coverage(self, membership: Membership) -> dict[str, str] | None:
        fen = membership_coverage_fen(membership=membership)
        return None if fen is None else money(fen)

    @extend_schema_field(MoneySerializer(allow_null=True))
    def get_balance(self, membership: Membership) -> dict[str, str] | None:
        # Annotated on the queryset by the views' `annotate` (MemberApi): the ledger is settlement's.
        fen = getattr(membership, "balance_fen", None)
        return None if fen is None else money(fen)


class EnrolmentSerializer(serializers.Serializer[Any]):
    """One enrolment body, alone or as an item of a bulk request."""

    external_ref = StrictCharField(max_length=64, required=False, allow_blank=True, default="")
    name = StrictCharField(max_length=50)
    id_number = StrictCharField(max_length=32)
    phone = StrictCharField(max_length=20, required=False, allow_blank=True, default="")
    payer = StrictIntegerField(min_value=1, max_value=MAX_ID, allow_null=True, required=False, default=None)
    payer_ref = StrictCharField(
        max_length=64,
        required=False,
        allow_blank=True,
        default="",
        help_text=(
            "The payer by your own reference instead of `payer`: your live member with this `external_ref`, or, "
            "in a bulk request, an earlier item of the same request (enrol a household in one request, the "
            "payer's item first)."
        ),
    )
    relationship = StrictChoiceField(choices=Relationship.choices, required=False, default=Relationship.SELF)
    credit_score = StrictIntegerField(min_value=0, max_value=1000, allow_null=True, required=False, default=None)
    health_declaration = serializers.DictField(child=StrictBooleanField())

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs.get("payer") is not None and attrs.get("payer_ref"):
            raise serializers.ValidationError(
                {"payer_ref": [_("Name the payer by its id or by your reference, not both.")]}
            )
        return attrs


def enrolment_of(data: dict[str, Any]) -> Enrolment:
    """A checked enrolment body (EnrolmentSerializer) as the enrolment services take it."""
    return Enrolment(
        name=data["name"],
        id_number=data["id_number"],
        health_answers=data["health_declaration"],
        relationship=data["relationship"],
        payer_id=data["payer"],
        payer_ref=data["payer_ref"],
        phone=data["phone"],
        attested_score=data["credit_score"],
        external_ref=data["external_ref"],
    )


MemberAnnotation = Callable[[QuerySet[Membership]], QuerySet[Membership]]


class MemberApi(APIView):
    """A view that answers with member objects.

    `annotate` adds to the members read what other apps know about them: settlement's `balance_fen`.
    Settlement depends on members, so members cannot import it; the URLconf hands the function in
    (`MembersApi.as_view(annotate=...)`). Without one, the balance is null.
    """

    annotate: MemberAnnotation | None = None
    # The columns the member object shows (MemberSerializer), and no others: a read loads two dozen
    # columns fewer, which is a good part of its cost.
    columns = (
        "external_ref",
        "relationship",
        "payer",
        "status",
        "status_reason",
        "joined_on",
        "waiting_period_ends",
        "plan",
        "person",
        "person__name",
        "person__id_number_masked",
        "person__birth_date",
        "person__sex",
    )

    def members(self, memberships: QuerySet[Membership]) -> QuerySet[Membership]:
        memberships = memberships.only(*self.columns)
        return self.annotate(memberships) if self.annotate is not None else memberships

    def member(self, partner: Partner, membership_id: int) -> Membership:
        try:
            return self.members(memberships_for_partner(partner=partner)).get(pk=membership_id)
        except Membership.DoesNotExist as exc:
            raise Http404 from exc


class MembersApi(MemberApi):
    """GET: the partner's members; POST: enrol one person. (One URL, so one view for both operations.)"""

    class FilterSerializer(QueryFilters):
        status = serializers.ChoiceField(choices=MembershipStatus.choices, required=False)
        external_ref = serializers.CharField(max_length=64, required=False)
        payer = serializers.IntegerField(min_value=1, max_value=MAX_ID, required=False)

    @extend_schema(
        operation_id="members_list",
        parameters=[FilterSerializer, PageParameters],
        responses={200: page_of(MemberSerializer), **error_responses(400, 404)},
    )
    def get(self, request: Request) -> Response:
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        memberships = self.members(memberships_for_partner(partner=partner_of(request), **filters.validated_data))
        return paginated(request=request, view=self, queryset=memberships, serializer=MemberSerializer)

    @extend_schema(
        operation_id="members_enrol",
        request=EnrolmentSerializer,
        examples=[
            OpenApiExample(
                "A payer",
                request_only=True,
                value={
                    "external_ref": "p-1001",
                    "name": "张三",
                    "id_number": "110105199005172332",
                    "phone": "13800000000",
                    "payer": None,
                    "relationship": "self",
                    "credit_score": 700,
                    "health_declaration": {f"H{n}": False for n in range(1, 7)},
                },
            )
        ],
        parameters=[IDEMPOTENCY_PARAMETER],
        responses={201: MemberSerializer, **error_responses(400, 409, 422)},
    )
    @idempotent
    def post(self, request: Request) -> Response:
        body = EnrolmentSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        partner = partner_of(request)
        membership = enrol_one(plan=plan_get_default(), partner=partner, item=enrolment_of(body.validated_data))
        return Response(MemberSerializer(self.member(partner, membership.pk)).data, status=status.HTTP_201_CREATED)


class BulkResultSerializer(serializers.Serializer[Any]):
    index = serializers.IntegerField()
    status = serializers.IntegerField(help_text="201, 400, 409 or 422")
    member = MemberSerializer(required=False)
    error = ErrorDetailSerializer(required=False)


class MembersBulkApi(MemberApi):
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
        partner, plan = partner_of(request), plan_get_default()
        # One serializer checks every item: building its fields costs more than checking one item.
        parser = EnrolmentSerializer()
        parsed = [self._parse(parser, item) for item in body.validated_data["members"]]
        # The well-formed items are enrolled together, set-based, each with the outcome it would get alone.
        enrolled_or_refused = iter(
            memberships_enrol_bulk(plan=plan, partner=partner, items=[p for p in parsed if isinstance(p, Enrolment)])
        )
        outcomes = [next(enrolled_or_refused) if isinstance(p, Enrolment) else p for p in parsed]
        enrolled = [outcome for outcome in outcomes if isinstance(outcome, Membership)]
        if self.annotate is not None and enrolled:
            # What other apps add to a member (the balance), read in one query for every member enrolled;
            # the rest of the member object is already in hand (person and plan come with the outcome).
            added = self.annotate(Membership.objects.filter(partner=partner, pk__in=[m.pk for m in enrolled]))
            balances = dict(added.values_list("pk", "balance_fen"))  # type: ignore[misc]  # an annotation
            for membership in enrolled:
                membership.balance_fen = balances[membership.pk]  # type: ignore[attr-defined]
        members = iter(serializers.ListSerializer(enrolled, child=MemberSerializer()).data)
        results = [
            {"index": i, "status": 201, "member": next(members)}
            if isinstance(outcome, Membership)
            else {"index": i, "status": outcome.http_status, "error": domain_error_body(outcome)["error"]}
            if isinstance(outcome, DomainError)
            else {"index": i, **outcome}
            for i, outcome in enumerate(outcomes)
        ]
        return Response({"results": results})

    @staticmethod
    def _parse(parser: EnrolmentSerializer, item: Any) -> Enrolment | dict[str, Any]:
        """The item as an enrolment, or its 400 status and error (those `is_valid` would give)."""
        try:
            data = parser.run_validation(item)
        except serializers.ValidationError as exc:
            return {"status": 400, "error": validation_error_body(exc.detail)["error"]}
        return enrolment_of(data)


class MemberDetailApi(MemberApi):
    @extend_schema(operation_id="members_read", responses={200: MemberSerializer, **error_responses(404)})
    def get(self, request: Request, member_id: int) -> Response:
        return Response(MemberSerializer(self.member(partner_of(request), member_id)).data)


class MemberExitApi(MemberApi):
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
        return Response(MemberSerializer(self.member(partner_of(request), member_id)).data)
