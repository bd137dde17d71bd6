"""The juror test: plan data in Chinese and English, a pass mark, the rules accepted; taken again at will."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from jury.errors import JurorNotEligible
from jury.models import Juror, JurorQuestion, JuryRules
from jury.seeding import jury_seed_default
from jury.services import juror_take_test
from members.errors import DomainError
from members.models import Plan, User
from tests.jury.conftest import VOTE_AT

pytestmark = pytest.mark.django_db


def right_answers(plan: Plan) -> dict[str, int | None]:
    return dict(plan.juror_questions.values_list("code", "answer"))


def test_the_plan_has_a_short_test_on_its_rules_in_chinese_and_english(jury_plan: Plan) -> None:
    questions = list(jury_plan.juror_questions.all())
    assert 5 <= len(questions) <= 8
    for question in questions:
        assert question.text_zh and question.text_en and question.text_zh != question.text_en
        assert len(question.choices_zh) == len(question.choices_en) >= 2
        assert 0 <= question.answer < len(question.choices_en)


def test_seeding_again_changes_nothing(jury_plan: Plan) -> None:
    before = list(JurorQuestion.objects.order_by("pk").values())
    assert jury_seed_default(plan=jury_plan) == len(before)
    assert list(JurorQuestion.objects.order_by("pk").values()) == before
    assert JuryRules.objects.filter(plan=jury_plan).count() == 1


def test_every_answer_right_passes_and_makes_a_juror(make_juror: Callable[..., User], jury_plan: Plan) -> None:
    user = make_juror(qualified=False)
    result = juror_take_test(
        user=user, plan=jury_plan, answers=right_answers(jury_plan), accept_rules=True, now=VOTE_AT
    )
    juror = Juror.objects.get(user=user)
    assert (result.passed, result.score, result.total) == (True, 7, 7)
    assert (juror.passed_at, juror.rules_accepted_at, juror.qualified) == (VOTE_AT, VOTE_AT, True)


def test_the_pass_mark_is_a_plan_rule(make_juror: Callable[..., User], jury_plan: Plan) -> None:
    # 80% of 7 questions is 5.6: five right fails, six right passes.
    user = make_juror(qualified=False)
    answers = right_answers(jury_plan)
    codes = sorted(answers)
    five_right = {**answers, codes[0]: 99, codes[1]: 99}
    six_right = {**answers, codes[0]: 99}
    assert not juror_take_test(user=user, plan=jury_plan, answers=five_right, accept_rules=True, now=VOTE_AT).passed
    assert Juror.objects.get(user=user).passed_at is None
    assert juror_take_test(user=user, plan=jury_plan, answers=six_right, accept_rules=True, now=VOTE_AT).passed
    assert Juror.objects.get(user=user).attempts == 2


def test_the_rules_must_be_accepted(make_juror: Callable[..., User], jury_plan: Plan) -> None:
    user = make_juror(qualified=False)
    with pytest.raises(DomainError) as refused:
        juror_take_test(user=user, plan=jury_plan, answers=right_answers(jury_plan), accept_rules=False, now=VOTE_AT)
    assert refused.value.field == "accept_rules"
    assert not Juror.objects.filter(user=user).exists()


def test_someone_the_member_rules_refuse_cannot_take_the_test(charlie: User, jury_plan: Plan) -> None:
    with pytest.raises(JurorNotEligible):
        juror_take_test(user=charlie, plan=jury_plan, answers=right_answers(jury_plan), accept_rules=True, now=VOTE_AT)
    assert not Juror.objects.exists()
