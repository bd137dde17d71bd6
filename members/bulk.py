"""Enrolment of many people at once (the partner API's bulk endpoint), with the rules of `membership_enrol`.

Enrolled one by one, a thousand people cost a thousand transactions of some sixteen statements each.
Here the whole batch is read with a fixed number of set queries, decided in Python, and written with
one insert per table, in one transaction, whatever its size.

Why the outcome is the same, item for item, as enrolling the items one after the other:
- every rule is the function the single path calls (`members.services`), fed with what was read once;
- items are decided in their order, each seeing what the items before it did: a person enrolled by an
  earlier item is already enrolled, a reference taken by an earlier item is taken, a spouse added by an
  earlier item fills the household; an item that fails leaves nothing behind, as its rolled-back
  transaction would;
- what is read stays true until the commit: the payers and the people already known are locked, in id
  order, the same locks `membership_enrol` takes, so a concurrent enrolment waits for this batch or this
  batch waits for it;
- a race the locks cannot see (a concurrent request inserting the same new person or reference) ends in
  the database's unique indexes: the batch is rolled back as a whole and enrolled again one by one,
  which gives each item the answer the single path gives it.

An item names its payer by id (a member who existed when the batch was read) or by the partner's own
reference (`payer_ref`): a live member with that reference, or an earlier item of the same batch, so a
household can be enrolled in one request, the payer's item first. Members are inserted in two
statements: those whose payer is not in the batch, then the dependants of payers the batch enrols.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import TypeVar

from django.db import IntegrityError, OperationalError, connection, transaction
from django.db.models import Q
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _
from simple_history.utils import bulk_update_with_history

from members.errors import AlreadyEnrolled, DomainError, ExternalRefTaken
from members.identity import encrypt_id_number, hash_id_number
from members.models import (
    LIVE_STATUSES,
    CreditRecord,
    CreditSource,
    Membership,
    MembershipStatus,
    Partner,
    Person,
    Plan,
    Relationship,
)
from members.selectors import membership_for_partner, membership_for_partner_ref
from members.services import (
    WAITING_PERIOD_ILLNESS,
    CreditDecision,
    EnrolmentInput,
    eligibility_check_age,
    eligibility_check_health_answers,
    eligibility_decide_credit,
    enrolment_check_input,
    membership_check_may_rejoin,
    membership_enrol,
    payer_check_can_add,
)

logger = logging.getLogger(__name__)

# PostgreSQL's code for a deadlock: two batches inserting the same new references in opposite orders.
_DEADLOCK = "40P01"


@dataclass(frozen=True)
class Enrolment:
    """One person to enrol: the fields of `membership_enrol`, with the payer named by its id."""

    name: str
    id_number: str
    health_answers: Mapping[str, bool]
    relationship: str = Relationship.SELF
    payer_id: int | None = None
    phone: str = ""
    attested_score: int | None = None
    external_ref: str = ""
    # The payer by the partner's reference instead of its id: a live member, or an earlier item.
    payer_ref: str = ""

    @property
    def names_payer(self) -> bool:
        return self.payer_id is not None or bool(self.payer_ref)


# The membership enrolled, or the error that refused the item (its code and HTTP status are the API's).
BulkOutcome = Membership | DomainError


def memberships_enrol_bulk(
    *, plan: Plan, partner: Partner, items: Sequence[Enrolment], on: date | None = None
) -> list[BulkOutcome]:
    """Enrol the items for `partner`, each succeeding or failing alone; outcomes in the items' order.

    The payer of an item must be a member the partner enrolled (else the same error as the single
    endpoint's). Created members come back with their person and plan attached, ready to show.
    """
    on = on or timezone.localdate()
    if not items:
        return []
    try:
        with transaction.atomic():
            outcomes = _enrol_set_based(plan=plan, partner=partner, items=items, on=on)
    except IntegrityError as exc:
        logger.info("bulk enrolment of %s items enrolled one by one: %s", len(items), type(exc).__name__)
        return memberships_enrol_one_by_one(plan=plan, partner=partner, items=items, on=on)
    except OperationalError as exc:
        if getattr(exc.__cause__, "pgcode", None) != _DEADLOCK:
            raise
        logger.info("bulk enrolment of %s items enrolled one by one after a deadlock", len(items))
        return memberships_enrol_one_by_one(plan=plan, partner=partner, items=items, on=on)
    enrolled = sum(isinstance(outcome, Membership) for outcome in outcomes)
    logger.info("bulk enrolment for partner %s: %s enrolled, %s refused", partner.pk, enrolled, len(items) - enrolled)
    return outcomes


def memberships_enrol_one_by_one(
    *, plan: Plan, partner: Partner, items: Sequence[Enrolment], on: date | None = None
) -> list[BulkOutcome]:
    """The items through `membership_enrol`, one transaction each: the reference the bulk path must equal."""
    outcomes: list[BulkOutcome] = []
    for item in items:
        try:
            outcomes.append(enrol_one(plan=plan, partner=partner, item=item, on=on))
        except DomainError as exc:
            outcomes.append(exc)
    return outcomes


def enrol_one(*, plan: Plan, partner: Partner, item: Enrolment, on: date | None = None) -> Membership:
    """One enrolment as the single endpoint makes it: the payer found by id or by the partner's
    reference among the partner's live members, then `membership_enrol`."""
    payer = None
    if item.payer_id is not None:
        try:
            payer = membership_for_partner(partner=partner, membership_id=item.payer_id)
        except Http404 as exc:
            raise _unknown_payer() from exc
    elif item.payer_ref:
        try:
            payer = membership_for_partner_ref(partner=partner, external_ref=item.payer_ref)
        except Http404 as exc:
            raise unknown_payer_ref() from exc
    return membership_enrol(
        plan=plan,
        name=item.name,
        id_number=item.id_number,
        health_answers=item.health_answers,
        relationship=item.relationship,
        payer=payer,
        phone=item.phone,
        attested_score=item.attested_score,
        external_ref=item.external_ref,
        partner=partner,
        on=on,
    )


def _unknown_payer() -> DomainError:
    # Another partner's member, or no member at all: the same answer, as for every partner's object.
    return DomainError(_("None of your members has this id."), field="payer")


def unknown_payer_ref() -> DomainError:
    return DomainError(
        _("None of your members (or of the earlier items of this request) has this reference."), field="payer_ref"
    )


@dataclass
class _Batch:
    """What the database held when the batch was read, and what the items decided so far added to it."""

    payers: dict[int, Membership]
    payer_ids_by_ref: dict[str, int]  # the payers named by reference that are live members already
    payers_with_spouse: set[int | str]  # a member's id, or "item:<n>" for the batch's n-th item
    people: dict[str, Person]  # by ID number hash
    live_people: set[int]  # person ids with a live membership of the plan
    paid_out_people: set[int]
    ill_in_waiting_people: set[int]
    live_refs: set[str]
    credit_records: dict[str, CreditRecord]
    question_codes: list[str]
    enrolled_hashes: set[str] = field(default_factory=set)
    # The items decided so far that carry a reference, and their number: a later item may name them.
    decided_by_ref: dict[str, tuple[int, _Decided]] = field(default_factory=dict)


@dataclass(frozen=True)
class _Decided:
    item: Enrolment
    checked: EnrolmentInput
    id_hash: str
    payer: Membership | None
    declaration: dict[str, bool]
    credit: CreditDecision
    # The payer when it is an earlier item of the batch (then `payer` is None).
    payer_item: _Decided | None = None

    def as_payer(self, plan: Plan) -> Membership:
        """What `payer_check_can_add` reads of this item's member-to-be: plan, status, whether it pays."""
        return Membership(
            plan=plan,
            relationship=self.item.relationship,
            payer_id=None if not self.item.names_payer else -1,
            status=self.credit.status,
        )


def _enrol_set_based(*, plan: Plan, partner: Partner, items: Sequence[Enrolment], on: date) -> list[BulkOutcome]:
    checked: list[EnrolmentInput | DomainError] = []
    for item in items:
        try:
            checked.append(
                enrolment_check_input(
                    plan=plan,
                    name=item.name,
                    phone=item.phone,
                    external_ref=item.external_ref,
                    id_number=item.id_number,
                    relationship=item.relationship,
                    has_payer=item.names_payer,
                )
            )
        except DomainError as exc:
            checked.append(exc)
    hashes = [hash_id_number(c.resident_id.number) if isinstance(c, EnrolmentInput) else None for c in checked]
    batch = _read(plan=plan, partner=partner, items=items, checked=checked, hashes=hashes)
    decisions: list[_Decided | DomainError] = []
    for number, (item, item_checked, id_hash) in enumerate(zip(items, checked, hashes, strict=True)):
        try:
            decided = _decide(plan=plan, batch=batch, item=item, checked=item_checked, id_hash=id_hash, on=on)
        except DomainError as exc:
            decisions.append(exc)
            continue
        decisions.append(decided)
        if decided.checked.external_ref:
            batch.decided_by_ref[decided.checked.external_ref] = (number, decided)
    created = _write(
        plan=plan, partner=partner, batch=batch, decided=[d for d in decisions if isinstance(d, _Decided)], on=on
    )
    enrolled = iter(created)
    return [next(enrolled) if isinstance(d, _Decided) else d for d in decisions]


def _read(
    *,
    plan: Plan,
    partner: Partner,
    items: Sequence[Enrolment],
    checked: Sequence[EnrolmentInput | DomainError],
    hashes: Sequence[str | None],
) -> _Batch:
    """Everything the rules ask of the database, one query each, under the locks `membership_enrol` takes.

    Payers first, then people, each in id order: the order of the single path's locks, so neither waits
    for the other in a circle. (An empty `IN ()` is answered without a query.)
    """
    payer_ids = sorted({i.payer_id for i in items if i.payer_id is not None})
    payer_refs = sorted({i.payer_ref for i in items if i.payer_ref})
    payers = (
        Membership.objects.select_for_update()
        .filter(partner=partner)
        .filter(Q(pk__in=payer_ids) | Q(external_ref__in=payer_refs, status__in=LIVE_STATUSES))
        .order_by("pk")
    )
    payers_by_id = {p.pk: p for p in payers}
    payer_ids_by_ref = {
        p.external_ref: p.pk
        for p in payers_by_id.values()
        if p.external_ref in payer_refs and p.status in LIVE_STATUSES
    }
    payers_with_spouse = Membership.objects.filter(
        payer_id__in=list(payers_by_id), relationship=Relationship.SPOUSE, status__in=LIVE_STATUSES
    ).values_list("payer_id", flat=True)
    known = sorted({h for h in hashes if h is not None})
    people = Person.objects.select_for_update().filter(id_number_hash__in=known).order_by("pk")
    people_by_hash = {p.id_number_hash: p for p in people}
    # The live memberships (already enrolled) and the ended ones that bar rejoining, in one read.
    past = Membership.objects.filter(plan=plan, person_id__in=[p.pk for p in people_by_hash.values()]).filter(
        Q(status__in=LIVE_STATUSES) | Q(status=MembershipStatus.PAID_OUT) | Q(status_reason=WAITING_PERIOD_ILLNESS)
    )
    live_people: set[int] = set()
    paid_out_people: set[int] = set()
    ill_in_waiting_people: set[int] = set()
    for person_id, status, reason in past.values_list("person_id", "status", "status_reason"):
        if status in LIVE_STATUSES:
            live_people.add(person_id)
        if status == MembershipStatus.PAID_OUT:
            paid_out_people.add(person_id)
        if reason == WAITING_PERIOD_ILLNESS:
            ill_in_waiting_people.add(person_id)
    refs = sorted({c.external_ref for c in checked if isinstance(c, EnrolmentInput) and c.external_ref})
    live_refs = Membership.objects.filter(partner=partner, external_ref__in=refs, status__in=LIVE_STATUSES).values_list(
        "external_ref", flat=True
    )
    # Only people who pay for themselves are credit-checked.
    own_payers = sorted({h for h, i in zip(hashes, items, strict=True) if h is not None and not i.names_payer})
    credit_records = CreditRecord.objects.filter(id_number_hash__in=own_payers)
    return _Batch(
        payers=payers_by_id,
        payer_ids_by_ref=payer_ids_by_ref,
        payers_with_spouse=set(payers_with_spouse),
        people=people_by_hash,
        live_people=live_people,
        paid_out_people=paid_out_people,
        ill_in_waiting_people=ill_in_waiting_people,
        live_refs=set(live_refs),
        credit_records={r.id_number_hash: r for r in credit_records},
        question_codes=list(plan.health_questions.values_list("code", flat=True)),
    )


def _decide(
    *,
    plan: Plan,
    batch: _Batch,
    item: Enrolment,
    checked: EnrolmentInput | DomainError,
    id_hash: str | None,
    on: date,
) -> _Decided:
    """One item, in the order `membership_enrol` checks it, against the batch as the items before left it."""
    payer = None
    payer_item: _Decided | None = None
    household: int | str | None = None  # the payer's key in payers_with_spouse
    if item.payer_id is not None:
        payer = batch.payers.get(item.payer_id)
        if payer is None:
            raise _unknown_payer()
        household = payer.pk
    elif item.payer_ref:
        if (payer_id := batch.payer_ids_by_ref.get(item.payer_ref)) is not None:
            payer, household = batch.payers[payer_id], payer_id
        elif (earlier := batch.decided_by_ref.get(item.payer_ref)) is not None:
            household, payer_item = f"item:{earlier[0]}", earlier[1]
        else:
            raise unknown_payer_ref()
    if isinstance(checked, DomainError):
        raise checked
    assert id_hash is not None  # every item whose input passed has its number's hash
    if household is not None:
        payer_check_can_add(
            plan=plan,
            payer=payer if payer is not None else payer_item.as_payer(plan),  # type: ignore[union-attr]
            relationship=item.relationship,
            has_live_spouse=household in batch.payers_with_spouse,
        )
    resident_id = checked.resident_id
    eligibility_check_age(plan=plan, birth_date=resident_id.birth_date, on=on)
    declaration = eligibility_check_health_answers(codes=batch.question_codes, answers=item.health_answers)
    if household is None:
        credit = eligibility_decide_credit(
            plan=plan, record=batch.credit_records.get(id_hash), attested_score=item.attested_score
        )
    else:
        # The payer is the one charged, so a dependant rides on the payer's credit check.
        credit = CreditDecision(MembershipStatus.WAITING, CreditSource.PAYER, None)
    person = batch.people.get(id_hash)
    if id_hash in batch.enrolled_hashes or (person is not None and person.pk in batch.live_people):
        raise AlreadyEnrolled()
    if person is not None:
        membership_check_may_rejoin(
            paid_out=lambda: person.pk in batch.paid_out_people,
            ill_in_waiting_period=lambda: person.pk in batch.ill_in_waiting_people,
        )
    if checked.external_ref and checked.external_ref in batch.live_refs:
        raise ExternalRefTaken()
    # Decided: what the next items see.
    batch.enrolled_hashes.add(id_hash)
    if checked.external_ref:
        batch.live_refs.add(checked.external_ref)
    if household is not None and item.relationship == Relationship.SPOUSE:
        batch.payers_with_spouse.add(household)
    return _Decided(
        item=item,
        checked=checked,
        id_hash=id_hash,
        payer=payer,
        declaration=declaration,
        credit=credit,
        payer_item=payer_item,
    )


def _write(*, plan: Plan, partner: Partner, batch: _Batch, decided: Sequence[_Decided], on: date) -> list[Membership]:
    """The people, their changed names and phones, and the memberships: one insert (or update) per table,
    each with its history rows as the single path's saves write them."""
    if not decided:
        return []
    new_people: list[Person] = []
    changed_people: list[Person] = []
    person_of: dict[str, Person] = {}
    for d in decided:
        name, phone, resident_id = d.checked.name, d.checked.phone, d.checked.resident_id
        person = batch.people.get(d.id_hash)
        if person is None:
            person = Person(
                name=name,
                id_number_encrypted=encrypt_id_number(resident_id.number),
                id_number_hash=d.id_hash,
                id_number_masked=resident_id.masked,
                birth_date=resident_id.birth_date,
                sex=resident_id.sex,
                phone=phone,
            )
            new_people.append(person)
        elif person.name != name or (phone and person.phone != phone):
            person.name = name
            person.phone = phone or person.phone
            changed_people.append(person)
        person_of[d.id_hash] = person
    if new_people:
        # In hash order: two batches inserting the same new people wait for each other in the same order.
        _create_with_history(Person, sorted(new_people, key=lambda p: p.id_number_hash))
    if changed_people:
        bulk_update_with_history(changed_people, Person, ["name", "phone"])
    memberships = {
        id(d): Membership(
            plan=plan,
            person=person_of[d.id_hash],
            account=None,
            payer=d.payer,
            relationship=d.item.relationship,
            status=d.credit.status,
            status_reason="no_credit_record" if d.credit.status == MembershipStatus.PENDING_REVIEW else "",
            joined_on=on,
            waiting_period_ends=on + timedelta(days=plan.waiting_period_days),
            health_declaration=d.declaration,
            credit_source=d.credit.source,
            credit_score=d.credit.score,
            external_ref=d.checked.external_ref,
            partner=partner,
        )
        for d in decided
    }
    # The members whose payer is not in the batch first: the others need their payer's id.
    first = [memberships[id(d)] for d in decided if d.payer_item is None]
    if first:
        _create_with_history(Membership, first)
    then = [d for d in decided if d.payer_item is not None]
    for d in then:
        assert d.payer_item is not None
        memberships[id(d)].payer = memberships[id(d.payer_item)]
    if then:
        _create_with_history(Membership, [memberships[id(d)] for d in then])
    return [memberships[id(d)] for d in decided]


_Row = TypeVar("_Row", Person, Membership)


def _create_with_history(model: type[_Row], rows: list[_Row]) -> list[_Row]:
    """Insert the rows, then their history rows copied from them by the database in one INSERT … SELECT.

    The history rows are those a `save()` of each new row writes (type "+", no change reason, the user
    of the request if one is signed in), without a Python object built and sent for each of them.
    """
    created: list[_Row] = model._default_manager.bulk_create(rows)
    history = model.history.model  # type: ignore[attr-defined]
    quote = connection.ops.quote_name
    columns = ", ".join(quote(f.column) for f in history.tracked_fields)
    user = history.get_default_history_user(created[0])
    marks = ", ".join(["%s"] * len(created))
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {quote(history._meta.db_table)} "  # noqa: S608  (names from the models, values bound)
            f"({columns}, history_date, history_change_reason, history_type, history_user_id) "
            f"SELECT {columns}, %s, NULL, '+', %s FROM {quote(model._meta.db_table)} "
            f"WHERE {quote(model._meta.pk.column)} IN ({marks})",
            [timezone.now(), user.pk if user is not None else None, *(row.pk for row in created)],
        )
    return created
