"""The settlement API (API.md): periods (public to every partner), a member's charges, payments.

Each view parses, calls one service or selector, and renders; errors get their shape in the one
exception handler (mutualaid.api).
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.http import Http404
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from claims.models import Claim
from members.models import Membership, Partner, Sex
from members.selectors import membership_for_partner
from mutualaid.api.auth import partner_of
from mutualaid.api.errors import NotYours
from mutualaid.api.fields import StrictCharField, StrictIntegerField
from mutualaid.api.filters import QueryFilters
from mutualaid.api.idempotency import idempotent
from mutualaid.api.pagination import page_of, paginated
from mutualaid.api.schema import (
    IDEMPOTENCY_PARAMETER,
    MAX_ID,
    MoneyField,
    MoneySerializer,
    PageParameters,
    error_responses,
    money,
)
from settlement.errors import NotAPayer
from settlement.models import Charge, Payment, Period, PeriodStatus, partner_source
from settlement.selectors import (
    FIGURES_FIXED,
    charges_for_member,
    claim_costs,
    payment_by_reference,
    payment_for_partner,
    payments_for_partner,
    period_with_claims,
    periods_with_claims,
)
from settlement.services import payment_record

# --- periods --------------------------------------------------------------------------------------------


class PeriodClaimSerializer(serializers.Serializer[Any]):
    """A claim of the period's batch as the public report shows it: no name, no id number, no member id."""

    masked_name = serializers.CharField(help_text="The first character of the name, the rest masked: 张*.")
    age = serializers.IntegerField(allow_null=True, help_text="Age at diagnosis.")
    sex = serializers.ChoiceField(choices=Sex.choices)
    condition = serializers.CharField(help_text="The covered condition's code (see /api/v1/plan/).")
    payout = MoneySerializer(allow_null=True)
    cost_per_member = serializers.CharField(
        allow_null=True,
        help_text=(
            "The payout plus its part of the management fee, divided by the sharers, in yuan to four decimal "
            'places ("0.1500"); null until the sharers are fixed on the charge day.'
        ),
    )
    capped = serializers.BooleanField(
        help_text="The cost per member is above the per-claim cap: members pay the cap, the operator the rest."
    )


class PeriodSerializer(serializers.Serializer[Period]):
    """A sharing period. Its figures are fixed on the charge day, when its batch of claims is final: until
    then they are null (the claims in its public notice are already listed)."""

    id = serializers.IntegerField(source="pk")
    notice_date = serializers.DateField()
    charge_date = serializers.DateField()
    status = serializers.ChoiceField(choices=PeriodStatus.choices)
    sharers = serializers.SerializerMethodField(help_text="N, the members who share this period's claims.")
    claims = serializers.SerializerMethodField()
    payouts_total = serializers.SerializerMethodField()
    fee_total = serializers.SerializerMethodField(help_text="The management fee: payouts × the plan's fee rate.")
    total = serializers.SerializerMethodField(help_text="Payouts plus fee: what the sharers pay together.")
    per_member = serializers.SerializerMethodField(
        help_text="⌊total / N⌋ in fen; the remainder's fen are paid, one each, by members chosen in turn."
    )
    max_charge = serializers.SerializerMethodField(help_text="The most any member is charged, after the caps.")
    operator_subsidy = serializers.SerializerMethodField(
        help_text="What the caps took off the members' shares, paid by the operator; null until settled."
    )

    @staticmethod
    def _fixed(period: Period) -> bool:
        return period.status in FIGURES_FIXED

    def _figure(self, period: Period, fen: int) -> dict[str, str] | None:
        return money(fen) if self._fixed(period) else None

    @extend_schema_field(serializers.IntegerField(allow_null=True))
    def get_sharers(self, period: Period) -> int | None:
        return period.sharers if self._fixed(period) else None

    @extend_schema_field(PeriodClaimSerializer(many=True))
    def get_claims(self, period: Period) -> list[dict[str, Any]]:
        claims: list[Claim] = period.notice.batch  # type: ignore[attr-defined]  # prefetched by the selector
        return [
            {
                "masked_name": cost.case.masked_name,
                "age": cost.case.age,
                "sex": claim.member.person.sex,
                "condition": cost.case.condition_code,
                "payout": money(cost.case.payout_fen) if cost.case.payout_fen is not None else None,
                "cost_per_member": str(cost.per_member_yuan) if cost.per_member_yuan is not None else None,
                "capped": cost.capped,
            }
            for claim, cost in zip(claims, claim_costs(period=period, claims=claims, language=None), strict=True)
        ]

    @extend_schema_field(MoneySerializer(allow_null=True))
    def get_payouts_total(self, period: Period) -> dict[str, str] | None:
        return self._figure(period, period.payouts_total_fen)

    @extend_schema_field(MoneySerializer(allow_null=True))
    def get_fee_total(self, period: Period) -> dict[str, str] | None:
        return self._figure(period, period.fee_fen)

    @extend_schema_field(MoneySerializer(allow_null=True))
    def get_total(self, period: Period) -> dict[str, str] | None:
        return self._figure(period, period.total_fen)

    @extend_schema_field(MoneySerializer(allow_null=True))
    def get_per_member(self, period: Period) -> dict[str, str] | None:
        return self._figure(period, period.per_member_fen)

    @extend_schema_field(MoneySerializer(allow_null=True))
    def get_max_charge(self, period: Period) -> dict[str, str] | None:
        return self._figure(period, period.max_charge_fen)

    @extend_schema_field(MoneySerializer(allow_null=True))
    def get_operator_subsidy(self, period: Period) -> dict[str, str] | None:
        return money(period.operator_subsidy_fen) if period.status == PeriodStatus.SETTLED else None


class PeriodsApi(APIView):
    """Every period, newest first: public, the same for every partner, as on the public report."""

    @extend_schema(
        operation_id="periods_list",
        parameters=[PageParameters],
        responses={200: page_of(PeriodSerializer), **error_responses(404)},
    )
    def get(self, request: Request) -> Response:
        return paginated(request=request, view=self, queryset=periods_with_claims(), serializer=PeriodSerializer)


class PeriodDetailApi(APIView):
    @extend_schema(operation_id="periods_read", responses={200: PeriodSerializer, **error_responses(404)})
    def get(self, request: Request, period_id: int) -> Response:
        return Response(PeriodSerializer(period_with_claims(period_id=period_id)).data)


# --- charges --------------------------------------------------------------------------------------------


class ChargeSerializer(serializers.Serializer[Charge]):
    period = serializers.IntegerField(source="period_id")
    charge_date = serializers.DateField(source="period.charge_date")
    member = serializers.IntegerField(source="member_id")
    amount = MoneyField(source="amount_fen", help_text="What the member is charged, after the caps.")
    share = MoneyField(source="share_fen", help_text="The member's share of the period's total, before the caps.")


class MemberChargesApi(APIView):
    """A payer's household's charges (a dependant's: their own), newest period first."""

    @extend_schema(
        operation_id="members_charges",
        parameters=[PageParameters],
        responses={200: page_of(ChargeSerializer), **error_responses(404)},
    )
    def get(self, request: Request, member_id: int) -> Response:
        member = membership_for_partner(partner=partner_of(request), membership_id=member_id)
        return paginated(
            request=request, view=self, queryset=charges_for_member(member=member), serializer=ChargeSerializer
        )


# --- payments -------------------------------------------------------------------------------------------


class PaymentSerializer(serializers.Serializer[Payment]):
    id = serializers.IntegerField()
    payer = serializers.IntegerField(source="payer_id")
    amount = MoneyField(source="amount_fen")
    reference = serializers.CharField()
    received_at = serializers.DateTimeField()


# Yuan above zero with at most two decimals, ASCII digits only: "3.50", "12", "0.05"; not "0.00", "-1",
# "1e3" or "03.50". The same pattern is in the schema, so a generated amount is either right or refused.
AMOUNT_PATTERN = r"^(?:[1-9][0-9]{0,9}(?:\.[0-9]{1,2})?|0\.(?:[1-9][0-9]?|0[1-9]))$"


@extend_schema_field({"type": "string", "pattern": AMOUNT_PATTERN, "example": "3.50"})
class AmountField(serializers.Field[Decimal, Any, str, Any]):
    """Yuan as a string: a JSON number is refused, as a float can lose a fen on its way here."""

    default_error_messages = {
        "invalid": _('Give the amount in yuan as a string, above zero and with at most two decimals: "3.50".')
    }

    def to_internal_value(self, data: Any) -> Decimal:
        if not isinstance(data, str) or re.fullmatch(AMOUNT_PATTERN, data) is None:
            self.fail("invalid")
        return Decimal(data)

    def to_representation(self, value: Decimal) -> str:
        return str(value)


class PaymentsApi(APIView):
    """GET: the payments of the partner's payers; POST: record money a payer paid through the partner."""

    class FilterSerializer(QueryFilters):
        payer = serializers.IntegerField(min_value=1, max_value=MAX_ID, required=False)

    class InputSerializer(serializers.Serializer[Any]):
        payer = StrictIntegerField(min_value=1, max_value=MAX_ID, help_text="The payer of a household.")
        amount = AmountField(help_text='Yuan, a string with at most two decimals: "3.50".')
        reference = StrictCharField(
            max_length=64, help_text="The transfer's reference on the partner's side; unique per partner."
        )

    @extend_schema(
        operation_id="payments_list",
        parameters=[FilterSerializer, PageParameters],
        responses={200: page_of(PaymentSerializer), **error_responses(400, 404)},
    )
    def get(self, request: Request) -> Response:
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        payments = payments_for_partner(partner=partner_of(request), **filters.validated_data)
        return paginated(request=request, view=self, queryset=payments, serializer=PaymentSerializer)

    @extend_schema(
        operation_id="payments_record",
        request=InputSerializer,
        examples=[
            OpenApiExample(
                "A payment", request_only=True, value={"payer": 42, "amount": "3.50", "reference": "alipay-8812"}
            )
        ],
        parameters=[IDEMPOTENCY_PARAMETER],
        responses={
            201: PaymentSerializer,
            200: PaymentSerializer,
            **error_responses(400, 404, 409),
        },
        description="201 when recorded; 200 with the payment already recorded when its reference is sent again.",
    )
    @idempotent
    def post(self, request: Request) -> Response:
        body = self.InputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        partner = partner_of(request)
        payer = _payer(partner=partner, payer_id=data["payer"])
        payment, created = _record(
            partner=partner, payer=payer, amount_fen=int(data["amount"] * 100), reference=data["reference"]
        )
        return Response(
            PaymentSerializer(payment).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK
        )


def _payer(*, partner: Partner, payer_id: int) -> Membership:
    try:
        return membership_for_partner(partner=partner, membership_id=payer_id)
    except Http404 as exc:
        raise NotYours(field="payer") from exc


def _record(*, partner: Partner, payer: Membership, amount_fen: int, reference: str) -> tuple[Payment, bool]:
    """The payment, and whether this request recorded it (201) or found it recorded already (200)."""
    source = partner_source(partner.pk)
    with transaction.atomic():
        # payment_record takes the payer's row lock too; taking it first makes "was it recorded before?"
        # exact when the same payment arrives twice at once: the second waits here, then finds it.
        Membership.objects.select_for_update().get(pk=payer.pk)
        before = payment_by_reference(source=source, reference=reference)
        try:
            payment = payment_record(payer=payer, amount_fen=amount_fen, reference=reference, by=None, source=source)
        except NotAPayer as exc:
            exc.field = "payer"
            raise
    return payment, before is None


class PaymentDetailApi(APIView):
    @extend_schema(operation_id="payments_read", responses={200: PaymentSerializer, **error_responses(404)})
    def get(self, request: Request, payment_id: int) -> Response:
        return Response(PaymentSerializer(payment_for_partner(partner=partner_of(request), payment_id=payment_id)).data)
