"""Writes of members: enrolment with its eligibility rules, status changes, exits, credit imports.

Each function here is the only way to make its change.
"""

from __future__ import annotations

import csv
import io
import json
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, NamedTuple

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from members.dates import add_years, latest_birth_date_for_age
from members.errors import (
    AgeOutOfRange,
    AlreadyEnrolled,
    CreditCheckFailed,
    CreditImportInvalid,
    DomainError,
    ExternalRefTaken,
    HasDependants,
    HealthDeclarationFailed,
    InvalidIdNumber,
    InvalidTransition,
    PlanClosed,
    RejoiningNotAllowed,
)
from members.identity import (
    ResidentId,
    decrypt_id_number,
    encrypt_id_number,
    hash_id_number,
    mask_id_number,
    parse_resident_id,
    reencrypt_with_newest_key,
)
from members.models import (
    LIVE_STATUSES,
    CreditImport,
    CreditRecord,
    CreditSource,
    IdNumberReveal,
    Membership,
    MembershipStatus,
    Partner,
    PartnerAPIKey,
    Person,
    Plan,
    Relationship,
    User,
)
from members.receivers import forget_partner_keys
from members.signals import membership_status_changed_send

logger = logging.getLogger(__name__)


# --- eligibility -------------------------------------------------------------------------------


def eligibility_check_age(*, plan: Plan, birth_date: date, on: date) -> None:
    """30 days old joins, 29 does not; the day before the 60th birthday joins, the birthday does not."""
    if (on - birth_date).days < plan.min_age_days:
        raise AgeOutOfRange(
            _("A baby can join from %(days)s days old; this one is %(age)s days old.")
            % {"days": plan.min_age_days, "age": max((on - birth_date).days, 0)}
        )
    if on >= add_years(birth_date, plan.max_entry_age_years + 1):
        raise AgeOutOfRange(
            _("People can join up to the day before their %(age)sth birthday; this person is too old to join.")
            % {"age": plan.max_entry_age_years + 1}
        )


def eligibility_check_health(*, plan: Plan, answers: Mapping[str, bool]) -> dict[str, bool]:
    """Every question answered; any “yes” means not eligible. Returns the declaration to keep."""
    return eligibility_check_health_answers(
        codes=list(plan.health_questions.values_list("code", flat=True)), answers=answers
    )


def eligibility_check_health_answers(*, codes: Sequence[str], answers: Mapping[str, bool]) -> dict[str, bool]:
    """The health rule on the plan's question codes, read once by the caller (a bulk enrolment reads
    them once for every person)."""
    missing = [code for code in codes if not isinstance(answers.get(code), bool)]
    if missing:
        raise DomainError(
            _("Answer every health question (missing: %(codes)s).") % {"codes": ", ".join(missing)},
            field="health_declaration",
        )
    unknown = sorted(set(answers) - set(codes))
    if unknown:
        raise DomainError(
            _("These are not questions of the plan: %(codes)s.") % {"codes": ", ".join(unknown)},
            field="health_declaration",
        )
    if any(answers[code] for code in codes):
        raise HealthDeclarationFailed()
    return {code: bool(answers[code]) for code in codes}


@dataclass(frozen=True)
class CreditDecision:
    status: str  # waiting or pending_review
    source: str
    score: int | None


def eligibility_check_credit(*, plan: Plan, resident_id: ResidentId, attested_score: int | None) -> CreditDecision:
    """A score attested by a partner, else the bureau record; no record at all → an admin decides."""
    record = CreditRecord.objects.filter(id_number_hash=hash_id_number(resident_id.number)).first()
    return eligibility_decide_credit(plan=plan, record=record, attested_score=attested_score)


def eligibility_decide_credit(*, plan: Plan, record: CreditRecord | None, attested_score: int | None) -> CreditDecision:
    """The credit rule on a bureau record already read (a bulk enrolment reads them in one query)."""
    # The dishonest-debtor list is a court's public list, not a score: a partner's attested score
    # cannot outweigh it.
    if record is not None and record.dishonest_debtor:
        raise CreditCheckFailed()
    if attested_score is not None:
        if attested_score < plan.credit_min_score:
            raise CreditCheckFailed()
        return CreditDecision(MembershipStatus.WAITING, CreditSource.ATTESTED, attested_score)
    if record is None:
        return CreditDecision(MembershipStatus.PENDING_REVIEW, CreditSource.RECORD, None)
    if record.score < plan.credit_min_score:
        raise CreditCheckFailed()
    return CreditDecision(MembershipStatus.WAITING, CreditSource.RECORD, record.score)


# --- enrolment -----------------------------------------------------------------------------------


def person_get_or_create(*, resident_id: ResidentId, name: str, phone: str = "") -> Person:
    person, created = Person.objects.get_or_create(
        id_number_hash=hash_id_number(resident_id.number),
        defaults={
            "name": name,
            "id_number_encrypted": encrypt_id_number(resident_id.number),
            "id_number_masked": resident_id.masked,
            "birth_date": resident_id.birth_date,
            "sex": resident_id.sex,
            "phone": phone,
        },
    )
    if not created and (person.name != name or (phone and person.phone != phone)):
        person.name = name
        person.phone = phone or person.phone
        person.save(update_fields=["name", "phone"])
    return person


def membership_enrol(
    *,
    plan: Plan,
    name: str,
    id_number: str,
    health_answers: Mapping[str, bool],
    relationship: str = Relationship.SELF,
    payer: Membership | None = None,
    account: User | None = None,
    phone: str = "",
    attested_score: int | None = None,
    external_ref: str = "",
    partner: Partner | None = None,
    on: date | None = None,
) -> Membership:
    """Enrol one person on the day `on` (today), after the identity, age, health and credit checks.

    `partner`: the API partner enrolling them, whose `external_ref` names one live membership.
    """
    on = on or timezone.localdate()
    name, phone, external_ref, resident_id = enrolment_check_input(
        plan=plan,
        name=name,
        phone=phone,
        external_ref=external_ref,
        id_number=id_number,
        relationship=relationship,
        has_payer=payer is not None,
    )
    if payer is not None:
        _check_payer_can_add(plan=plan, payer=payer, relationship=relationship)
    elif account is not None:
        _check_account_has_no_household(plan=plan, account=account)
    eligibility_check_age(plan=plan, birth_date=resident_id.birth_date, on=on)
    declaration = eligibility_check_health(plan=plan, answers=health_answers)
    if payer is None:
        credit = eligibility_check_credit(plan=plan, resident_id=resident_id, attested_score=attested_score)
    else:
        # The payer is the one charged, so a dependant rides on the payer's credit check.
        credit = CreditDecision(MembershipStatus.WAITING, CreditSource.PAYER, None)

    try:
        with transaction.atomic():
            if payer is not None:
                # Again under the payer's lock: the checks above read a copy that may be stale, and
                # membership_exit takes the same lock, so a payer cannot leave while a family member
                # is being added, nor get a second spouse from two requests at once.
                payer = Membership.objects.select_for_update().get(pk=payer.pk)
                _check_payer_can_add(plan=plan, payer=payer, relationship=relationship)
            person = person_get_or_create(resident_id=resident_id, name=name, phone=phone)
            # Lock the person so two enrolments of the same person queue up here; the partial
            # unique index (one live membership per person and plan) backs this up.
            Person.objects.select_for_update().filter(pk=person.pk).first()
            if Membership.objects.filter(person=person, plan=plan, status__in=LIVE_STATUSES).exists():
                raise AlreadyEnrolled()
            _check_may_rejoin(plan=plan, person=person)
            if partner is not None and external_ref and _live_ref_taken(partner=partner, external_ref=external_ref):
                raise ExternalRefTaken()
            membership = Membership.objects.create(
                plan=plan,
                person=person,
                account=account if payer is None else None,
                payer=payer,
                relationship=relationship,
                status=credit.status,
                status_reason="no_credit_record" if credit.status == MembershipStatus.PENDING_REVIEW else "",
                joined_on=on,
                waiting_period_ends=on + timedelta(days=plan.waiting_period_days),
                health_declaration=declaration,
                credit_source=credit.source,
                credit_score=credit.score,
                external_ref=external_ref,
                partner=partner,
            )
    except IntegrityError as exc:
        # Lost a race to a simultaneous request: on the person (the usual case) or on the reference.
        if partner is not None and external_ref and _live_ref_taken(partner=partner, external_ref=external_ref):
            raise ExternalRefTaken() from exc
        raise AlreadyEnrolled() from exc
    logger.info("membership %s enrolled person %s status %s", membership.pk, person.id_number_masked, membership.status)
    return membership


class EnrolmentInput(NamedTuple):
    name: str
    phone: str
    external_ref: str
    resident_id: ResidentId


def enrolment_check_input(
    *, plan: Plan, name: str, phone: str, external_ref: str, id_number: str, relationship: str, has_payer: bool
) -> EnrolmentInput:
    """The first checks of an enrolment, which need nothing but its own fields (no query): a bulk
    enrolment runs them on every item before it reads anything."""
    if not plan.is_active:
        raise PlanClosed()
    name = _check_text(
        name, field="name", max_length=_NAME_MAX, empty=_("Enter the person's name as on their ID card.")
    )
    phone = _check_text(phone, field="phone", max_length=_PHONE_MAX)
    external_ref = _check_text(external_ref, field="external_ref", max_length=_EXTERNAL_REF_MAX)
    resident_id = parse_resident_id(id_number)
    if relationship not in Relationship.values:
        raise DomainError(_("Choose who this person is to the payer."), field="relationship")
    if (relationship == Relationship.SELF) == has_payer:
        raise DomainError(_("A family member needs a payer, and a payer joins as “self”."), field="relationship")
    return EnrolmentInput(name, phone, external_ref, resident_id)


_NAME_MAX = Person._meta.get_field("name").max_length or 50
# The reason is also the history's change reason, a shorter column: a longer one fails on PostgreSQL.
_REASON_MAX = min(
    Membership._meta.get_field("status_reason").max_length or 200,
    Membership.history.model._meta.get_field("history_change_reason").max_length or 100,
)
_PHONE_MAX = Person._meta.get_field("phone").max_length or 20
_EXTERNAL_REF_MAX = Membership._meta.get_field("external_ref").max_length or 64


def _check_text(value: str | None, *, field: str, max_length: int, empty: str | None = None) -> str:
    """Strip a text input; refuse it when empty (if `empty` is the message) or longer than its column."""
    value = (value or "").strip()
    if not value and empty is not None:
        raise DomainError(empty, field=field)
    if len(value) > max_length:
        raise DomainError(
            _("Use at most %(max)s characters (this has %(len)s).") % {"max": max_length, "len": len(value)},
            field=field,
        )
    return value


def _check_may_rejoin(*, plan: Plan, person: Person) -> None:
    """One payout per life; and an illness found in the waiting period closes the plan to the person."""
    ended = Membership.objects.filter(person=person, plan=plan)
    membership_check_may_rejoin(
        paid_out=lambda: ended.filter(status=MembershipStatus.PAID_OUT).exists(),
        ill_in_waiting_period=lambda: ended.filter(status_reason=WAITING_PERIOD_ILLNESS).exists(),
    )


def membership_check_may_rejoin(*, paid_out: Callable[[], bool], ill_in_waiting_period: Callable[[], bool]) -> None:
    """The rejoining rule on what the caller knows of the person's past memberships of the plan (asked
    lazily: one enrolment queries only as far as it must, a bulk enrolment answers from one query)."""
    if paid_out():
        raise RejoiningNotAllowed(_("This person has received the plan's payout, which is once in a lifetime."))
    if ill_in_waiting_period():
        raise RejoiningNotAllowed(
            _("An illness diagnosed in the waiting period ended this person's membership; they cannot rejoin.")
        )


def _live_ref_taken(*, partner: Partner, external_ref: str) -> bool:
    return Membership.objects.filter(partner=partner, external_ref=external_ref, status__in=LIVE_STATUSES).exists()


def _check_account_has_no_household(*, plan: Plan, account: User) -> None:
    """A login manages one household: a second “self” would be a second payer behind the same login."""
    if Membership.objects.filter(plan=plan, account=account, payer__isnull=True, status__in=LIVE_STATUSES).exists():
        raise DomainError(
            _("This account already has its own membership; add family members to that household instead."),
            field="relationship",
        )


def _check_payer_can_add(*, plan: Plan, payer: Membership, relationship: str) -> None:
    has_live_spouse = (
        relationship == Relationship.SPOUSE
        and payer.dependants.filter(relationship=Relationship.SPOUSE, status__in=LIVE_STATUSES).exists()
    )
    payer_check_can_add(plan=plan, payer=payer, relationship=relationship, has_live_spouse=has_live_spouse)


def payer_check_can_add(*, plan: Plan, payer: Membership, relationship: str, has_live_spouse: bool) -> None:
    """The payer rules on a payer already read, told whether the household has a live spouse."""
    if payer.plan_id != plan.pk:
        raise DomainError(_("The payer is a member of another plan."), field="payer")
    if not payer.is_payer:
        raise DomainError(_("A family member cannot pay for others; choose the household's payer."), field="payer")
    if payer.status == MembershipStatus.PENDING_REVIEW:
        # A dependant rides on the payer's credit, which an administrator has not yet confirmed.
        raise DomainError(_("Family members can be added once the payer's own membership is confirmed."), field="payer")
    if payer.status not in (MembershipStatus.WAITING, MembershipStatus.ACTIVE):
        raise DomainError(_("The payer's membership has ended, so no family member can be added."), field="payer")
    if relationship == Relationship.SPOUSE and has_live_spouse:
        raise DomainError(_("A spouse is already in this household."), field="relationship")


# --- status changes ------------------------------------------------------------------------------

_ADMIN_TRANSITIONS: dict[str, set[str]] = {
    MembershipStatus.PENDING_REVIEW: {MembershipStatus.WAITING, MembershipStatus.EXITED},
    MembershipStatus.WAITING: {MembershipStatus.EXITED, MembershipStatus.REMOVED, MembershipStatus.EXPELLED},
    MembershipStatus.ACTIVE: {MembershipStatus.EXITED, MembershipStatus.REMOVED, MembershipStatus.EXPELLED},
}


def membership_change_status(
    *, membership: Membership, status: str, reason: str, by: User | None, on: date | None = None
) -> Membership:
    """An administrator's status change, with a reason that goes into the audit history."""
    on = on or timezone.localdate()
    reason = _check_text(
        reason, field="reason", max_length=_REASON_MAX, empty=_("Give a reason for the status change.")
    )
    if status not in MembershipStatus.values:
        raise DomainError(_("Choose one of the statuses offered."), field="status")
    with transaction.atomic():
        locked = Membership.objects.select_for_update().select_related("plan", "person").get(pk=membership.pk)
        if status not in _ADMIN_TRANSITIONS.get(locked.status, set()):
            raise InvalidTransition(
                _("A member who is “%(from)s” cannot be made “%(to)s”.")
                % {"from": locked.get_status_display(), "to": MembershipStatus(status).label}
            )
        if (
            status not in LIVE_STATUSES
            and locked.is_payer
            and locked.dependants.filter(status__in=LIVE_STATUSES).exists()
        ):
            raise HasDependants(_("This payer still pays for family members in the plan: change their status first."))
        fields = ["status", "status_reason"]
        if locked.status == MembershipStatus.PENDING_REVIEW and status == MembershipStatus.WAITING:
            # Approved after review: coverage, and so the waiting period, starts on the decision day,
            # which is then the day of joining the entry-age rule speaks of.
            eligibility_check_age(plan=locked.plan, birth_date=locked.person.birth_date, on=on)
            locked.joined_on = on
            locked.waiting_period_ends = on + timedelta(days=locked.plan.waiting_period_days)
            locked.credit_source = CreditSource.ADMIN
            fields += ["joined_on", "waiting_period_ends", "credit_source"]
        if status not in LIVE_STATUSES:
            # Declined at review: never covered, so the membership ends the day it began and no sharing
            # period (defined by coverage dates) ever counts it.
            never_covered = locked.status == MembershipStatus.PENDING_REVIEW
            locked.ended_on = locked.joined_on if never_covered else on
            fields.append("ended_on")
        locked.status = status
        locked.status_reason = reason
        locked._change_reason = reason  # type: ignore[attr-defined]  # read by simple-history
        if by is not None:
            locked._history_user = by  # type: ignore[attr-defined]
        locked.save(update_fields=fields)
        membership_status_changed_send(membership_ids=[locked.pk], status=status, reason=reason)
    return locked


def membership_exit(*, membership: Membership, by: User | None, on: date | None = None) -> Membership:
    """Leave the plan, free, at any time; a payer leaves after their dependants."""
    on = on or timezone.localdate()
    with transaction.atomic():
        locked = Membership.objects.select_for_update().get(pk=membership.pk)
        if locked.status not in LIVE_STATUSES:
            raise InvalidTransition(_("This membership has already ended."))
        if locked.is_payer and locked.dependants.filter(status__in=LIVE_STATUSES).exists():
            raise HasDependants()
        locked.status = MembershipStatus.EXITED
        locked.status_reason = "voluntary"
        locked.ended_on = on
        locked._change_reason = "exit"  # type: ignore[attr-defined]
        if by is not None:
            locked._history_user = by  # type: ignore[attr-defined]
        locked.save(update_fields=["status", "status_reason", "ended_on"])
        membership_status_changed_send(membership_ids=[locked.pk], status=locked.status, reason="voluntary")
    return locked


WAITING_PERIOD_ILLNESS = "waiting_period_illness"


def membership_end_for_waiting_period_illness(
    *, membership: Membership, by: User | None, on: date | None = None
) -> Membership:
    """An illness diagnosed in the waiting period ends the membership, and the person may not rejoin.

    Called when such a claim is rejected. It is not an exit: it applies whatever the household (the
    payer keeps paying for dependants, who stay covered), and a membership already ended keeps its
    status and end date but takes this reason, because the reason is what bars the person from
    rejoining. Refunding the shares paid so far is settlement's part.
    """
    on = on or timezone.localdate()
    with transaction.atomic():
        locked = Membership.objects.select_for_update().get(pk=membership.pk)
        fields = ["status_reason"]
        if locked.status in LIVE_STATUSES:
            locked.status = MembershipStatus.EXITED
            locked.ended_on = on
            fields += ["status", "ended_on"]
        locked.status_reason = WAITING_PERIOD_ILLNESS
        locked._change_reason = WAITING_PERIOD_ILLNESS  # type: ignore[attr-defined]
        if by is not None:
            locked._history_user = by  # type: ignore[attr-defined]
        locked.save(update_fields=fields)
        if "status" in fields:
            membership_status_changed_send(
                membership_ids=[locked.pk], status=locked.status, reason=WAITING_PERIOD_ILLNESS
            )
    return locked


NON_PAYMENT = "non_payment"
PAID_OUT = "paid_out"


def household_remove_for_non_payment(*, payer: Membership, on: date, by: User | None = None) -> int:
    """Remove a payer still in arrears after the grace, with every live member of their household.

    Settlement decides who is in arrears; this is the only way to remove a household for it. Each
    member's coverage ends on `on`, so a period whose notice day came earlier is still owed. A payer
    whose own membership has already ended (paid out) stays as they are; their dependants go. Returns
    how many memberships were removed (0 when the household had already gone: safe to run twice).
    """
    with transaction.atomic():
        # Payer first, then dependants, in id order: the order every household lock is taken in.
        household = list(
            Membership.objects.select_for_update()
            .filter(Q(pk=payer.pk) | Q(payer_id=payer.pk), status__in=LIVE_STATUSES)
            .order_by("pk")
        )
        for member in household:
            member.status = MembershipStatus.REMOVED
            member.status_reason = NON_PAYMENT
            member.ended_on = on
            member._change_reason = NON_PAYMENT  # type: ignore[attr-defined]  # read by simple-history
            if by is not None:
                member._history_user = by  # type: ignore[attr-defined]
            member.save(update_fields=["status", "status_reason", "ended_on"])
        membership_status_changed_send(
            membership_ids=[m.pk for m in household], status=MembershipStatus.REMOVED, reason=NON_PAYMENT
        )
    return len(household)


def membership_mark_paid_out(*, membership: Membership, by: User | None, on: date | None = None) -> Membership:
    """After the payout (once in a lifetime) the membership ends as `paid_out`; the household stays.

    A payer who is paid out keeps paying for their dependants, who stay covered. A membership that had
    already ended before the payout (the claimant left or was removed) keeps its end date.
    """
    on = on or timezone.localdate()
    with transaction.atomic():
        locked = Membership.objects.select_for_update().get(pk=membership.pk)
        if locked.status == MembershipStatus.PAID_OUT:
            return locked
        fields = ["status", "status_reason"]
        if locked.ended_on is None:
            locked.ended_on = on
            fields.append("ended_on")
        locked.status = MembershipStatus.PAID_OUT
        locked.status_reason = PAID_OUT
        locked._change_reason = PAID_OUT  # type: ignore[attr-defined]
        if by is not None:
            locked._history_user = by  # type: ignore[attr-defined]
        locked.save(update_fields=fields)
        membership_status_changed_send(membership_ids=[locked.pk], status=locked.status, reason=PAID_OUT)
    return locked


@dataclass(frozen=True)
class DailyResult:
    activated: int
    aged_out: int


def memberships_daily(*, on: date | None = None, chunk: int = 5000) -> DailyResult:
    """The daily job: waiting periods that ended before `on` become active; 60th birthdays exit.

    Only the members whose status changes today are touched (a day's worth, not the whole plan),
    in chunks, each with its history row so the audit trail stays whole. Safe to run twice.
    """
    on = on or timezone.localdate()
    activated = 0
    aged_out = 0
    for plan in Plan.objects.all():
        activated += _bulk_transition(
            Membership.objects.filter(plan=plan, status=MembershipStatus.WAITING, waiting_period_ends__lt=on),
            status=MembershipStatus.ACTIVE,
            reason="waiting_period_over",
            ended_on=None,
            chunk=chunk,
        )
        aged_out += _bulk_transition(
            Membership.objects.filter(
                plan=plan,
                status__in=LIVE_STATUSES,
                person__birth_date__lte=latest_birth_date_for_age(on, plan.age_out_years),
            ).select_related("person"),
            status=MembershipStatus.EXITED,
            reason="age_out",
            # Coverage ends on the birthday itself, even when the job runs late: settlement reads
            # the sharers from these dates.
            ended_on=_birthday(plan.age_out_years),
            chunk=chunk,
        )
    return DailyResult(activated=activated, aged_out=aged_out)


def _birthday(years: int) -> Callable[[Membership], date]:
    return lambda membership: add_years(membership.person.birth_date, years)


def _bulk_transition(
    queryset: QuerySet[Membership],
    *,
    status: str,
    reason: str,
    ended_on: Callable[[Membership], date] | None,
    chunk: int,
) -> int:
    from simple_history.utils import bulk_update_with_history

    done = 0
    while True:
        with transaction.atomic():
            # skip_locked: a member an administrator is changing right now is left for tomorrow's
            # run rather than making the whole job wait; of=self: the people are only read.
            batch = list(queryset.select_for_update(skip_locked=True, of=("self",)).order_by("pk")[:chunk])
            if not batch:
                return done
            for membership in batch:
                membership.status = status
                membership.status_reason = reason
                if ended_on is not None:
                    membership.ended_on = ended_on(membership)
            bulk_update_with_history(
                batch,
                Membership,
                ["status", "status_reason", "ended_on"],
                batch_size=1000,
                default_change_reason=reason,
            )
            # One signal per chunk, with its ids: receivers create their rows set-based, never one per member.
            membership_status_changed_send(membership_ids=[m.pk for m in batch], status=status, reason=reason)
            done += len(batch)


# --- notifications ---------------------------------------------------------------------------------


def account_notifications_set(*, account: User, email: str, enabled: bool, language: str) -> User:
    """A member's e-mail address for notifications (optional: members sign up with a phone), on or off,
    and the language they are written in."""
    email = _check_text(email, field="email", max_length=User._meta.get_field("email").max_length or 254)
    if email:
        try:
            validate_email(email)
        except ValidationError as exc:
            raise DomainError(_("Enter an e-mail address such as name@example.com."), field="email") from exc
    if enabled and not email:
        raise DomainError(_("Give an e-mail address to receive notifications."), field="email")
    if language not in dict(settings.LANGUAGES):
        raise DomainError(_("Choose one of the languages offered."), field="language")
    account.email = email
    account.email_notifications = enabled
    account.email_language = language
    account.save(update_fields=["email", "email_notifications", "email_language"])
    return account


# --- partners ------------------------------------------------------------------------------------


def partner_create(*, name: str) -> tuple[Partner, str]:
    """A new partner and its first API key; the key is returned once and only its hash is kept."""
    name = _check_text(name, field="name", max_length=100, empty=_("Give the partner a name."))
    with transaction.atomic():
        if Partner.objects.filter(name=name).exists():
            raise DomainError(_("A partner with this name already exists."), field="name")
        partner = Partner.objects.create(name=name)
        key = partner_key_create(partner=partner)
    return partner, key


def partner_key_create(*, partner: Partner) -> str:
    """Another key for a partner (to rotate: create one, switch, revoke the old)."""
    _api_key, key = PartnerAPIKey.objects.create_key(partner=partner, name=partner.name[:50])
    return key


def partner_keys_revoke(*, partner: Partner) -> int:
    """Revoke every key of a partner at once (revocation cannot be undone); refused from the next request."""
    with transaction.atomic():
        keys = dict(
            PartnerAPIKey.objects.select_for_update().filter(partner=partner, revoked=False).values_list("pk", "prefix")
        )
        revoked = PartnerAPIKey.objects.filter(pk__in=keys).update(revoked=True)
        # A queryset's update sends no signal: the cached keys are dropped here.
        forget_partner_keys(keys.values())
    return revoked


# --- credit records --------------------------------------------------------------------------

CREDIT_CSV_COLUMNS = ("id_number", "score", "dishonest_debtor")
_TRUE = {"1", "true", "yes", "y", "是"}
_FALSE = {"0", "false", "no", "n", "否", ""}


@dataclass(frozen=True)
class CreditRow:
    line: int
    id_number: str
    score: int
    dishonest_debtor: bool

    @property
    def masked(self) -> str:
        return mask_id_number(self.id_number)


def credit_file_parse(*, content: bytes) -> list[CreditRow]:
    """Parse a bureau CSV (id_number, score, dishonest_debtor); every bad row is reported, by line."""
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CreditImportInvalid([_("The file is not UTF-8 text; save it as CSV (UTF-8) and try again.")]) from exc
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip().lower() for h in (reader.fieldnames or [])]
    if tuple(header) != CREDIT_CSV_COLUMNS:
        raise CreditImportInvalid(
            [_("The first line must be the header: %(cols)s.") % {"cols": ",".join(CREDIT_CSV_COLUMNS)}]
        )
    reader.fieldnames = header
    rows: list[CreditRow] = []
    errors: list[str] = []
    seen: dict[str, int] = {}
    for raw in reader:
        # The reader's own count: blank lines (which it skips) and quoted line breaks still count,
        # so the number is the line the administrator sees in an editor.
        line = reader.line_num
        if None in raw or any(v is None for v in raw.values()):
            errors.append(_("Line %(line)s: expected 3 columns.") % {"line": line})
            continue
        row_errors = []
        try:
            resident_id = parse_resident_id(raw["id_number"])
        except InvalidIdNumber as exc:
            row_errors.append(str(exc.message))
            resident_id = None
        score_text = raw["score"].strip()
        score = int(score_text) if score_text.isascii() and score_text.isdigit() else None
        if score is None or score > 1000:
            row_errors.append(_("the score must be a whole number from 0 to 1000, not “%(v)s”") % {"v": score_text})
        flag = raw["dishonest_debtor"].strip().lower()
        if flag not in _TRUE | _FALSE:
            row_errors.append(_("dishonest_debtor must be yes or no, not “%(v)s”") % {"v": flag})
        if resident_id is not None and resident_id.number in seen:
            row_errors.append(_("the same ID number is on line %(other)s") % {"other": seen[resident_id.number]})
        if row_errors or resident_id is None or score is None:
            errors.append(_("Line %(line)s: %(errors)s.") % {"line": line, "errors": "; ".join(row_errors)})
            continue
        seen[resident_id.number] = line
        rows.append(CreditRow(line=line, id_number=resident_id.number, score=score, dishonest_debtor=flag in _TRUE))
    if errors:
        raise CreditImportInvalid(errors)
    if not rows:
        raise CreditImportInvalid([_("The file has a header but no rows.")])
    return rows


def credit_import_preview(*, file_name: str, content: bytes, by: User) -> tuple[CreditImport, list[CreditRow]]:
    """Check a whole file and keep it (encrypted) for the admin to confirm; nothing is applied yet."""
    rows = credit_file_parse(content=content)
    payload = json.dumps([[r.id_number, r.score, r.dishonest_debtor] for r in rows])
    credit_import = CreditImport.objects.create(
        file_name=file_name[:200], payload_encrypted=encrypt_id_number(payload), row_count=len(rows), created_by=by
    )
    return credit_import, rows


def credit_import_rows(*, credit_import: CreditImport) -> list[CreditRow]:
    payload = json.loads(decrypt_id_number(credit_import.payload_encrypted))
    return [CreditRow(line=i + 2, id_number=n, score=s, dishonest_debtor=d) for i, (n, s, d) in enumerate(payload)]


def credit_import_apply(*, credit_import: CreditImport, by: User) -> int:
    """Apply a previewed file in one transaction: every row or none. Returns the number of rows."""
    with transaction.atomic():
        locked = CreditImport.objects.select_for_update().get(pk=credit_import.pk)
        if locked.status != CreditImport.Status.PREVIEWED:
            raise InvalidTransition(_("This file has already been imported."))
        rows = credit_import_rows(credit_import=locked)
        now = timezone.now()
        CreditRecord.objects.bulk_create(
            [
                CreditRecord(
                    id_number_hash=hash_id_number(r.id_number),
                    id_number_masked=r.masked,
                    score=r.score,
                    dishonest_debtor=r.dishonest_debtor,
                    credit_import=locked,
                    imported_at=now,
                )
                for r in rows
            ],
            batch_size=1000,
            update_conflicts=True,
            unique_fields=["id_number_hash"],
            update_fields=["score", "dishonest_debtor", "credit_import", "imported_at"],
        )
        locked.status = CreditImport.Status.APPLIED
        locked.applied_at = now
        # The rows are no longer needed once applied; the records hold only hashes and masks.
        locked.payload_encrypted = encrypt_id_number("[]")
        locked.save(update_fields=["status", "applied_at", "payload_encrypted"])
    logger.info("credit import %s applied by user %s: %s rows", locked.pk, by.pk, len(rows))
    return len(rows)


# --- resident ID numbers: revealing one, rotating the keys -------------------------------------------------

REVEAL_REASON_MIN_LENGTH = 10


def person_reveal_id_number(*, person: Person, by: User, reason: str) -> str:
    """The full ID number, for an admin who holds the permission and says why; the reveal is recorded first.

    Recorded before the number is decrypted, in the same transaction: no number is ever shown without its
    record, and a failed decryption leaves a record of the attempt.
    """
    reason = " ".join(reason.split())
    if not by.is_active or not by.has_perm("members.reveal_id_number"):
        raise PermissionDenied(_("You may not reveal ID numbers."))
    if len(reason) < REVEAL_REASON_MIN_LENGTH:
        raise DomainError(
            _("Say why you need the full number, in at least %(count)s characters.")
            % {"count": REVEAL_REASON_MIN_LENGTH},
            field="reason",
        )
    with transaction.atomic():
        IdNumberReveal.objects.create(person=person, revealed_by=by, reason=reason)
        number = person.reveal_id_number()
    logger.info("ID number of person %s revealed by user %s", person.pk, by.pk)
    return number


@dataclass(frozen=True)
class KeyRotationReport:
    people: int
    people_reencrypted: int
    credit_imports: int
    credit_imports_reencrypted: int


def id_keys_rotate(*, chunk_size: int = 1000) -> KeyRotationReport:
    """Re-encrypt every stored ID number (and pending bureau file) with the first of ID_ENCRYPTION_KEYS.

    Fernet needs Python for each token, so rows go in id order, one chunk at a time, each chunk one
    `bulk_update` in its own transaction: memory stays flat, an interrupted run keeps what it finished,
    and a re-run skips the tokens the newest key already opens.
    """
    people, people_changed = _reencrypt_in_chunks(Person.objects.all(), "id_number_encrypted", chunk_size)
    imports, imports_changed = _reencrypt_in_chunks(CreditImport.objects.all(), "payload_encrypted", chunk_size)
    logger.info(
        "ID keys rotated: %s of %s people and %s of %s credit imports re-encrypted",
        people_changed,
        people,
        imports_changed,
        imports,
    )
    return KeyRotationReport(people, people_changed, imports, imports_changed)


def _reencrypt_in_chunks(queryset: QuerySet[Any], field: str, chunk_size: int) -> tuple[int, int]:
    seen = changed = 0
    last_id = 0
    while True:
        with transaction.atomic():
            # Locked, so an edit of the same rows meanwhile waits instead of being overwritten.
            chunk = list(
                queryset.select_for_update().filter(pk__gt=last_id).order_by("pk").only("pk", field)[:chunk_size]
            )
            if not chunk:
                return seen, changed
            stale = []
            for row in chunk:
                token = reencrypt_with_newest_key(getattr(row, field))
                if token is not None:
                    setattr(row, field, token)
                    stale.append(row)
            if stale:
                queryset.model.objects.bulk_update(stale, [field])
        seen += len(chunk)
        changed += len(stale)
        last_id = chunk[-1].pk


__all__ = [
    "account_notifications_set",
    "credit_file_parse",
    "credit_import_apply",
    "credit_import_preview",
    "household_remove_for_non_payment",
    "id_keys_rotate",
    "membership_change_status",
    "membership_end_for_waiting_period_illness",
    "membership_enrol",
    "membership_exit",
    "membership_mark_paid_out",
    "memberships_daily",
    "partner_create",
    "partner_key_create",
    "partner_keys_revoke",
    "person_reveal_id_number",
]
