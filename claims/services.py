"""Writes of claims: filing, documents, the review workflow, notices and objections.

Every decision locks the claim row, checks that it is still in the status its decider saw (the
`expected_status` passed, else the status of the claim object passed), then moves it along the state
machine through `_transition`, which saves the locked row and records who, when, from, to and why.
Two administrators acting at once: the second waits for the lock, then finds the status changed and
gets ConcurrentDecision instead of a second decision. A step the state machine does not allow from
the current status is InvalidTransition; in both cases nothing is written.
"""

from __future__ import annotations

import hashlib
import logging
import weakref
from collections.abc import Callable
from datetime import date, datetime, time, timedelta

import filetype
from django.core.files.storage import Storage
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_fsm import TransitionNotAllowed, can_proceed

from claims.errors import (
    AppealNotAllowed,
    ApprovalRefused,
    ClaimNotAllowed,
    ConcurrentDecision,
    DocumentTooLarge,
    FourEyesRequired,
    ObjectionNotAllowed,
    UnsupportedDocument,
)
from claims.models import (
    IN_PROGRESS_STATUSES,
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
from claims.pdf_scan import UncheckablePdf, pdf_active_content
from claims.signals import claim_status_changed_send
from members.dates import age_in_years
from members.errors import DomainError, InvalidTransition
from members.models import COVERED_STATUSES, Membership, MembershipStatus, Person, Plan, User
from members.selectors import payout_for_age
from members.services import membership_end_for_waiting_period_illness

logger = logging.getLogger(__name__)

MAX_DOCUMENT_BYTES = 10 * 1024 * 1024
ALLOWED_DOCUMENT_TYPES = {"application/pdf", "image/jpeg", "image/png"}
# A claim in progress: one per person at a time, whichever of their memberships it was filed on. An
# appealed claim may still be approved, and a shared one is not yet paid, so both are in progress.
OPEN_STATUSES = IN_PROGRESS_STATUSES
DOCUMENT_STATUSES = (ClaimStatus.SUBMITTED, ClaimStatus.INVESTIGATING)
_ACTIVE_CONTENT_WORDS = {
    "JavaScript": gettext_lazy("a script (JavaScript)"),
    "Launch": gettext_lazy("an action that starts a program"),
    "EmbeddedFile": gettext_lazy("files hidden inside it"),
    "RichMedia": gettext_lazy("embedded media"),
}


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
    hospital = _text(hospital, field="hospital", empty=_("Enter the hospital that made the diagnosis."))
    description = _text(description, field="description", empty=_("Describe what happened in a few sentences."))
    with transaction.atomic():
        locked = Membership.objects.select_for_update().get(pk=member.pk)
        if locked.status == MembershipStatus.PENDING_REVIEW:
            raise ClaimNotAllowed(
                _("This membership is still waiting for review; a claim can be filed once it is confirmed.")
            )
        # One claim in progress per person, not per membership: lock the person, since the same person
        # may be filed for through another membership (after rejoining, as someone's dependant) at once.
        Person.objects.select_for_update().filter(pk=locked.person_id).first()
        if Claim.objects.filter(member__person_id=locked.person_id, status__in=OPEN_STATUSES).exists():
            raise ClaimNotAllowed(_("This person already has a claim in progress; add documents to it instead."))
        claim = Claim.objects.create(
            member=locked,
            person_id=locked.person_id,
            filed_by=by,
            kind=kind,
            condition=condition,
            diagnosed_on=diagnosed_on,
            hospital=hospital,
            description=description,
        )
        ClaimTransition.objects.create(claim=claim, to_status=claim.status, action="file", by=by)
        claim_status_changed_send(claim_ids=[claim.pk], from_status="", status=claim.status, action="file")
    logger.info("claim %s filed for membership %s", claim.pk, member.pk)
    return claim


_TEXT_MAX = {
    "hospital": Claim._meta.get_field("hospital").max_length or 200,
    "description": Claim._meta.get_field("description").max_length or 5000,
}


def _text(value: str, *, field: str, empty: str) -> str:
    """A stripped, non-empty text that fits its column (a longer one would fail on PostgreSQL)."""
    value = (value or "").strip()
    if not value:
        raise DomainError(empty, field=field)
    if len(value) > _TEXT_MAX[field]:
        raise DomainError(
            _("Use at most %(max)s characters (this has %(len)s).") % {"max": _TEXT_MAX[field], "len": len(value)},
            field=field,
        )
    return value


def document_check(*, upload: UploadedFile) -> str:
    """The type of a PDF, JPEG or PNG of at most 10 MB, read from the content, not the name; else raise.

    Pages check every file of a submission with it before storing any, so a refused file leaves nothing behind.
    """
    if upload.size is None or upload.size > MAX_DOCUMENT_BYTES:
        raise DocumentTooLarge()
    if upload.size == 0:
        raise UnsupportedDocument(_("The file is empty."))
    upload.seek(0)
    head = upload.read(2048)
    upload.seek(0)
    kind = filetype.guess(head)
    if kind is None or kind.mime not in ALLOWED_DOCUMENT_TYPES:
        raise UnsupportedDocument()
    if kind.mime == "application/pdf":
        _pdf_check_inert(upload)
    return str(kind.mime)


def _pdf_check_inert(upload: UploadedFile) -> None:
    """Refuse a PDF with scripts, launch actions or embedded files: staff open these on their own computers."""
    upload.seek(0)
    data = upload.read()  # at most MAX_DOCUMENT_BYTES, checked above
    upload.seek(0)
    try:
        active = pdf_active_content(data)
    except UncheckablePdf as exc:
        raise UnsupportedDocument(
            _(
                "This PDF is protected or damaged, so it cannot be checked. Print it to a new PDF "
                "(“Save as PDF”) or send photos of the pages instead."
            )
        ) from exc
    if active is not None:
        raise UnsupportedDocument(
            _(
                "This PDF contains %(what)s, which a claim document must not have. Print it to a new PDF "
                "(“Save as PDF”) or send photos of the pages instead."
            )
            % {"what": _ACTIVE_CONTENT_WORDS.get(active, active)}
        )


def claim_document_add(*, claim: Claim, upload: UploadedFile, by: User | None) -> ClaimDocument:
    """Attach a PDF, JPEG or PNG of at most 10 MB; the type is read from the content, not the name."""
    if claim.status not in DOCUMENT_STATUSES:
        # A decided claim is judged on the documents it was decided on.
        raise ClaimNotAllowed(_("Documents can be added only while the claim is submitted or under investigation."))
    mime = document_check(upload=upload)
    digest = hashlib.sha256()
    for chunk in upload.chunks():
        digest.update(chunk)
    upload.seek(0)
    document = ClaimDocument(
        claim=claim,
        name=(upload.name or "document")[-200:],
        content_type=mime,
        size=upload.size or 0,  # document_check refused a missing size
        sha256=digest.hexdigest(),
        uploaded_by=by,
    )
    with transaction.atomic():
        document.file.save(f"document.{document.extension}", upload, save=False)
        # Django has no rollback hook, so the file's removal is tied to the transaction's fate: see below.
        transaction.on_commit(_FileKeptOnCommit(storage=document.file.storage, name=document.file.name))
        document.save()
    return document


class _FileKeptOnCommit:
    """An on_commit callback that deletes a stored file when it is dropped without being called.

    The file is written before its row, inside the caller's transaction. When that transaction (or the
    savepoint around this document) rolls back, Django drops its on_commit callbacks without calling
    them; this object is held by that list alone, so it is freed then and its finalizer deletes the
    file, which no row names any more. On commit it is called first and the finalizer is cancelled.
    """

    def __init__(self, *, storage: Storage, name: str) -> None:
        self._finalizer = weakref.finalize(self, _file_delete_orphan, storage, name)

    def __call__(self) -> None:
        self._finalizer.detach()


def _file_delete_orphan(storage: Storage, name: str) -> None:
    try:
        storage.delete(name)
    except OSError:
        logger.exception("could not delete the document file %s of a rolled-back transaction", name)
    else:
        logger.info("deleted the document file %s of a rolled-back transaction", name)


# --- review ----------------------------------------------------------------------------------------


def _lock(claim: Claim) -> Claim:
    # of=self: the member, person and plan are only read; locking them too would hold up the daily
    # membership job and enrolments for as long as an administrator's decision takes.
    return (
        Claim.objects.select_for_update(of=("self",))
        .select_related("member__plan", "member__person", "notice")
        .get(pk=claim.pk)
    )


def _check_seen(*, locked: Claim, seen: str) -> None:
    """The claim must still be in the status its decider saw; if not, someone else decided first."""
    if locked.status != seen:
        raise ConcurrentDecision(
            _("Another administrator acted on this claim first: it is now “%(status)s”.")
            % {"status": locked.get_status_display()}
        )


def _illegal(locked: Claim) -> InvalidTransition:
    return InvalidTransition(
        _("A claim that is “%(status)s” cannot be changed this way.") % {"status": locked.get_status_display()}
    )


def _transition(
    *,
    claim: Claim,
    locked: Claim,
    by: User | None,
    action: str,
    move: Callable[[Claim], None],
    reason: str = "",
    note: str = "",
    fields: tuple[str, ...] = (),
) -> Claim:
    """Move a locked claim along the state machine, save it with `fields` and record the step.

    The caller has locked the row in its transaction and set `fields` on that same instance; the
    caller's own copy (`claim`) is brought up to date so that it can be passed to the next service.
    """
    before = locked.status
    try:
        move(locked)
    except TransitionNotAllowed as exc:
        raise _illegal(locked) from exc
    locked.save(update_fields=["status", *fields])
    ClaimTransition.objects.create(
        claim=locked, from_status=before, to_status=locked.status, action=action, by=by, reason=reason, note=note
    )
    claim_status_changed_send(claim_ids=[locked.pk], from_status=before, status=locked.status, action=action)
    if claim is not locked:
        for name in ("status", *fields):
            setattr(claim, name, getattr(locked, name))
    return locked


def claim_start_investigation(*, claim: Claim, by: User, expected_status: str | None = None, note: str = "") -> Claim:
    """Start investigating a submitted claim.

    `expected_status` is the status the administrator saw (default: the status of `claim` as passed);
    when the claim has moved on since, ConcurrentDecision is raised and nothing changes. The same
    holds for every decision below.
    """
    with transaction.atomic():
        locked = _lock(claim)
        _check_seen(locked=locked, seen=expected_status or claim.status)
        return _transition(
            claim=claim,
            locked=locked,
            by=by,
            action="start_investigation",
            move=lambda c: c.start_investigation(),
            note=note.strip(),
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
    if _diagnosed_in_waiting_period(claim):
        raise ApprovalRefused(RejectionReason.WAITING_PERIOD, RejectionReason.WAITING_PERIOD.label)
    payout, _age = _payout_or_refuse(claim)
    return payout


def _payout_or_refuse(claim: Claim) -> tuple[int, int]:
    """The payout an approval fixes and the age at diagnosis it comes from, or the refusal: one payout
    per person, and only for ages the plan's tiers cover. Every approval (by an administrator, on appeal)
    ends with this."""
    if _paid_before(claim):
        raise ApprovalRefused(RejectionReason.ALREADY_PAID, RejectionReason.ALREADY_PAID.label)
    age = age_in_years(claim.member.person.birth_date, claim.diagnosed_on)
    payout = payout_for_age(plan=claim.member.plan, age=age)
    if payout is None:
        raise ApprovalRefused(RejectionReason.AGE_LIMIT, RejectionReason.AGE_LIMIT.label)
    return payout, age


def _diagnosed_in_waiting_period(claim: Claim) -> bool:
    """An illness from the day of joining to the waiting period's last day; accidents are covered from day one."""
    member = claim.member
    return claim.kind == ClaimKind.ILLNESS and member.joined_on <= claim.diagnosed_on <= member.waiting_period_ends


def claim_approve(*, claim: Claim, by: User, expected_status: str | None = None, note: str = "") -> Claim:
    """Approve (or, at or above the four-eyes threshold, propose to approve) an investigated claim.

    The payout is fixed here from the age at diagnosis. When it is at or above the plan's threshold the
    first admin's approval is a proposal and a second, different admin confirms it with this same call.
    """
    note = note.strip()
    with transaction.atomic():
        locked = _lock(claim)
        _check_seen(locked=locked, seen=expected_status or claim.status)
        if not can_proceed(locked.approve):
            raise _illegal(locked)
        payout = claim_check_rules(claim=locked)
        if payout >= locked.member.plan.four_eyes_threshold_fen:
            if locked.approval_proposed_by_id is None:
                return _propose_approval(claim=claim, locked=locked, by=by, note=note)
            if locked.approval_proposed_by_id == by.pk:
                raise FourEyesRequired()
        locked.payout_fen = payout
        locked.age_at_diagnosis = age_in_years(locked.member.person.birth_date, locked.diagnosed_on)
        locked.decided_at = timezone.now()
        return _transition(
            claim=claim,
            locked=locked,
            by=by,
            action="approve",
            move=lambda c: c.approve(),
            note=note,
            fields=("payout_fen", "age_at_diagnosis", "decided_at"),
        )


def _propose_approval(*, claim: Claim, locked: Claim, by: User, note: str) -> Claim:
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
    claim.approval_proposed_by = by
    return locked


def claim_reject(*, claim: Claim, by: User, reason: str, note: str = "", expected_status: str | None = None) -> Claim:
    """Reject with a reason code; an illness in the waiting period also ends the membership."""
    note = note.strip()
    if reason not in RejectionReason.values:
        raise DomainError(_("Choose a rejection reason."), field="reason")
    if reason == RejectionReason.OTHER and not note:
        raise DomainError(_("Explain the reason in the note."), field="note")
    with transaction.atomic():
        locked = _lock(claim)
        _check_seen(locked=locked, seen=expected_status or claim.status)
        if not can_proceed(locked.reject):
            raise _illegal(locked)
        # This code ends the membership and bars the person from the plan for life, so it must be true.
        if reason == RejectionReason.WAITING_PERIOD and not _diagnosed_in_waiting_period(locked):
            raise DomainError(
                _("This reason applies only to an illness diagnosed during the waiting period, which ended on %(day)s.")
                % {"day": locked.member.waiting_period_ends.isoformat()},
                field="reason",
            )
        locked.rejection_reason = reason
        locked.decided_at = timezone.now()
        locked.approval_proposed_by = None
        rejected = _transition(
            claim=claim,
            locked=locked,
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
    """The claimant's household (or an administrator for them) withdraws a claim not yet decided."""
    with transaction.atomic():
        locked = _lock(claim)
        _check_seen(locked=locked, seen=expected_status or claim.status)
        return _transition(
            claim=claim,
            locked=locked,
            by=by,
            action="withdraw",
            move=lambda c: c.withdraw(),
            note=note.strip(),
        )


# --- appeals to the jury (the jury app files and closes them; these are the claim's side) ---------------

APPEAL_STATEMENT_MAX_LENGTH = 5000
# Rejections no vote can change: one payout per life, no payout tier for the age at diagnosis, and an
# illness in the waiting period (a matter of dates, which has already ended the membership and refunded it).
NOT_APPEALABLE_REASONS = (RejectionReason.ALREADY_PAID, RejectionReason.AGE_LIMIT, RejectionReason.WAITING_PERIOD)


def claim_appeal(*, claim: Claim, by: User | None, statement: str, window_days: int, on: date | None = None) -> Claim:
    """A rejected claim goes to the jury: once, up to `window_days` after the day of the rejection (with
    30, the 30th day may, the 31st may not); the claimant's statement is the step's note."""
    on = on or timezone.localdate()
    statement = statement.strip()
    if not statement:
        raise DomainError(_("Say why the rejection is wrong: the jurors read your statement."), field="statement")
    if len(statement) > APPEAL_STATEMENT_MAX_LENGTH:
        raise DomainError(
            _("Use at most %(max)s characters (this has %(len)s).")
            % {"max": APPEAL_STATEMENT_MAX_LENGTH, "len": len(statement)},
            field="statement",
        )
    with transaction.atomic():
        locked = _lock(claim)
        if (refusal := claim_appeal_refusal(claim=locked, window_days=window_days, on=on)) is not None:
            raise AppealNotAllowed(refusal)
        try:
            # The person may have filed another claim since the rejection: one in progress at a time.
            with transaction.atomic():
                return _transition(
                    claim=claim, locked=locked, by=by, action="appeal", move=lambda c: c.appeal(), note=statement
                )
        except IntegrityError as exc:
            raise AppealNotAllowed(
                _("This person has another claim in progress: appeal once it has been decided.")
            ) from exc


def claim_appeal_refusal(*, claim: Claim, window_days: int, on: date) -> str | None:
    """Why this claim cannot be appealed on `on`, or None when it can: the rules of claim_appeal, which
    the claim page also asks before it offers the appeal form."""
    if claim.transitions.filter(action="appeal").exists():
        return _("This claim has already been appealed; a claim is appealed once.")
    if claim.status != ClaimStatus.REJECTED or claim.decided_at is None:
        return _("Only a rejected claim can be appealed.")
    if claim.rejection_reason in NOT_APPEALABLE_REASONS:
        return _("This rejection cannot be appealed: %(reason)s") % {
            "reason": RejectionReason(claim.rejection_reason).label
        }
    last_day = timezone.localdate(claim.decided_at) + timedelta(days=window_days)
    if on > last_day:
        return _("A rejection may be appealed for %(days)s days: the last day was %(day)s.") % {
            "days": window_days,
            "day": last_day.isoformat(),
        }
    if _paid_before(claim):
        return str(RejectionReason.ALREADY_PAID.label)
    return None


def _paid_before(claim: Claim) -> bool:
    """One payout per person, across memberships."""
    person_id = claim.member.person_id
    return (
        Claim.objects.filter(member__person_id=person_id, status__in=PAYOUT_STATUSES).exclude(pk=claim.pk).exists()
        or Membership.objects.filter(person_id=person_id, status=MembershipStatus.PAID_OUT).exists()
    )


def claim_approve_on_appeal(*, claim: Claim, by: User | None, note: str = "") -> Claim:
    """The jury (by None) or a senior administrator approves an appealed claim.

    The payout is fixed here from the age at diagnosis, as at any approval; the claim then waits for the
    next notice day like every approved claim.
    """
    with transaction.atomic():
        locked = _lock(claim)
        if not can_proceed(locked.approve_on_appeal):
            raise _illegal(locked)
        payout, age = _payout_or_refuse(locked)
        locked.payout_fen, locked.age_at_diagnosis = payout, age
        locked.rejection_reason = ""
        locked.decided_at = timezone.now()
        return _transition(
            claim=claim,
            locked=locked,
            by=by,
            action="approve_on_appeal",
            move=lambda c: c.approve_on_appeal(),
            note=note.strip(),
            fields=("payout_fen", "age_at_diagnosis", "rejection_reason", "decided_at"),
        )


def claim_uphold_rejection(*, claim: Claim, by: User | None, note: str = "") -> Claim:
    """The jury (by None) or a senior administrator upholds the rejection: the claim is rejected again,
    for its first reason, and cannot be appealed a second time."""
    with transaction.atomic():
        locked = _lock(claim)
        if locked.status != ClaimStatus.APPEALED:
            raise _illegal(locked)
        locked.decided_at = timezone.now()
        return _transition(
            claim=claim,
            locked=locked,
            by=by,
            action="uphold_rejection",
            move=lambda c: c.reject(),
            reason=locked.rejection_reason,
            note=note.strip(),
            fields=("decided_at",),
        )


def claim_appeal_escalate(*, claim: Claim, note: str) -> Claim:
    """The jury's vote ended without quorum: the claim stays appealed and a senior administrator decides.
    The status does not change, so the step is recorded here rather than by a transition."""
    with transaction.atomic():
        locked = _lock(claim)
        if locked.status != ClaimStatus.APPEALED:
            raise _illegal(locked)
        ClaimTransition.objects.create(
            claim=locked,
            from_status=locked.status,
            to_status=locked.status,
            action="escalate_appeal",
            by=None,
            note=note.strip(),
        )
    return locked


# --- notices and objections -------------------------------------------------------------------------


def notice_charge_date(*, plan: Plan, notice_date: date) -> date | None:
    """The charge day that goes with a notice day (the 7th → the 14th, the 21st → the 28th), else None."""
    pairs = {plan.first_notice_day: plan.first_charge_day, plan.second_notice_day: plan.second_charge_day}
    charge_day = pairs.get(notice_date.day)
    return notice_date.replace(day=charge_day) if charge_day else None


def notices_publish(*, plan: Plan, on: date, by: User | None = None) -> Notice | None:
    """On a notice day, publish every claim approved before it and not yet published; safe to run twice.

    The batch is what was approved before 00:00 (Beijing) on the notice day, the sharers' own cut-off:
    a second run later that day, or a run that starts late, publishes exactly the same claims, so a
    published batch never grows after members have started reading it. Later approvals wait for the
    next notice day.
    """
    charge_date = notice_charge_date(plan=plan, notice_date=on)
    if charge_date is None:
        return None
    cutoff = timezone.make_aware(datetime.combine(on, time.min))
    with transaction.atomic():
        notice, _created = Notice.objects.get_or_create(
            plan=plan, notice_date=on, defaults={"charge_date": charge_date}
        )
        # A few thousand claims a period at most: one row each, with its timeline entry.
        due = (
            Claim.objects.select_for_update(of=("self",))
            .filter(member__plan=plan, status=ClaimStatus.APPROVED, notice__isnull=True)
            .filter(Q(decided_at__lt=cutoff) | Q(decided_at__isnull=True))
            .order_by("decided_at", "pk")
        )
        for locked in due:
            locked.notice = notice
            _transition(
                claim=locked, locked=locked, by=by, action="publish", move=lambda c: c.publish(), fields=("notice",)
            )
    return notice


OBJECTION_MAX_LENGTH = 2000


def objection_file(*, claim: Claim, by: User, reason: str, on: date | None = None) -> Objection:
    """Object once to a published claim during its notice window; it goes back to investigation."""
    on = on or timezone.localdate()
    reason = reason.strip()
    if not reason:
        raise DomainError(_("Say why you object, so the investigators can check it."), field="reason")
    if len(reason) > OBJECTION_MAX_LENGTH:
        raise DomainError(
            _("Use at most %(max)s characters (this has %(len)s).") % {"max": OBJECTION_MAX_LENGTH, "len": len(reason)},
            field="reason",
        )
    with transaction.atomic():
        locked = _lock(claim)
        # Members of this plan who share its claims; someone still pending review is not one yet.
        if not Membership.objects.filter(
            account=by, plan_id=locked.member.plan_id, status__in=COVERED_STATUSES
        ).exists():
            raise ObjectionNotAllowed(_("Only members of the plan can object to a claim."))
        notice = locked.notice
        if locked.status != ClaimStatus.IN_NOTICE or notice is None:
            raise ObjectionNotAllowed(_("This claim is not in public notice, so it cannot be objected to now."))
        if not (notice.notice_date <= on < notice.charge_date):
            raise ObjectionNotAllowed(_("The notice window for this claim has closed."))
        try:
            with transaction.atomic():
                objection = Objection.objects.create(claim=locked, notice=notice, by=by, reason=reason)
        except IntegrityError as exc:
            raise ObjectionNotAllowed(_("You have already objected to this claim.")) from exc
        locked.notice = None
        locked.approval_proposed_by = None
        _transition(
            claim=claim,
            locked=locked,
            by=by,
            action="objection",
            move=lambda c: c.reopen_after_objection(),
            note=reason,
            fields=("notice", "approval_proposed_by"),
        )
    return objection


# --- sharing and payout (called by settlement) --------------------------------------------------------


def claims_share_notice(*, notice: Notice, by: User | None = None) -> int:
    """On the charge day a notice's batch is final: every claim still in notice becomes `shared`.

    Objected claims have already left the batch (their notice was cleared), so what is shared is what
    the members pay for. One INSERT … SELECT of the timeline rows and one UPDATE, whatever the size of
    the batch, so the charge day's cost does not grow with the number of claims. Safe to run twice: a
    claim already shared is not touched again. Returns the number of claims shared.
    """
    with transaction.atomic():
        # Lock the batch first, so nothing moves a claim between the two statements.
        batch = list(
            Claim.objects.select_for_update()
            .filter(notice=notice, status=ClaimStatus.IN_NOTICE)
            .values_list("pk", flat=True)
        )
        now = connection.ops.adapt_datetimefield_value(timezone.now())
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {ClaimTransition._meta.db_table} "  # noqa: S608  (table names from the models)
                "(claim_id, from_status, to_status, action, by_id, at, reason, note) "
                f"SELECT id, %s, %s, 'share', %s, %s, '', '' FROM {Claim._meta.db_table} "
                "WHERE notice_id = %s AND status = %s",
                [
                    ClaimStatus.IN_NOTICE,
                    ClaimStatus.SHARED,
                    by.pk if by else None,
                    now,
                    notice.pk,
                    ClaimStatus.IN_NOTICE,
                ],
            )
        shared = Claim.objects.filter(notice=notice, status=ClaimStatus.IN_NOTICE).update(status=ClaimStatus.SHARED)
        claim_status_changed_send(
            claim_ids=batch, from_status=ClaimStatus.IN_NOTICE, status=ClaimStatus.SHARED, action="share"
        )
        return shared


def claim_mark_paid(*, claim: Claim, by: User | None, note: str = "") -> Claim:
    """Record that a shared claim's payout has been disbursed."""
    with transaction.atomic():
        locked = _lock(claim)
        return _transition(
            claim=claim, locked=locked, by=by, action="mark_paid", move=lambda c: c.mark_paid(), note=note.strip()
        )
