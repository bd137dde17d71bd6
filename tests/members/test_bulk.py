"""The bulk enrolment (members.bulk): every item gets exactly what `membership_enrol` would give it alone.

The reference here is the single path as the API used it before: the payer looked up among the partner's
members, then `membership_enrol`, one item after the other. Both paths run on the same data (the first in a
savepoint that is rolled back), and their outcomes and what they leave in the database are compared.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from datetime import date, timedelta
from typing import Any
from unittest import mock

import pytest
from django.db import connection, transaction
from django.http import Http404
from django.test.utils import CaptureQueriesContext
from django.utils.translation import gettext as _

from members import bulk
from members.bulk import BulkOutcome, Enrolment, memberships_enrol_bulk
from members.errors import DomainError
from members.identity import hash_id_number
from members.models import CreditRecord, Membership, MembershipStatus, Partner, Person, Plan
from members.selectors import membership_for_partner, membership_for_partner_ref
from members.services import (
    WAITING_PERIOD_ILLNESS,
    membership_end_for_waiting_period_illness,
    membership_enrol,
    membership_exit,
    membership_mark_paid_out,
    partner_create,
)
from members.signals import membership_status_changed
from tests.concurrency import at_once
from tests.idnumbers import make_id_number


def number(i: int) -> str:
    """A distinct valid ID number for each i (the test helper's serial counts modulo 100)."""
    return make_id_number(date(1985, 1, 1) + timedelta(days=i // 100), serial=i % 100)


@pytest.fixture
def acme(plan: Plan) -> Partner:
    partner, _key = partner_create(name="acme")
    return partner


@pytest.fixture
def globex(plan: Plan) -> Partner:
    partner, _key = partner_create(name="globex")
    return partner


@pytest.fixture
def item(no_answers: dict[str, bool]) -> Callable[..., Enrolment]:
    def _item(i: int, **overrides: Any) -> Enrolment:
        fields: dict[str, Any] = {
            "name": "张三",
            "id_number": number(i),
            "health_answers": dict(no_answers),
            "phone": "13800000000",
            "attested_score": 700,
            "external_ref": f"r-{i}",
        }
        if overrides.get("payer_id") is not None:
            fields.update(relationship="child", attested_score=None)
        fields.update(overrides)
        return Enrolment(**fields)

    return _item


def enrol_one_by_one(*, plan: Plan, partner: Partner, items: Sequence[Enrolment]) -> list[BulkOutcome]:
    """The single path, item after item, as the API called it (the reference)."""
    outcomes: list[BulkOutcome] = []
    for i in items:
        try:
            payer = None
            if i.payer_id is not None:
                try:
                    payer = membership_for_partner(partner=partner, membership_id=i.payer_id)
                except Http404 as exc:
                    raise DomainError(_("None of your members has this id."), field="payer") from exc
            elif i.payer_ref:
                try:
                    payer = membership_for_partner_ref(partner=partner, external_ref=i.payer_ref)
                except Http404 as exc:
                    raise bulk.unknown_payer_ref() from exc
            outcomes.append(
                membership_enrol(
                    plan=plan,
                    name=i.name,
                    id_number=i.id_number,
                    health_answers=i.health_answers,
                    relationship=i.relationship,
                    payer=payer,
                    phone=i.phone,
                    attested_score=i.attested_score,
                    external_ref=i.external_ref,
                    partner=partner,
                )
            )
        except DomainError as exc:
            outcomes.append(exc)
    return outcomes


def seen(outcome: BulkOutcome) -> tuple[Any, ...]:
    """An outcome as the partner sees it, without the new member's id (the two runs number differently)."""
    if isinstance(outcome, DomainError):
        return ("error", type(outcome).__name__, outcome.code, outcome.http_status, str(outcome.message), outcome.field)
    m = Membership.objects.select_related("person", "payer__person").get(pk=outcome.pk)
    return (
        "member",
        m.person.id_number_hash,
        m.person.name,
        m.person.phone,
        m.relationship,
        m.payer.person.id_number_hash if m.payer else None,  # a payer enrolled in the run has another id in each
        m.status,
        m.status_reason,
        m.joined_on,
        m.waiting_period_ends,
        m.health_declaration,
        m.credit_source,
        m.credit_score,
        m.external_ref,
        m.partner_id,
        m.account_id,
    )


def database_state() -> dict[str, list[tuple[Any, ...]]]:
    """People, memberships and both histories, keyed by ID number hash rather than by the new rows' ids."""
    hash_of = dict(Person.objects.values_list("pk", "id_number_hash"))
    payer_of = {pk: hash_of[person] for pk, person in Membership.objects.values_list("pk", "person_id")}
    return {
        "people": sorted(Person.objects.values_list("id_number_hash", "name", "phone", "id_number_masked", "sex")),
        "memberships": sorted(
            (hash_of[m.person_id], m.status, m.status_reason, m.relationship, payer_of.get(m.payer_id), m.external_ref)
            for m in Membership.objects.all()
        ),
        "membership history": sorted(
            (hash_of[h.person_id], h.history_type, h.history_change_reason or "", h.history_user_id or 0, h.status)
            for h in Membership.history.all()
        ),
        "people history": sorted(
            (hash_of[h.id], h.history_type, h.history_change_reason or "", h.history_user_id or 0, h.name, h.phone)
            for h in Person.history.all()
        ),
    }


def run_and_roll_back(call: Callable[[], list[BulkOutcome]]) -> tuple[list[tuple[Any, ...]], dict[str, Any]]:
    """The outcomes and the state they leave, signals sent included (by status and reason: ids differ)."""
    signalled: Counter[tuple[str, str]] = Counter()

    def receiver(sender: Any, *, membership_ids: list[int], status: str, reason: str, **kwargs: Any) -> None:
        signalled[(status, reason)] += len(membership_ids)

    membership_status_changed.connect(receiver, dispatch_uid="test_bulk")
    try:
        with transaction.atomic():
            outcomes = call()
            result = [seen(o) for o in outcomes], {**database_state(), "signalled": sorted(signalled.items())}
            transaction.set_rollback(True)
    finally:
        membership_status_changed.disconnect(dispatch_uid="test_bulk")
    return result


def assert_same_as_one_by_one(plan: Plan, partner: Partner, items: Sequence[Enrolment]) -> list[tuple[Any, ...]]:
    one_by_one, state_one_by_one = run_and_roll_back(lambda: enrol_one_by_one(plan=plan, partner=partner, items=items))
    with mock.patch.object(bulk, "memberships_enrol_one_by_one", side_effect=AssertionError("not set-based")):
        # The unique indexes would send a wrong decision to the one-by-one path: the batch must not need it.
        together, state_together = run_and_roll_back(
            lambda: memberships_enrol_bulk(plan=plan, partner=partner, items=items)
        )
    for index, (alone, in_bulk) in enumerate(zip(one_by_one, together, strict=True)):
        assert in_bulk == alone, f"item {index}"
    assert state_together == state_one_by_one
    return together


@pytest.fixture
def world(plan: Plan, acme: Partner, globex: Partner, no_answers: dict[str, bool]) -> dict[str, Membership]:
    """Acme's members in every state an item can meet, and a payer of globex's."""

    def join(i: int, partner: Partner = acme, **extra: Any) -> Membership:
        extra.setdefault("attested_score", 700 if extra.get("payer") is None else None)
        return membership_enrol(
            plan=plan,
            name=extra.pop("name", "老成员"),
            id_number=number(i),
            health_answers=no_answers,
            partner=partner,
            external_ref=extra.pop("external_ref", f"old-{i}"),
            **extra,
        )

    payer = join(900, external_ref="p-existing")
    with_spouse = join(901)
    join(902, payer=with_spouse, relationship="spouse")
    pending = join(903, attested_score=None)
    dependant = join(904, payer=payer, relationship="child")
    gone = join(905)
    membership_exit(membership=gone, by=None)
    exited = join(906, name="王五", phone="13700000000")
    membership_exit(membership=exited, by=None)
    membership_mark_paid_out(membership=join(907), by=None)
    membership_end_for_waiting_period_illness(membership=join(908), by=None)
    CreditRecord.objects.create(id_number_hash=hash_id_number(number(40)), id_number_masked="x", score=700)
    CreditRecord.objects.create(id_number_hash=hash_id_number(number(41)), id_number_masked="x", score=500)
    CreditRecord.objects.create(
        id_number_hash=hash_id_number(number(42)), id_number_masked="x", score=900, dishonest_debtor=True
    )
    return {
        "payer": payer,
        "with_spouse": with_spouse,
        "pending": pending,
        "dependant": dependant,
        "gone": gone,
        "globex": join(909, partner=globex),
    }


def test_a_household_enrolled_in_one_batch_names_its_payer_by_reference(
    plan: Plan, acme: Partner, world: dict[str, Membership], item: Callable[..., Enrolment]
) -> None:
    """payer_ref: a live member of the partner, or an earlier item of the batch; the same outcome as one by one."""
    yes = {code: True for code in plan.health_questions.values_list("code", flat=True)}

    def dependant(i: int, ref: str, relationship: str = "child") -> Enrolment:
        return item(i, payer_ref=ref, relationship=relationship, attested_score=None)

    items = [
        dependant(57, "fam-2"),  # names an item that comes later: unknown yet
        item(50, external_ref="fam-1"),  # a new payer
        dependant(51, "fam-1", "spouse"),  # the payer's spouse, enrolled in the same batch
        dependant(52, "fam-1", "spouse"),  # a second spouse of that household
        dependant(53, "fam-1"),  # their child
        dependant(54, "p-existing"),  # an existing live member named by reference
        dependant(55, "nobody"),  # no such reference
        dependant(56, "r-53"),  # the child of this batch cannot pay
        item(58, external_ref="fam-2"),
        item(59, attested_score=None, external_ref="fam-3"),  # a payer left for an administrator's review
        dependant(60, "fam-3"),  # whose family waits for that review
        item(61, external_ref="fam-4", health_answers=yes),  # a payer refused
        dependant(62, "fam-4"),  # names a payer that was not enrolled
        dependant(63, "old-905"),  # the reference of a member who exited
        dependant(64, "fam-1", "parent"),
    ]
    outcomes = assert_same_as_one_by_one(plan, acme, items)
    kinds = [o[0] if o[0] == "member" else o[2] for o in outcomes]
    assert kinds == [
        "invalid",
        "member",
        "member",
        "invalid",
        "member",
        "member",
        "invalid",
        "invalid",
        "member",
        "member",
        "invalid",
        "health_declaration_failed",
        "invalid",
        "invalid",
        "member",
    ]
    payer_hash = hash_id_number(number(50))
    assert [o[5] for o in outcomes if o[0] == "member" and o[1] != payer_hash][:2] == [payer_hash, payer_hash]
    assert outcomes[0][-1] == outcomes[6][-1] == "payer_ref"  # the field the error names


def test_every_item_of_a_mixed_batch_gets_what_it_gets_one_by_one(
    plan: Plan, acme: Partner, world: dict[str, Membership], item: Callable[..., Enrolment]
) -> None:
    payer, answers_yes = (
        world["payer"].pk,
        {code: True for code in plan.health_questions.values_list("code", flat=True)},
    )
    items = [
        item(1),  # a new payer
        item(2, payer_id=payer),  # a child of an existing payer
        item(3, payer_id=payer, relationship="spouse"),
        item(4, payer_id=payer, relationship="spouse"),  # a second spouse in the same batch
        item(5, payer_id=world["with_spouse"].pk, relationship="spouse"),  # the household has one already
        item(6, id_number="123"),
        item(7, id_number=number(7)[:-1] + ("1" if number(7)[-1] == "0" else "0")),  # a wrong check digit
        item(8, id_number=make_id_number(date(1950, 1, 1), serial=8)),  # too old
        item(9, health_answers=answers_yes),
        item(10, attested_score=600),  # attested below the plan's minimum
        item(11, attested_score=None),  # no credit record: an administrator decides
        item(40, attested_score=None),  # the bureau's good record
        item(41, attested_score=None),  # the bureau's low record
        item(42, attested_score=800),  # a dishonest debtor, whatever the partner attests
        item(900, external_ref="again"),  # already a member
        item(1, external_ref="dup-person"),  # the same person twice in the batch
        item(12, external_ref="r-1"),  # a reference taken earlier in the batch
        item(13, external_ref="p-existing"),  # a reference of an existing member
        item(14, payer_id=world["globex"].pk),  # another partner's payer
        item(15, payer_id=987654),  # no member at all
        item(16, payer_id=world["dependant"].pk),  # a dependant cannot pay
        item(17, payer_id=world["pending"].pk),  # the payer is pending review
        item(18, payer_id=world["gone"].pk),  # the payer has exited
        item(907),  # paid out once in a lifetime
        item(908),  # an illness in the waiting period ended it
        item(906, name="王五五", phone="13900000000"),  # rejoins; the person's name and phone change
        item(905, name="  换名  ", phone=""),  # rejoins with a new name, keeps the phone
        item(19, health_answers=answers_yes),  # fails first …
        item(19),  # … so the same person may join later in the batch
        item(20, external_ref="p-existing"),  # fails at the reference …
        item(20, external_ref="r-20b"),  # … and then joins with a free one
        item(21, external_ref="r-z", attested_score=1),  # fails at the credit check …
        item(22, external_ref="r-z"),  # … so the reference is still free
        item(23, name="   "),
        item(24, name="长" * 51),
        item(25, phone="1" * 21),
        item(26, external_ref="r" * 65),
        item(27, relationship="cousin"),
        item(28, payer_id=payer, relationship="self"),
        item(29, relationship="child"),  # a family member without a payer
        item(30, health_answers={}),
        item(31, health_answers={**{c: False for c in answers_yes}, "H99": False}),
        item(32, payer_id=987654, id_number="123"),  # the payer is looked up before anything else
        item(33, payer_id=payer, id_number="123"),
        item(34, payer_id=world["dependant"].pk, health_answers=answers_yes),  # the payer rule comes first
        item(900, external_ref="p-existing"),  # already enrolled comes before the reference
        item(35, external_ref=""),
        item(36, external_ref=""),  # no reference: never a conflict
        item(3, payer_id=payer, relationship="child"),  # already enrolled (as the spouse, item 2)
        item(37, payer_id=payer, relationship="parent"),
    ]
    outcomes = assert_same_as_one_by_one(plan, acme, items)
    kinds = [o[0] if o[0] == "member" else o[2] for o in outcomes]
    # The batch covers every kind of outcome (so the comparison above is not vacuous).
    assert {"member", "invalid", "age_out_of_range", "health_declaration_failed", "credit_check_failed"} <= set(kinds)
    assert {"already_enrolled", "conflict", "rejoining_not_allowed"} <= set(kinds)
    assert kinds.count("member") >= 12
    assert [o[6] for o in outcomes if o[0] == "member"].count(MembershipStatus.PENDING_REVIEW) == 1


def test_a_closed_plan_refuses_every_item_as_one_by_one(
    plan: Plan, acme: Partner, world: dict[str, Membership], item: Callable[..., Enrolment]
) -> None:
    plan.is_active = False
    plan.save(update_fields=["is_active"])
    outcomes = assert_same_as_one_by_one(plan, acme, [item(1), item(2, payer_id=987654), item(3, id_number="1")])
    assert [o[2] for o in outcomes] == ["plan_closed", "invalid", "plan_closed"]


def test_it_writes_one_history_row_per_new_member_and_person_without_a_reason(
    plan: Plan, acme: Partner, item: Callable[..., Enrolment]
) -> None:
    outcomes = memberships_enrol_bulk(plan=plan, partner=acme, items=[item(1), item(2)])
    for membership in outcomes:
        assert isinstance(membership, Membership)
        rows = list(membership.history.values_list("history_type", "history_change_reason", "status"))
        assert rows == [("+", None, MembershipStatus.WAITING)]
        assert list(membership.person.history.values_list("history_type", "name")) == [("+", "张三")]


def test_it_returns_members_ready_to_show(
    plan: Plan, acme: Partner, item: Callable[..., Enrolment], django_assert_num_queries: Any
) -> None:
    [membership] = memberships_enrol_bulk(plan=plan, partner=acme, items=[item(1)])
    assert isinstance(membership, Membership)
    with django_assert_num_queries(0):
        assert (membership.person.id_number_masked, membership.plan, membership.partner_id) == (
            number(1)[:6] + "********" + number(1)[-4:],
            plan,
            acme.pk,
        )


def mixed_items(item: Callable[..., Enrolment], world: dict[str, Membership], n: int) -> list[Enrolment]:
    """Every kind of work a batch does (new people, known people renamed, dependants, refusals), then payers."""
    answers_yes = {code: True for code in item(0).health_answers}
    kinds = [
        item(906, name="王五五"),
        item(905, name="赵六"),
        item(900),
        item(5, payer_id=world["payer"].pk, relationship="spouse"),
        item(6, payer_id=world["with_spouse"].pk, relationship="spouse"),
        item(7, health_answers=answers_yes),
        item(40, attested_score=None),
        item(8, external_ref="p-existing"),
    ]
    return kinds + [item(1000 + i) for i in range(n - len(kinds))]


@pytest.mark.services
def test_a_batch_of_500_costs_the_queries_of_a_batch_of_50(
    plan: Plan,
    acme: Partner,
    world: dict[str, Membership],
    item: Callable[..., Enrolment],
    django_assert_max_num_queries: Any,
) -> None:
    with transaction.atomic(), CaptureQueriesContext(connection) as fifty:
        outcomes = memberships_enrol_bulk(plan=plan, partner=acme, items=mixed_items(item, world, 50))
        assert sum(isinstance(o, Membership) for o in outcomes) == 46
        transaction.set_rollback(True)
    with django_assert_max_num_queries(len(fifty)):
        outcomes = memberships_enrol_bulk(plan=plan, partner=acme, items=mixed_items(item, world, 500))
    assert sum(isinstance(o, Membership) for o in outcomes) == 496
    assert len(fifty) < 25


@pytest.fixture
def slow_write() -> Iterator[None]:
    """Both batches read before either writes: the race the locks cannot see, settled by the unique index."""
    original = bulk._write

    def slow(**kwargs: Any) -> list[Membership]:
        time.sleep(0.3)
        return original(**kwargs)

    with mock.patch.object(bulk, "_write", slow):
        yield


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_two_batches_enrolling_the_same_new_person_at_once_enrol_them_once(
    plan: Plan, acme: Partner, item: Callable[..., Enrolment], slow_write: None, caplog: pytest.LogCaptureFixture
) -> None:
    def batch(ref: str, other: int) -> Callable[[], list[BulkOutcome]]:
        items = [item(1, external_ref=ref), item(other)]
        return lambda: memberships_enrol_bulk(plan=plan, partner=acme, items=items)

    with caplog.at_level(logging.INFO, logger="members.bulk"):
        first, second = at_once(batch("a", 2), batch("b", 3))
    outcomes = [first[0], second[0]]
    assert sorted(type(o).__name__ for o in outcomes) == ["AlreadyEnrolled", "Membership"]
    assert Membership.objects.filter(person__id_number_hash=hash_id_number(number(1))).count() == 1
    # The other items of the batch that lost were enrolled all the same, one by one.
    assert isinstance(first[1], Membership) and isinstance(second[1], Membership)
    assert "one by one" in caplog.text


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_two_batches_using_the_same_reference_at_once_give_it_to_one(
    plan: Plan, acme: Partner, item: Callable[..., Enrolment], slow_write: None
) -> None:
    first, second = at_once(
        lambda: memberships_enrol_bulk(plan=plan, partner=acme, items=[item(1, external_ref="same")]),
        lambda: memberships_enrol_bulk(plan=plan, partner=acme, items=[item(2, external_ref="same")]),
    )
    assert sorted(type(o).__name__ for o in first + second) == ["ExternalRefTaken", "Membership"]
    assert Membership.objects.filter(external_ref="same").count() == 1


def test_a_person_in_a_waiting_period_illness_is_refused_with_the_single_paths_message(
    plan: Plan, acme: Partner, world: dict[str, Membership], item: Callable[..., Enrolment]
) -> None:
    [outcome] = memberships_enrol_bulk(plan=plan, partner=acme, items=[item(908)])
    assert isinstance(outcome, DomainError)
    assert outcome.code == "rejoining_not_allowed"
    assert Membership.objects.filter(status_reason=WAITING_PERIOD_ILLNESS).count() == 1


@pytest.mark.services
def test_households_named_by_reference_cost_the_same_statements_for_10_or_100(
    plan: Plan, acme: Partner, item: Callable[..., Enrolment], django_assert_max_num_queries: Any
) -> None:
    """Each household: a payer and a child naming it by reference. Two statements more than a batch of
    payers alone (the dependants' insert and its history), whatever the number of households."""

    def households(count: int, start: int) -> list[Enrolment]:
        return [
            one
            for i in range(start, start + count)
            for one in (
                item(2 * i, external_ref=f"home-{i}"),
                item(2 * i + 1, payer_ref=f"home-{i}", relationship="child", attested_score=None),
            )
        ]

    with transaction.atomic(), CaptureQueriesContext(connection) as ten:
        outcomes = memberships_enrol_bulk(plan=plan, partner=acme, items=households(10, 1000))
        assert all(isinstance(o, Membership) for o in outcomes)
        transaction.set_rollback(True)
    with django_assert_max_num_queries(len(ten)):
        outcomes = memberships_enrol_bulk(plan=plan, partner=acme, items=households(100, 2000))
    assert all(isinstance(o, Membership) for o in outcomes)
    children = [o for o in outcomes if isinstance(o, Membership) and o.relationship == "child"]
    assert [c.payer_id for c in children] == [o.pk for o in outcomes[::2] if isinstance(o, Membership)]
