"""Sharing periods, their charges and the general ledger, all in integer fen.

A period is keyed by its notice (same id), so the claims app never needs to know about settlement.
"""

from __future__ import annotations

from typing import Any

from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from claims.models import Claim, Notice
from members.models import Membership, Plan, User


class PeriodStatus(models.TextChoices):
    OPEN = "open", _("open")
    IN_NOTICE = "in_notice", _("in public notice")
    SETTLING = "settling", _("settling")
    SETTLED = "settled", _("settled")


class Period(models.Model):
    """One notice day and its charge day; the figures are fixed once, when the settlement starts."""

    notice = models.OneToOneField(Notice, on_delete=models.PROTECT, primary_key=True, related_name="period")
    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="periods")
    notice_date = models.DateField(_("notice date"))
    charge_date = models.DateField(_("charge date"))
    status = models.CharField(_("status"), max_length=10, choices=PeriodStatus.choices, default=PeriodStatus.IN_NOTICE)
    claims_count = models.PositiveIntegerField(_("claims"), default=0)
    sharers = models.PositiveBigIntegerField(_("sharers"), default=0)
    payouts_total_fen = models.PositiveBigIntegerField(_("payouts (fen)"), default=0)
    fee_fen = models.PositiveBigIntegerField(_("management fee (fen)"), default=0)
    total_fen = models.PositiveBigIntegerField(_("total (fen)"), default=0)
    per_member_fen = models.PositiveBigIntegerField(_("per member (fen)"), default=0)
    per_member_cap_fen = models.PositiveBigIntegerField(
        _("most a member pays this period under the per-claim cap (fen)"), default=0
    )
    max_charge_fen = models.PositiveBigIntegerField(_("largest charge of the period (fen)"), default=0)
    # Whether any member could reach the annual cap this period (if not, the chunks skip that look-up
    # altogether), and the earlier periods of the same charge year whose charges count towards it,
    # frozen when the settlement starts so that a chunk run again later sees exactly the same ones.
    annual_cap_applies = models.BooleanField(_("the annual cap may apply"), default=False)
    annual_cap_periods = models.JSONField(_("periods counted for the annual cap"), default=list, blank=True)
    operator_subsidy_fen = models.PositiveBigIntegerField(_("operator subsidy (fen)"), default=0)
    rotation = models.PositiveBigIntegerField(_("rotation of the extra fen"), default=0)
    chunk_size = models.PositiveIntegerField(_("member ids per chunk"), default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    settled_at = models.DateTimeField(_("settled at"), null=True, blank=True)
    # Set by the daily job once the payers still in arrears after this period's grace were removed, so
    # each period's charges are read once for it and never again.
    arrears_checked_on = models.DateField(_("arrears checked on"), null=True, blank=True)

    class Meta:
        ordering = ["-notice_date"]
        verbose_name = _("period")
        verbose_name_plural = _("periods")
        constraints = [
            models.UniqueConstraint(fields=["plan", "notice_date"], name="period_unique_notice_date"),
            models.CheckConstraint(condition=Q(charge_date__gt=F("notice_date")), name="period_charge_after_notice"),
            models.CheckConstraint(
                condition=Q(total_fen=F("payouts_total_fen") + F("fee_fen")), name="period_total_is_payouts_plus_fee"
            ),
        ]
        indexes = [models.Index(fields=["status", "charge_date"], name="period_status_charge_date")]

    def __str__(self) -> str:
        return f"{self.notice_date} → {self.charge_date}"

    @property
    def extra_fen(self) -> int:
        """How many sharers pay one fen more than ⌊total/N⌋."""
        return self.total_fen % self.sharers if self.sharers else 0


class PeriodChunk(models.Model):
    """A range of member ids [lo, hi) of a period's split, planned at the start, marked done with its rows.

    The done fields are written in the same transaction as the chunk's charges, so a chunk is either
    wholly there with its marker or not there at all.
    """

    period = models.ForeignKey(Period, on_delete=models.PROTECT, related_name="chunks")
    lo = models.BigIntegerField()
    hi = models.BigIntegerField()
    sharers_before = models.PositiveBigIntegerField(help_text=_("Sharers with a member id below lo."))
    sharers = models.PositiveBigIntegerField()
    rows = models.PositiveBigIntegerField(null=True, blank=True)
    sum_fen = models.PositiveBigIntegerField(null=True, blank=True)
    capped_fen = models.PositiveBigIntegerField(null=True, blank=True)
    done_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["period", "lo"]
        constraints = [
            models.UniqueConstraint(fields=["period", "lo"], name="period_chunk_unique_lo"),
            models.CheckConstraint(condition=Q(lo__lt=F("hi")), name="period_chunk_range"),
        ]

    def __str__(self) -> str:
        return f"{self.period_id}: [{self.lo}, {self.hi})"


class Charge(models.Model):
    """One sharer's charge for one period, billed to the payer of the sharer's household.

    `share_fen` is what the split gave the member, `amount_fen` what they are charged after the caps;
    the difference is borne by the operator. Written only by the chunk's INSERT … SELECT.
    """

    # The unique (period, member) index serves every look-up by period and member range, so neither
    # foreign key gets an index of its own: each index is one more write per sharer per period.
    period = models.ForeignKey(Period, on_delete=models.PROTECT, related_name="charges", db_index=False)
    member = models.ForeignKey(Membership, on_delete=models.PROTECT, related_name="charges", db_index=False)
    payer = models.ForeignKey(Membership, on_delete=models.PROTECT, related_name="+", db_index=False)
    share_fen = models.PositiveBigIntegerField(_("share (fen)"))
    amount_fen = models.PositiveBigIntegerField(_("charged (fen)"))

    class Meta:
        verbose_name = _("charge")
        verbose_name_plural = _("charges")
        constraints = [
            models.UniqueConstraint(fields=["period", "member"], name="charge_once_per_member_period"),
            models.CheckConstraint(condition=Q(amount_fen__lte=F("share_fen")), name="charge_at_most_share"),
        ]
        indexes = [models.Index(fields=["payer", "period"], name="charge_payer_period")]

    def __str__(self) -> str:
        return f"{self.period_id}/{self.member_id}: {self.amount_fen}"


class Account(models.TextChoices):
    """The general ledger's accounts; a balance is debits − credits."""

    MEMBERS_RECEIVABLE = "members_receivable", _("members receivable")
    MUTUAL_FUND = "mutual_fund", _("mutual fund")
    FEE_INCOME = "fee_income", _("fee income")
    OPERATOR_SUBSIDY = "operator_subsidy", _("operator subsidy")
    CLAIMS_PAYABLE = "claims_payable", _("claims payable")
    CASH = "cash", _("cash")


class EntryKind(models.TextChoices):
    PAYOUTS = "payouts", _("payouts owed")
    FEE = "fee", _("management fee")
    CHARGES = "charges", _("member charges")
    SUBSIDY = "subsidy", _("operator subsidy")
    PAYMENT = "payment", _("payment received")
    DISBURSEMENT = "disbursed", _("payout disbursed")
    REFUNDS = "refunds", _("refunds")
    REVERSAL = "reversal", _("reversal")


class _WriteOnce(models.Model):
    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise ValueError("The ledger is never edited: post a reversing entry instead.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise ValueError("The ledger is never deleted from: post a reversing entry instead.")


class JournalEntry(_WriteOnce):
    """A balanced set of journal lines; `key` makes posting the same event twice impossible."""

    key = models.CharField(_("key"), max_length=100, unique=True)
    kind = models.CharField(_("kind"), max_length=10, choices=EntryKind.choices)
    period = models.ForeignKey(Period, on_delete=models.PROTECT, null=True, blank=True, related_name="entries")
    memo = models.CharField(_("memo"), max_length=200, blank=True)
    reverses = models.OneToOneField("self", on_delete=models.PROTECT, null=True, blank=True, related_name="reversed_by")
    posted_at = models.DateTimeField(_("posted at"), auto_now_add=True)

    class Meta:
        ordering = ["posted_at", "id"]
        verbose_name = _("journal entry")
        verbose_name_plural = _("journal entries")

    def __str__(self) -> str:
        return self.key


class JournalLine(_WriteOnce):
    entry = models.ForeignKey(JournalEntry, on_delete=models.PROTECT, related_name="lines")
    account = models.CharField(_("account"), max_length=20, choices=Account.choices)
    debit_fen = models.PositiveBigIntegerField(_("debit (fen)"), default=0)
    credit_fen = models.PositiveBigIntegerField(_("credit (fen)"), default=0)

    class Meta:
        ordering = ["entry", "id"]
        verbose_name = _("journal line")
        verbose_name_plural = _("journal lines")
        constraints = [
            models.CheckConstraint(
                condition=(Q(debit_fen__gt=0) & Q(credit_fen=0)) | (Q(debit_fen=0) & Q(credit_fen__gt=0)),
                name="journal_line_one_side",
            ),
        ]
        indexes = [models.Index(fields=["account"], name="journal_line_account")]

    def __str__(self) -> str:
        return f"{self.account} Dr {self.debit_fen} Cr {self.credit_fen}"


ADMIN_SOURCE = "admin"


def partner_source(partner_id: int) -> str:
    """A partner's payments are their own source: its references are unique among its own payments only,
    so two partners never collide on a reference, and a partner's retry finds the payment it recorded."""
    return f"partner-{partner_id}"


class Payment(models.Model):
    """Money received from a payer: one row of the members' sub-ledger, settling their household's charges.

    `reference` is the payer's transfer reference as the receiving side knows it; it is unique per
    source (administrators now, each partner later), which is what makes recording it idempotent.
    """

    payer = models.ForeignKey(Membership, on_delete=models.PROTECT, related_name="payments")
    amount_fen = models.PositiveBigIntegerField(_("amount (fen)"))
    source = models.CharField(_("source"), max_length=64, default=ADMIN_SOURCE)
    reference = models.CharField(_("reference"), max_length=64)
    received_at = models.DateTimeField(_("received at"))
    recorded_by = models.ForeignKey(User, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    recorded_at = models.DateTimeField(_("recorded at"), auto_now_add=True)

    class Meta:
        ordering = ["-received_at", "-pk"]
        verbose_name = _("payment")
        verbose_name_plural = _("payments")
        constraints = [
            models.UniqueConstraint(fields=["source", "reference"], name="payment_reference_unique_per_source"),
            models.CheckConstraint(condition=Q(amount_fen__gt=0), name="payment_amount_positive"),
        ]
        indexes = [models.Index(fields=["payer", "received_at"], name="payment_payer_received")]

    def __str__(self) -> str:
        return f"{self.source}/{self.reference}: {self.amount_fen}"


class Payout(models.Model):
    """A claim's payout as disbursed: the gross payout less the claimant's household arrears, settled from it."""

    claim = models.OneToOneField(Claim, on_delete=models.PROTECT, related_name="disbursement")
    payer = models.ForeignKey(
        Membership,
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("The payer of the claimant's household, whose arrears were deducted."),
    )
    gross_fen = models.PositiveBigIntegerField(_("payout (fen)"))
    arrears_deducted_fen = models.PositiveBigIntegerField(_("arrears deducted (fen)"))
    net_fen = models.PositiveBigIntegerField(_("paid (fen)"))
    paid_on = models.DateField(_("paid on"))
    paid_by = models.ForeignKey(User, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-paid_on", "-pk"]
        verbose_name = _("payout")
        verbose_name_plural = _("payouts")
        constraints = [
            models.CheckConstraint(
                condition=Q(gross_fen=F("arrears_deducted_fen") + F("net_fen")), name="payout_gross_is_net_plus_arrears"
            ),
            models.CheckConstraint(condition=Q(gross_fen__gt=0), name="payout_gross_positive"),
        ]
        indexes = [models.Index(fields=["payer"], name="payout_payer")]

    def __str__(self) -> str:
        return f"claim {self.claim_id}: {self.net_fen} of {self.gross_fen}"


class Refund(models.Model):
    """The shares charged for a membership ended by an illness in its waiting period, credited back once.

    Written only by the daily job's INSERT … SELECT; `entry` is the journal entry that posted it, set in
    the same transaction, so a refund is either posted or about to be posted by the next run.
    """

    membership = models.OneToOneField(Membership, on_delete=models.PROTECT, related_name="refund")
    payer = models.ForeignKey(Membership, on_delete=models.PROTECT, related_name="+")
    amount_fen = models.PositiveBigIntegerField(_("refunded (fen)"))
    refunded_on = models.DateField(_("refunded on"))
    entry = models.ForeignKey(JournalEntry, on_delete=models.PROTECT, null=True, blank=True, related_name="refunds")

    class Meta:
        ordering = ["-refunded_on", "-pk"]
        verbose_name = _("refund")
        verbose_name_plural = _("refunds")
        indexes = [models.Index(fields=["payer"], name="refund_payer")]

    def __str__(self) -> str:
        return f"{self.membership_id}: {self.amount_fen}"


class MemberCount(models.Model):
    """How many memberships of a plan were in each state at 00:00 (Beijing) on a day: members over time.

    Written by the daily money job with one aggregate over the memberships' dates, so the public charts
    and the admin dashboard read one small row per day and never count members during a request. The
    counts follow the sharers' own cut-off (settlement/sql.py): `waiting + active` on a notice day is
    that period's number of sharers. Memberships that were never covered (declined at review, or left on
    the day they joined) are in none of the ended counts.
    """

    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="+")
    day = models.DateField(_("day"))
    pending_review = models.PositiveBigIntegerField(_("pending review"), default=0)
    waiting = models.PositiveBigIntegerField(_("in waiting period"), default=0)
    active = models.PositiveBigIntegerField(_("covered"), default=0)
    exited = models.PositiveBigIntegerField(_("exited"), default=0)
    removed = models.PositiveBigIntegerField(_("removed"), default=0)
    paid_out = models.PositiveBigIntegerField(_("paid out"), default=0)
    expelled = models.PositiveBigIntegerField(_("expelled"), default=0)
    counted_at = models.DateTimeField(_("counted at"), auto_now=True)

    class Meta:
        ordering = ["plan", "day"]
        verbose_name = _("daily member count")
        verbose_name_plural = _("daily member counts")
        constraints = [models.UniqueConstraint(fields=["plan", "day"], name="member_count_once_per_plan_day")]

    def __str__(self) -> str:
        return f"{self.plan_id} {self.day}: {self.covered} covered"

    @property
    def covered(self) -> int:
        """The members sharing a period whose notice day this is."""
        return self.waiting + self.active
