from __future__ import annotations

import uuid
from typing import Any

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django_fsm import FSMField, transition

from members.models import Membership, Person, Plan, User


class CoveredCondition(models.Model):
    """A critical illness the plan covers (plan data: seeded from the 2020 definitions, admins add)."""

    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="conditions")
    code = models.CharField(_("code"), max_length=16)
    name_zh = models.CharField(_("name (Chinese)"), max_length=100)
    name_en = models.CharField(_("name (English)"), max_length=200)

    class Meta:
        ordering = ["code"]
        verbose_name = _("covered condition")
        verbose_name_plural = _("covered conditions")
        constraints = [models.UniqueConstraint(fields=["plan", "code"], name="condition_unique_code")]

    def __str__(self) -> str:
        return f"{self.code} {self.name_zh}"

    def name(self, language: str | None) -> str:
        return self.name_en if (language or "").startswith("en") else self.name_zh


class Notice(models.Model):
    """One notice day's publication: the approved claims shared in the period that ends on charge_date.

    The settlement app's sharing period is keyed by its notice (same id), so claims never import it.
    """

    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="notices")
    notice_date = models.DateField(_("notice date"))
    charge_date = models.DateField(_("charge date"))
    published_at = models.DateTimeField(_("published at"), auto_now_add=True)

    class Meta:
        ordering = ["-notice_date"]
        verbose_name = _("notice")
        verbose_name_plural = _("notices")
        constraints = [
            models.UniqueConstraint(fields=["plan", "notice_date"], name="notice_unique_date"),
            models.CheckConstraint(condition=Q(charge_date__gt=models.F("notice_date")), name="notice_charge_after"),
        ]

    def __str__(self) -> str:
        return f"{self.notice_date} → {self.charge_date}"


class ClaimKind(models.TextChoices):
    ILLNESS = "illness", _("illness")
    ACCIDENT = "accident", _("accident")


class ClaimStatus(models.TextChoices):
    SUBMITTED = "submitted", _("submitted")
    INVESTIGATING = "investigating", _("under investigation")
    APPROVED = "approved", _("approved")
    REJECTED = "rejected", _("rejected")
    APPEALED = "appealed", _("appealed")
    IN_NOTICE = "in_notice", _("in public notice")
    SHARED = "shared", _("shared")
    PAID = "paid", _("paid")
    WITHDRAWN = "withdrawn", _("withdrawn")


class RejectionReason(models.TextChoices):
    WAITING_PERIOD = "waiting_period", _("The illness was diagnosed during the waiting period.")
    NOT_COVERED = "not_covered", _("The condition is not one the plan covers.")
    AGE_LIMIT = "age_limit", _("The age at diagnosis is outside the plan's payout ages.")
    HEALTH_DECLARATION = "health_declaration", _("The health declaration made on joining was not true.")
    LATE_CLAIM = "late_claim", _("The claim was filed more than 180 days after the diagnosis.")
    ALREADY_PAID = "already_paid", _("This person has already received a payout.")
    NOT_MEMBER_AT_DIAGNOSIS = "not_member_at_diagnosis", _("The person was not a member on the day of diagnosis.")
    FRAUD = "fraud", _("The claim or its documents were found to be false.")
    OTHER = "other", _("Another reason, explained in the note.")


# Claims that hold or have held a payout: a person gets one per life.
PAYOUT_STATUSES = (ClaimStatus.APPROVED, ClaimStatus.IN_NOTICE, ClaimStatus.SHARED, ClaimStatus.PAID)
# A person has at most one claim in progress at a time (the database holds this rule too).
IN_PROGRESS_STATUSES = ("submitted", "investigating", "appealed", "approved", "in_notice", "shared")


class Claim(models.Model):
    """A member's claim for the fixed payout; its status moves only through the transitions below."""

    member = models.ForeignKey(Membership, on_delete=models.PROTECT, related_name="claims")
    # The member's person, kept on the claim so the database can hold "one claim in progress per person"
    # across every membership that person has had.
    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="claims", editable=False)
    filed_by = models.ForeignKey(User, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    kind = models.CharField(_("kind"), max_length=10, choices=ClaimKind.choices)
    condition = models.ForeignKey(CoveredCondition, on_delete=models.PROTECT, related_name="claims")
    diagnosed_on = models.DateField(_("diagnosis date"))
    hospital = models.CharField(_("hospital"), max_length=200)
    description = models.TextField(_("description"), max_length=5000)
    status = FSMField(_("status"), max_length=20, choices=ClaimStatus.choices, default=ClaimStatus.SUBMITTED)
    rejection_reason = models.CharField(
        _("rejection reason"), max_length=30, choices=RejectionReason.choices, blank=True
    )
    payout_fen = models.PositiveBigIntegerField(_("payout (fen)"), null=True, blank=True)
    age_at_diagnosis = models.PositiveSmallIntegerField(_("age at diagnosis"), null=True, blank=True)
    approval_proposed_by = models.ForeignKey(
        User,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("The first administrator of a four-eyes approval."),
    )
    notice = models.ForeignKey(Notice, on_delete=models.PROTECT, null=True, blank=True, related_name="claims")
    filed_at = models.DateTimeField(_("filed at"), auto_now_add=True)
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)

    class Meta:
        ordering = ["-filed_at"]
        verbose_name = _("claim")
        verbose_name_plural = _("claims")
        constraints = [
            models.CheckConstraint(
                condition=~Q(status="rejected") | ~Q(rejection_reason=""), name="claim_rejected_has_reason"
            ),
            # A CHECK passes on NULL, so the payout and age are required explicitly, not just "> 0".
            models.CheckConstraint(
                condition=~Q(status__in=["approved", "in_notice", "shared", "paid"])
                | (Q(payout_fen__isnull=False) & Q(payout_fen__gt=0) & Q(age_at_diagnosis__isnull=False)),
                name="claim_payout_fixed_at_approval",
            ),
            models.UniqueConstraint(
                fields=["person"],
                condition=Q(status__in=IN_PROGRESS_STATUSES),
                name="claim_one_in_progress_per_person",
            ),
            models.CheckConstraint(condition=~Q(status="in_notice") | Q(notice__isnull=False), name="claim_notice_set"),
        ]
        indexes = [models.Index(fields=["status", "filed_at"], name="claim_status_filed")]

    def __str__(self) -> str:
        return f"#{self.pk} {self.get_kind_display()} {self.condition.code}"

    # The graph of the lifecycle (DESIGN.md); services check the rules, then call one of these.
    @transition(field=status, source=ClaimStatus.SUBMITTED, target=ClaimStatus.INVESTIGATING)
    def start_investigation(self) -> None:
        pass

    @transition(field=status, source=ClaimStatus.INVESTIGATING, target=ClaimStatus.APPROVED)
    def approve(self) -> None:
        pass

    @transition(
        field=status,
        source=[ClaimStatus.SUBMITTED, ClaimStatus.INVESTIGATING, ClaimStatus.APPEALED],
        target=ClaimStatus.REJECTED,
    )
    def reject(self) -> None:
        pass

    @transition(field=status, source=[ClaimStatus.SUBMITTED, ClaimStatus.INVESTIGATING], target=ClaimStatus.WITHDRAWN)
    def withdraw(self) -> None:
        pass

    @transition(field=status, source=ClaimStatus.APPROVED, target=ClaimStatus.IN_NOTICE)
    def publish(self) -> None:
        pass

    @transition(field=status, source=ClaimStatus.IN_NOTICE, target=ClaimStatus.INVESTIGATING)
    def reopen_after_objection(self) -> None:
        pass

    @transition(field=status, source=ClaimStatus.REJECTED, target=ClaimStatus.APPEALED)
    def appeal(self) -> None:
        pass

    @transition(field=status, source=ClaimStatus.APPEALED, target=ClaimStatus.APPROVED)
    def approve_on_appeal(self) -> None:
        pass

    @transition(field=status, source=ClaimStatus.IN_NOTICE, target=ClaimStatus.SHARED)
    def share(self) -> None:
        pass

    @transition(field=status, source=ClaimStatus.SHARED, target=ClaimStatus.PAID)
    def mark_paid(self) -> None:
        pass


def document_upload_to(instance: ClaimDocument, filename: str) -> str:
    # Never the member's file name on disk: a random name, the claim's folder, the checked extension.
    return f"claims/{instance.claim_id}/{uuid.uuid4().hex}.{instance.extension}"


class ClaimDocument(models.Model):
    EXTENSIONS = {"application/pdf": "pdf", "image/jpeg": "jpg", "image/png": "png"}

    claim = models.ForeignKey(Claim, on_delete=models.PROTECT, related_name="documents")
    file = models.FileField(upload_to=document_upload_to, max_length=200)
    name = models.CharField(_("file name"), max_length=200)
    content_type = models.CharField(_("type"), max_length=50)
    size = models.PositiveIntegerField(_("size (bytes)"))
    sha256 = models.CharField(max_length=64)
    uploaded_by = models.ForeignKey(User, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["uploaded_at", "id"]
        verbose_name = _("document")
        verbose_name_plural = _("documents")

    def __str__(self) -> str:
        return self.name

    @property
    def extension(self) -> str:
        return self.EXTENSIONS.get(self.content_type, "bin")


class AppendOnlyQuerySet(models.QuerySet["ClaimTransition"]):
    """Bulk update() and delete() would go around save() and delete(): refuse them too."""

    def update(self, **kwargs: Any) -> int:
        raise ValueError("Claim transitions are never edited; record a new one instead.")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise ValueError("Claim transitions are never deleted.")


class ClaimTransition(models.Model):
    """One step of a claim's life: who, when, from, to, why. Written once, never edited."""

    claim = models.ForeignKey(Claim, on_delete=models.PROTECT, related_name="transitions")
    from_status = models.CharField(_("from"), max_length=20, blank=True)
    to_status = models.CharField(_("to"), max_length=20)
    action = models.CharField(_("action"), max_length=30)
    by = models.ForeignKey(User, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    at = models.DateTimeField(_("at"), auto_now_add=True)
    reason = models.CharField(_("reason"), max_length=30, blank=True)
    note = models.TextField(_("note"), blank=True)

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        ordering = ["at", "id"]
        verbose_name = _("claim transition")
        verbose_name_plural = _("claim transitions")

    def __str__(self) -> str:
        return f"{self.from_status or '∅'} → {self.to_status}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise ValueError("A claim transition is never edited; record a new one instead.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise ValueError("A claim transition is never deleted.")


class Objection(models.Model):
    """A member's objection to a published claim: one per member and claim, during the notice window."""

    claim = models.ForeignKey(Claim, on_delete=models.PROTECT, related_name="objections")
    notice = models.ForeignKey(Notice, on_delete=models.PROTECT, related_name="objections")
    by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="objections")
    reason = models.TextField(_("reason"), max_length=2000)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["at"]
        verbose_name = _("objection")
        verbose_name_plural = _("objections")
        constraints = [models.UniqueConstraint(fields=["claim", "by"], name="objection_once_per_member")]

    def __str__(self) -> str:
        return f"objection to #{self.claim_id}"
