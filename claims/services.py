"""Writes of claims: filing, documents, the review workflow, notices and objections.

Every change of a claim's status goes through `_transition`, which locks the claim row, checks that
it is still in the status the administrator saw, moves it along the state machine and records who,
when, from, to and why. Two administrators acting at once: the second waits for the lock, then finds
the status changed and gets ConcurrentDecision instead of a second decision.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from datetime import date

import filetype
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django_fsm import TransitionNotAllowed

from claims.errors import (
    ApprovalRefused,
    ClaimNotAllowed,
    ConcurrentDecision,
    DocumentTooLarge,
    FourEyesRequired,
    ObjectionNotAllowed,
    UnsupportedDocument,
)
from claims.models import (
    PAYOUT_STATUSES,
    Claim,
    ClaimDocument,
    ClaimKind,
    ClaimStatus,
    ClaimTransition,
    CoveredCondition,
    Notice,
    Objection,
    RejectionReason,
)
from members.dates import age_in_years
from members.errors import DomainError
from members.models import LIVE_STATUSES, Membership, MembershipStatus, Plan, User
from members.selectors import payout_for_age
from members.services import membership_end_for_waiting_period_illness

logger = logging.getLogger(__name__)

MAX_DOCUMENT_BYTES = 10 * 1024 * 1024
ALLOWED_DOCUMENT_TYPES = {"application/pdf", "image/jpeg", "image/png"}
OPEN_STATUSES = (ClaimStatus.SUBMITTED, ClaimStatus.INVESTIGATING, ClaimStatus.APPROVED, ClaimStatus.IN_NOTICE)


# --- filing ----------------------------------------------------------------------------------------


def claim_file(
    *,
    member: Membership,
    by: User | None,
    kind: str,
    condition: CoveredCondition,
    diagnosed_on: date,
    hospital: str,
    description: str,
    on: date | None = None,
) -> Claim:
    """File a claim for a member (by the member, their payer or a partner)."""
    on = on or timezone.localdate()
    if kind not in ClaimKind.values:
        raise DomainError(_("Choose illness or accident."), field="kind")
    if diagnosed_on > on:
        raise DomainError(_("The diagnosis date cannot be in the future."), field="diagnosed_on")
    if condition.plan_id != member.plan_id:
        raise DomainError(_("Choose one of the plan's covered conditions."), field="condition")
    if not hospital.strip():
        raise DomainError(_("Enter the hospital that made the diagnosis."), field="hospital")
    if not description.strip():
        raise DomainError(_("Describe what happened in a few sentences."), field="description")
    if member.status == MembershipStatus.PENDING_REVIEW:
        raise ClaimNotAllowed(
            _("This membership is still waiting for review; a claim can be filed once it is confirmed.")
        )
    with transaction.atomic():
        locked = Membership.objects.select_for_update().get(pk=member.pk)
        if Claim.objects.filter(member__person_id=locked.person_id, status__in=OPEN_STATUSES).exists():
            raise ClaimNotAllowed(_("This person already has a claim in progress; add documents to it instead."))
        claim = Claim.objects.create(
            member=locked,
            filed_by=by,
            kind=kind,
            condition=condition,
            diagnosed_on=diagnosed_on,
            hospital=hospital.strip(),
            description=description.strip(),
        )
        ClaimTransition.objects.create(claim=claim, to_status=claim.status, action="file", by=by)
    logger.info("claim %s filed for membership %s", claim.pk, member.pk)
    return claim


def claim_document_add(*, claim: Claim, upload: UploadedFile, by: User | None) -> ClaimDocument:
    """Attach a PDF, JPEG or PNG of at most 10 MB; the type is read from the content, not the name."""
    if upload.size is None or upload.size > MAX_DOCUMENT_BYTES:
        raise DocumentTooLarge()
    if upload.size == 0:
        raise UnsupportedDocument(_("The file is empty."))
    upload.seek(0)
    head = upload.read(2048)
    kind = filetype.guess(head)
    if kind is None or kind.mime not in ALLOWED_DOCUMENT_TYPES:
        raise UnsupportedDocument()
    upload.seek(0)
    digest = hashlib.sha256()
    for chunk in upload.chunks():
        digest.update(chunk)
    upload.seek(0)
    document = ClaimDocument(
        claim=claim,
        name=(upload.name or "document")[-200:],
        content_type=kind.mime,
        size=upload.size,
        sha256=digest.hexdigest(),
        uploaded_by=by,
    )
    document.file.save(f"document.{document.extension}", upload, save=False)
    document.save()
    return document


# --- review ----------------------------------------------------------------------------------------


def _transition(
    *,
    claim: Claim,
    expected_status: str | None,
    by: User | None,
    action: str,
    move: Callable[[Claim], None],
    reason: str = "",
    note: str = "",
    fields: tuple[str, ...] = (),
) -> Claim:
    locked = Claim.objects.select_for_update().select_related("member__plan", "member__person").get(pk=claim.pk)
    if expected_status is not None and locked.status != expected_status:
        raise ConcurrentDecision(
            _("Another administrator acted on this claim first: it is now “%(status)s”.")
            % {"status": locked.get_status_display()}
        )
    before = locked.status
    try:
        move(locked)
    except TransitionNotAllowed as exc:
        raise ConcurrentDecision(
            _("A claim that is “%(status)s” cannot be changed this way.") % {"status": locked.get_status_display()}
        ) from exc
    locked.save(update_fields=["status", *fields])
    ClaimTransition.objects.create(
        claim=locked, from_status=before, to_status=locked.status, action=action, by=by, reason=reason, note=note
    )
    return locked


def claim_start_investigation(*, claim: Claim, by: User, expected_status: str | None = None, note: str = "") -> Claim:
    with transaction.atomic():
        return _transition(
            claim=claim,
            expected_status=expected_status or ClaimStatus.SUBMITTED,
            by=by,
            action="start_investigation",
            move=lambda c: c.start_investigation(),
            note=note,
        )


def claim_check_rules(*, claim: Claim) -> int:
    """Check the plan's rules at the date of diagnosis; return the payout in fen or raise ApprovalRefused."""
    member = claim.member
    plan = member.plan
    covered_then = (
        member.status != MembershipStatus.PENDING_REVIEW
        and member.joined_on <= claim.diagnosed_on
        and (member.ended_on is None or claim.diagnosed_on < member.ended_on)
    )
    if not covered_then:
        raise ApprovalRefused(RejectionReason.NOT_MEMBER_AT_DIAGNOSIS, RejectionReason.NOT_MEMBER_AT_DIAGNOSIS.label)
    if claim.condition.plan_id != plan.pk:
        raise ApprovalRefused(RejectionReason.NOT_COVERED, RejectionReason.NOT_COVERED.label)
    if (timezone.localdate(claim.filed_at) - claim.diagnosed_on).days > plan.claim_window_days:
        raise ApprovalRefused(RejectionReason.LATE_CLAIM, RejectionReason.LATE_CLAIM.label)
    if claim.kind == ClaimKind.ILLNESS and claim.diagnosed_on <= member.waiting_period_ends:
        raise ApprovalRefused(RejectionReason.WAITING_PERIOD, RejectionReason.WAITING_PERIOD.label)
    paid_before = (
        Claim.objects.filter(member__person_id=member.person_id, status__in=PAYOUT_STATUSES)
        .exclude(pk=claim.pk)
        .exists()
        or Membership.objects.filter(person_id=member.person_id, status=MembershipStatus.PAID_OUT).exists()
    )
    if paid_before:
        raise ApprovalRefused(RejectionReason.ALREADY_PAID, RejectionReason.ALREADY_PAID.label)
    payout = payout_for_age(plan=plan, age=age_in_years(member.person.birth_date, claim.diagnosed_on))
    if payout is None:
        raise ApprovalRefused(RejectionReason.AGE_LIMIT, RejectionReason.AGE_LIMIT.label)
    return payout


def claim_approve(*, claim: Claim, by: User, expected_status: str | None = None, note: str = "") -> Claim:
    """Approve (or, above the four-eyes threshold, propose to approve) an investigated claim.

    The payout is fixed here from the age at diagnosis. When it is at or above the plan's threshold the
    first admin's approval is a proposal and a second, different admin confirms it with this same call.
    """
    with transaction.atomic():
        locked = Claim.objects.select_for_update().select_related("member__plan", "member__person").get(pk=claim.pk)
        if locked.status != (expected_status or ClaimStatus.INVESTIGATING):
            raise ConcurrentDecision(
                _("Another administrator acted on this claim first: it is now “%(status)s”.")
                % {"status": locked.get_status_display()}
            )
        payout = claim_check_rules(claim=locked)
        needs_two = payout >= locked.member.plan.four_eyes_threshold_fen
        if needs_two and locked.approval_proposed_by_id is None:
            locked.approval_proposed_by = by
            locked.save(update_fields=["approval_proposed_by"])
            ClaimTransition.objects.create(
                claim=locked,
                from_status=locked.status,
                to_status=locked.status,
                action="propose_approval",
                by=by,
                note=note,
            )
            return locked
        if needs_two and locked.approval_proposed_by_id == by.pk:
            raise FourEyesRequired()
        locked.payout_fen = payout
        locked.age_at_diagnosis = age_in_years(locked.member.person.birth_date, locked.diagnosed_on)
        locked.decided_at = timezone.now()
        return _transition(
            claim=locked,
            expected_status=ClaimStatus.INVESTIGATING,
            by=by,
            action="approve",
            move=lambda c: c.approve(),
            note=note,
            fields=("payout_fen", "age_at_diagnosis", "decided_at"),
        )


def claim_reject(*, claim: Claim, by: User, reason: str, note: str = "", expected_status: str | None = None) -> Claim:
    """Reject with a reason code; an illness in the waiting period also ends the membership."""
    if reason not in RejectionReason.values:
        raise DomainError(_("Choose a rejection reason."), field="reason")
    if reason == RejectionReason.OTHER and not note.strip():
        raise DomainError(_("Explain the reason in the note."), field="note")
    with transaction.atomic():
        locked = Claim.objects.select_for_update().get(pk=claim.pk)
        locked.rejection_reason = reason
        locked.decided_at = timezone.now()
        locked.approval_proposed_by = None
        rejected = _transition(
            claim=locked,
            expected_status=expected_status or locked.status,
            by=by,
            action="reject",
            move=lambda c: c.reject(),
            reason=reason,
            note=note,
            fields=("rejection_reason", "decided_at", "approval_proposed_by"),
        )
        if reason == RejectionReason.WAITING_PERIOD:
            membership_end_for_waiting_period_illness(membership=rejected.member, by=by)
    return rejected


def claim_withdraw(*, claim: Claim, by: User | None, note: str = "", expected_status: str | None = None) -> Claim:
    with transaction.atomic():
        locked = Claim.objects.select_for_update().get(pk=claim.pk)
        return _transition(
            claim=locked,
            expected_status=expected_status or locked.status,
            by=by,
            action="withdraw",
            move=lambda c: c.withdraw(),
            note=note,
        )


# --- notices and objections -------------------------------------------------------------------------


def notice_charge_date(*, plan: Plan, notice_date: date) -> date | None:
    """The charge day that goes with a notice day (the 7th → the 14th, the 21st → the 28th), else None."""
    pairs = {plan.first_notice_day: plan.first_charge_day, plan.second_notice_day: plan.second_charge_day}
    charge_day = pairs.get(notice_date.day)
    return notice_date.replace(day=charge_day) if charge_day else None


def notices_publish(*, plan: Plan, on: date, by: User | None = None) -> Notice | None:
    """On a notice day, publish every approved claim not yet published; safe to run twice."""
    charge_date = notice_charge_date(plan=plan, notice_date=on)
    if charge_date is None:
        return None
    with transaction.atomic():
        notice, _created = Notice.objects.get_or_create(
            plan=plan, notice_date=on, defaults={"charge_date": charge_date}
        )
        # A few thousand claims a period at most: one row each, with its timeline entry.
        approved = Claim.objects.select_for_update().filter(
            member__plan=plan, status=ClaimStatus.APPROVED, notice__isnull=True
        )
        for claim in approved:
            claim.notice = notice
            _transition(
                claim=claim,
                expected_status=ClaimStatus.APPROVED,
                by=by,
                action="publish",
                move=lambda c: c.publish(),
                fields=("notice",),
            )
    return notice


def objection_file(*, claim: Claim, by: User, reason: str, on: date | None = None) -> Objection:
    """Object once to a published claim during its notice window; it goes back to investigation."""
    on = on or timezone.localdate()
    if not reason.strip():
        raise DomainError(_("Say why you object, so the investigators can check it."), field="reason")
    if not Membership.objects.filter(account=by, status__in=LIVE_STATUSES).exists():
        raise ObjectionNotAllowed(_("Only members of the plan can object to a claim."))
    with transaction.atomic():
        locked = Claim.objects.select_for_update().select_related("notice").get(pk=claim.pk)
        if locked.status != ClaimStatus.IN_NOTICE or locked.notice is None:
            raise ObjectionNotAllowed(_("This claim is not in public notice, so it cannot be objected to now."))
        if not (locked.notice.notice_date <= on < locked.notice.charge_date):
            raise ObjectionNotAllowed(_("The notice window for this claim has closed."))
        notice = locked.notice
        try:
            with transaction.atomic():
                objection = Objection.objects.create(claim=locked, notice=notice, by=by, reason=reason.strip())
        except IntegrityError as exc:
            raise ObjectionNotAllowed(_("You have already objected to this claim.")) from exc
        locked.notice = None
        locked.approval_proposed_by = None
        _transition(
            claim=locked,
            expected_status=ClaimStatus.IN_NOTICE,
            by=by,
            action="objection",
            move=lambda c: c.reopen_after_objection(),
            note=reason.strip(),
            fields=("notice", "approval_proposed_by"),
        )
    return objection
