from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.contrib.auth.models import AbstractUser
from django.core.serializers.json import DjangoJSONEncoder
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from rest_framework_api_key.models import AbstractAPIKey
from simple_history.models import HistoricalRecords

from members.identity import decrypt_id_number


class User(AbstractUser):
    """A login: members sign up with their mobile number (also their username); staff are admins."""

    phone = models.CharField(_("mobile number"), max_length=20, unique=True, null=True, blank=True)
    require_2fa = models.BooleanField(
        _("requires a second factor"),
        default=False,
        help_text=_(
            "Admin asks this staff account for a code from an authenticator app, even when the site does not "
            "require it of every staff account."
        ),
    )
    # E-mail notifications (the inherited `email` is the address; members sign up with a phone number,
    # so it is optional): charges published, claim and membership status changes.
    email_notifications = models.BooleanField(_("send me e-mail notifications"), default=True)
    email_language = models.CharField(_("language of e-mails"), max_length=10, blank=True, default="")


class Plan(models.Model):
    """Every rule of the plan is a field here, editable in admin (defaults from DESIGN.md)."""

    code = models.SlugField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=100)
    min_age_days = models.PositiveIntegerField(_("minimum entry age (days)"), default=30)
    max_entry_age_years = models.PositiveIntegerField(_("maximum entry age (years, inclusive)"), default=59)
    age_out_years = models.PositiveIntegerField(_("coverage ends on this birthday (years)"), default=60)
    waiting_period_days = models.PositiveIntegerField(_("waiting period (days)"), default=90)
    credit_min_score = models.PositiveIntegerField(_("minimum credit score"), default=650)
    management_fee_rate = models.DecimalField(
        _("management fee rate"),
        max_digits=5,
        decimal_places=4,
        default=Decimal("0.0800"),
        validators=[MinValueValidator(Decimal(0)), MaxValueValidator(Decimal(1))],
    )
    claim_window_days = models.PositiveIntegerField(_("claim window after diagnosis (days)"), default=180)
    per_claim_cap_fen = models.PositiveBigIntegerField(_("cap per claim per member (fen)"), default=10)
    annual_cap_fen = models.PositiveBigIntegerField(_("cap per member per calendar year (fen)"), default=18800)
    first_notice_day = models.PositiveSmallIntegerField(_("first notice day of the month"), default=7)
    first_charge_day = models.PositiveSmallIntegerField(_("first charge day of the month"), default=14)
    second_notice_day = models.PositiveSmallIntegerField(_("second notice day of the month"), default=21)
    second_charge_day = models.PositiveSmallIntegerField(_("second charge day of the month"), default=28)
    grace_days_before_next_charge = models.PositiveSmallIntegerField(
        _("unpaid charges may be settled until this many days before the next charge day"), default=2
    )
    four_eyes_threshold_fen = models.PositiveBigIntegerField(
        _("payouts at or above this amount need a second admin (fen)"), default=0
    )
    jury_quorum = models.PositiveIntegerField(_("jury quorum (votes)"), default=1000)
    jury_voting_hours = models.PositiveIntegerField(_("jury voting window (hours)"), default=72)
    juror_min_age_years = models.PositiveIntegerField(_("juror minimum age (years)"), default=18)
    juror_min_membership_days = models.PositiveIntegerField(_("juror minimum membership (days)"), default=30)
    is_active = models.BooleanField(_("open for joining"), default=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("plan")
        verbose_name_plural = _("plans")
        constraints = [
            models.CheckConstraint(
                condition=Q(max_entry_age_years__lt=models.F("age_out_years")),
                name="plan_entry_age_below_age_out",
            ),
            models.CheckConstraint(
                condition=Q(management_fee_rate__gte=0) & Q(management_fee_rate__lte=1),
                name="plan_fee_rate_between_0_and_1",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class PayoutTier(models.Model):
    """The fixed payout by age at diagnosis (a plan rule: it lives with the plan, claims read it)."""

    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="payout_tiers")
    from_age = models.PositiveSmallIntegerField(_("from age"))
    to_age = models.PositiveSmallIntegerField(_("to age (inclusive)"))
    amount_fen = models.PositiveBigIntegerField(_("payout (fen)"))

    class Meta:
        ordering = ["from_age"]
        verbose_name = _("payout tier")
        verbose_name_plural = _("payout tiers")
        constraints = [
            models.UniqueConstraint(fields=["plan", "from_age"], name="payout_tier_unique_from_age"),
            models.CheckConstraint(condition=Q(from_age__lte=models.F("to_age")), name="payout_tier_ages_ordered"),
            models.CheckConstraint(condition=Q(amount_fen__gt=0), name="payout_tier_amount_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.from_age}–{self.to_age}: {self.amount_fen // 100} yuan"


class HealthQuestion(models.Model):
    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="health_questions")
    code = models.CharField(_("code"), max_length=16)
    text_zh = models.TextField(_("question (Chinese)"))
    text_en = models.TextField(_("question (English)"))
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    class Meta:
        ordering = ["position", "code"]
        verbose_name = _("health question")
        verbose_name_plural = _("health questions")
        constraints = [models.UniqueConstraint(fields=["plan", "code"], name="health_question_unique_code")]

    def __str__(self) -> str:
        return f"{self.code}: {self.text_en}"

    def text(self, language: str | None) -> str:
        return self.text_en if (language or "").startswith("en") else self.text_zh


class Sex(models.TextChoices):
    MALE = "M", _("male")
    FEMALE = "F", _("female")


class Person(models.Model):
    """A human being, identified by the resident ID number (stored encrypted, never in clear)."""

    name = models.CharField(_("name"), max_length=50)
    id_number_encrypted = models.TextField(_("ID number (encrypted)"), editable=False)
    id_number_hash = models.CharField(_("ID number (keyed hash)"), max_length=64, unique=True, editable=False)
    id_number_masked = models.CharField(_("ID number"), max_length=18, editable=False)
    birth_date = models.DateField(_("birth date"), editable=False)
    sex = models.CharField(_("sex"), max_length=1, choices=Sex.choices, editable=False)
    phone = models.CharField(_("mobile number"), max_length=20, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords(excluded_fields=["id_number_encrypted", "id_number_hash"])

    class Meta:
        verbose_name = _("person")
        verbose_name_plural = _("people")
        indexes = [models.Index(fields=["birth_date"], name="person_birth_date")]

    def __str__(self) -> str:
        return f"{self.name} ({self.id_number_masked})"

    def reveal_id_number(self) -> str:
        return decrypt_id_number(self.id_number_encrypted)


class WriteOnceQuerySet(models.QuerySet["IdNumberReveal"]):
    """Bulk changes are refused like single ones: a record of access that can be edited proves nothing."""

    def update(self, **kwargs: Any) -> int:
        raise PermissionError("ID number reveals are written once and never changed")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise PermissionError("ID number reveals are written once and never deleted")


class IdNumberReveal(models.Model):
    """One showing of a person's full ID number in admin: who saw it, when, and why. Written once.

    The database refuses changes too (a trigger, see the migration), so not even a script can rewrite it.
    """

    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="id_number_reveals")
    revealed_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+", verbose_name=_("revealed by"))
    revealed_at = models.DateTimeField(_("revealed at"), auto_now_add=True)
    reason = models.TextField(_("reason"))

    objects = WriteOnceQuerySet.as_manager()

    class Meta:
        verbose_name = _("ID number reveal")
        verbose_name_plural = _("ID number reveals")
        ordering = ["-revealed_at", "-id"]
        default_permissions = ("view",)
        permissions = [("reveal_id_number", _("Can reveal a person's full ID number, giving a reason"))]

    def __str__(self) -> str:
        return f"{self.person} · {self.revealed_by} · {self.revealed_at:%Y-%m-%d %H:%M}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise PermissionError("ID number reveals are written once and never changed")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise PermissionError("ID number reveals are written once and never deleted")


class Relationship(models.TextChoices):
    SELF = "self", _("self")
    SPOUSE = "spouse", _("spouse")
    CHILD = "child", _("child")
    PARENT = "parent", _("parent")


class MembershipStatus(models.TextChoices):
    PENDING_REVIEW = "pending_review", _("pending review")
    WAITING = "waiting", _("in waiting period")
    ACTIVE = "active", _("covered")
    EXITED = "exited", _("exited")
    REMOVED = "removed", _("removed")
    PAID_OUT = "paid_out", _("paid out")
    EXPELLED = "expelled", _("expelled")


LIVE_STATUSES = (MembershipStatus.PENDING_REVIEW, MembershipStatus.WAITING, MembershipStatus.ACTIVE)
COVERED_STATUSES = (MembershipStatus.WAITING, MembershipStatus.ACTIVE)


class CreditSource(models.TextChoices):
    RECORD = "record", _("bureau record")
    ATTESTED = "attested", _("attested by a partner")
    ADMIN = "admin", _("decided by an administrator")
    PAYER = "payer", _("covered by the payer's credit")


class Membership(models.Model):
    """One person's membership of one plan; a payer (relationship self) pays for their dependants."""

    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="memberships")
    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="memberships")
    account = models.ForeignKey(
        User,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="memberships",
        help_text=_("The login that manages this payer's household."),
    )
    payer = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="dependants",
        help_text=_("Empty: this member pays for themself."),
    )
    relationship = models.CharField(_("relationship"), max_length=10, choices=Relationship.choices)
    status = models.CharField(_("status"), max_length=20, choices=MembershipStatus.choices)
    status_reason = models.CharField(_("status reason"), max_length=200, blank=True)
    joined_on = models.DateField(_("joined on"))
    waiting_period_ends = models.DateField(_("waiting period ends"))
    ended_on = models.DateField(_("ended on"), null=True, blank=True)
    health_declaration = models.JSONField(_("health declaration"), default=dict, editable=False)
    credit_source = models.CharField(_("credit source"), max_length=10, choices=CreditSource.choices)
    credit_score = models.PositiveIntegerField(_("credit score"), null=True, blank=True)
    external_ref = models.CharField(_("external reference"), max_length=64, blank=True)
    partner = models.ForeignKey(
        "Partner",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        # Indexed with the id below (membership_partner_id), not alone.
        db_index=False,
        related_name="memberships",
        help_text=_("The partner that enrolled this member through the API; empty for sign-ups on the site."),
    )
    created_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("member")
        verbose_name_plural = _("members")
        constraints = [
            # One live membership per person per plan, whoever tries to enrol them and however fast.
            models.UniqueConstraint(
                fields=["person", "plan"],
                condition=Q(status__in=["pending_review", "waiting", "active"]),
                name="membership_one_live_per_person_plan",
            ),
            # The partner's own id for a person names one live membership. Only live ones: a person who
            # exited may rejoin later through the same partner, under the same reference.
            models.UniqueConstraint(
                fields=["partner", "external_ref"],
                condition=~Q(external_ref="") & Q(status__in=["pending_review", "waiting", "active"]),
                name="membership_unique_live_partner_ref",
            ),
            models.CheckConstraint(
                condition=(Q(relationship="self") & Q(payer__isnull=True))
                | (~Q(relationship="self") & Q(payer__isnull=False)),
                name="membership_payer_iff_dependant",
            ),
            models.CheckConstraint(
                condition=Q(waiting_period_ends__gte=models.F("joined_on")),
                name="membership_waiting_after_joining",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "waiting_period_ends"], name="membership_status_waiting"),
            models.Index(fields=["joined_on"], name="membership_joined_on"),
            models.Index(fields=["external_ref"], name="membership_external_ref"),
            # A partner's members by id: the API's look-up of one member (partner and id in the index, so
            # the plan never walks the partner's millions of members to find one, whatever the statistics
            # say) and its pages of members in id order.
            models.Index(fields=["partner", "id"], name="membership_partner_id"),
            # The daily refunds job looks for memberships ended by an illness in their waiting period: a
            # few rows among 100 million, found through this small index instead of a scan.
            models.Index(
                fields=["ended_on"],
                condition=Q(status_reason="waiting_period_illness"),
                name="membership_wp_illness_ended",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.person.name} ({self.get_relationship_display()})"

    @property
    def is_payer(self) -> bool:
        return self.payer_id is None

    @property
    def is_live(self) -> bool:
        return self.status in LIVE_STATUSES


class CreditRecord(models.Model):
    """A bureau's verdict on one person, imported from a CSV by an administrator."""

    id_number_hash = models.CharField(max_length=64, unique=True, editable=False)
    id_number_masked = models.CharField(_("ID number"), max_length=18, editable=False)
    score = models.PositiveIntegerField(_("score"))
    dishonest_debtor = models.BooleanField(_("on the dishonest-debtor list"), default=False)
    imported_at = models.DateTimeField(_("imported at"), auto_now=True)
    credit_import = models.ForeignKey(
        "CreditImport", on_delete=models.SET_NULL, null=True, blank=True, related_name="records"
    )

    class Meta:
        verbose_name = _("credit record")
        verbose_name_plural = _("credit records")

    def __str__(self) -> str:
        return f"{self.id_number_masked}: {self.score}"


class CreditImport(models.Model):
    """A bureau file, previewed before it is applied; its rows are kept encrypted until then."""

    class Status(models.TextChoices):
        PREVIEWED = "previewed", _("previewed")
        APPLIED = "applied", _("applied")

    file_name = models.CharField(_("file"), max_length=200)
    payload_encrypted = models.TextField(editable=False)
    row_count = models.PositiveIntegerField(_("rows"))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PREVIEWED)
    created_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    applied_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("credit import")
        verbose_name_plural = _("credit imports")

    def __str__(self) -> str:
        return f"{self.file_name} ({self.row_count})"


class Partner(models.Model):
    """A payment app, employer or broker that enrols members and files claims through the API."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("partner")
        verbose_name_plural = _("partners")

    def __str__(self) -> str:
        return self.name


class PartnerAPIKey(AbstractAPIKey):
    """A partner's API key: only a prefix and a hash are stored, the key itself is shown once."""

    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="api_keys")

    class Meta:
        ordering = ("-created",)
        verbose_name = _("partner API key")
        verbose_name_plural = _("partner API keys")


class IdempotencyKey(models.Model):
    """A partner's Idempotency-Key and the response it got, replayed when the same request comes again."""

    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="idempotency_keys")
    key = models.CharField(max_length=255)
    # SHA-256 of the method, path and body: the same key with another request is a conflict, not a replay.
    fingerprint = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField(null=True)
    response = models.JSONField(null=True, encoder=DjangoJSONEncoder)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("idempotency key")
        verbose_name_plural = _("idempotency keys")
        constraints = [models.UniqueConstraint(fields=["partner", "key"], name="idempotency_key_unique_per_partner")]

    def __str__(self) -> str:
        return self.key


class NotificationMark(models.Model):
    """A batch of notifications already sent (“charge-published:period-12:payers-0”), so a task run twice,
    or again after a worker died, does not send the same batch twice."""

    key = models.CharField(max_length=100, unique=True)
    sent = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("notification batch")
        verbose_name_plural = _("notification batches")

    def __str__(self) -> str:
        return self.key
