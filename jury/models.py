"""The jury: appeals of rejected claims, the jurors who decide them, their votes and the juror test.

The numbers the design names as plan fields (quorum, voting window, juror age and seniority) are
fields of members.Plan already; the rules only the jury needs live here, one row per plan.
"""

from __future__ import annotations

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from claims.models import Claim
from members.models import Plan, User


class JuryRules(models.Model):
    """The jury's rules of one plan, beside the plan's own jury fields (quorum, window, age, seniority)."""

    plan = models.OneToOneField(Plan, on_delete=models.CASCADE, related_name="jury_rules")
    appeal_window_days = models.PositiveSmallIntegerField(
        _("a rejection may be appealed for this many days"), default=30
    )
    quiz_pass_percent = models.PositiveSmallIntegerField(
        # xgettext:no-python-format
        _("juror test pass mark (% of answers right)"),
        default=80,
        validators=[MinValueValidator(1), MaxValueValidator(100)],
    )

    class Meta:
        verbose_name = _("jury rules")
        verbose_name_plural = _("jury rules")
        constraints = [
            models.CheckConstraint(
                condition=Q(quiz_pass_percent__gte=1) & Q(quiz_pass_percent__lte=100), name="jury_pass_percent_range"
            )
        ]

    def __str__(self) -> str:
        return str(self.plan)


class JurorQuestion(models.Model):
    """A question of the juror test on the plan's rules (plan data, seeded from data/juror_questions.csv)."""

    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="juror_questions")
    code = models.CharField(_("code"), max_length=16)
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    text_zh = models.TextField(_("question (Chinese)"))
    text_en = models.TextField(_("question (English)"))
    choices_zh = models.JSONField(_("choices (Chinese)"), default=list)
    choices_en = models.JSONField(_("choices (English)"), default=list)
    answer = models.PositiveSmallIntegerField(_("right choice (counted from 0)"))

    class Meta:
        ordering = ["position", "code"]
        verbose_name = _("juror test question")
        verbose_name_plural = _("juror test questions")
        constraints = [models.UniqueConstraint(fields=["plan", "code"], name="juror_question_unique_code")]

    def __str__(self) -> str:
        return f"{self.code}: {self.text_en}"

    def text(self, language: str | None) -> str:
        return self.text_en if (language or "").startswith("en") else self.text_zh

    def choices(self, language: str | None) -> list[str]:
        return list(self.choices_en if (language or "").startswith("en") else self.choices_zh)


class Juror(models.Model):
    """A login that took the juror test; it may vote once it has passed and accepted the rules.

    The member rules (payer, age, seniority, arrears, no false declaration) are checked again at every
    vote, since arrears and memberships change; only the test and the rules are recorded here.
    """

    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="jurors")
    user = models.ForeignKey(User, on_delete=models.PROTECT, related_name="jurors")
    passed_at = models.DateTimeField(_("passed the test at"), null=True, blank=True)
    rules_accepted_at = models.DateTimeField(_("accepted the rules at"), null=True, blank=True)
    last_score = models.PositiveSmallIntegerField(_("last test score"), default=0)
    attempts = models.PositiveSmallIntegerField(_("test attempts"), default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("juror")
        verbose_name_plural = _("jurors")
        constraints = [models.UniqueConstraint(fields=["plan", "user"], name="juror_once_per_plan")]

    def __str__(self) -> str:
        return f"juror {self.pk}"

    @property
    def qualified(self) -> bool:
        return self.passed_at is not None and self.rules_accepted_at is not None


class AppealStatus(models.TextChoices):
    OPEN = "open", _("voting")
    DECIDED = "decided", _("decided")
    ESCALATED = "escalated", _("sent to a senior administrator")


class AppealOutcome(models.TextChoices):
    APPROVED = "approved", _("approved on appeal")
    UPHELD = "upheld", _("rejection upheld")


class Appeal(models.Model):
    """A rejected claimant's appeal to the jury: one per claim, ever."""

    # Not "appeal": that name is the claim's own state-machine transition.
    claim = models.OneToOneField(Claim, on_delete=models.PROTECT, related_name="jury_appeal")
    statement = models.TextField(_("claimant's statement"), max_length=5000)
    filed_by = models.ForeignKey(User, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    filed_at = models.DateTimeField(_("filed at"))
    deadline = models.DateTimeField(_("voting closes at"))
    status = models.CharField(_("status"), max_length=10, choices=AppealStatus.choices, default=AppealStatus.OPEN)
    outcome = models.CharField(_("outcome"), max_length=10, choices=AppealOutcome.choices, blank=True)
    # Fixed when the vote closes; while it is open the counts are read from the votes (admin only).
    votes_for = models.PositiveIntegerField(_("votes for the claimant"), default=0)
    votes_against = models.PositiveIntegerField(_("votes against"), default=0)
    quorum = models.PositiveIntegerField(_("quorum"), default=0)
    closed_at = models.DateTimeField(_("vote closed at"), null=True, blank=True)
    decided_by = models.ForeignKey(
        User,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("The senior administrator who decided an escalated appeal; empty when the jury decided."),
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)

    class Meta:
        ordering = ["-filed_at", "-id"]
        verbose_name = _("appeal")
        verbose_name_plural = _("appeals")
        permissions = [("decide_escalated_appeal", _("Can decide an appeal the jury left without quorum"))]
        constraints = [
            models.CheckConstraint(
                condition=Q(status="decided", outcome__in=["approved", "upheld"])
                | (~Q(status="decided") & Q(outcome="")),
                name="appeal_outcome_iff_decided",
            ),
            models.CheckConstraint(condition=Q(deadline__gt=models.F("filed_at")), name="appeal_deadline_after_filing"),
        ]
        indexes = [models.Index(fields=["status", "deadline"], name="appeal_status_deadline")]

    def __str__(self) -> str:
        return f"appeal of claim #{self.claim_id}"

    @property
    def votes_total(self) -> int:
        return self.votes_for + self.votes_against


class Vote(models.Model):
    """One juror's vote on one appeal; the database holds "once per juror", whatever arrives at once."""

    appeal = models.ForeignKey(Appeal, on_delete=models.PROTECT, related_name="votes")
    juror = models.ForeignKey(Juror, on_delete=models.PROTECT, related_name="votes")
    for_claimant = models.BooleanField(_("for the claimant"))
    at = models.DateTimeField(_("at"))

    class Meta:
        ordering = ["at", "id"]
        verbose_name = _("vote")
        verbose_name_plural = _("votes")
        constraints = [models.UniqueConstraint(fields=["appeal", "juror"], name="vote_once_per_juror")]

    def __str__(self) -> str:
        return f"vote {self.pk} on appeal {self.appeal_id}"
