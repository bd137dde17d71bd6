"""Juror-facing forms: they parse and check the shape of input; the rules live in jury.services."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from claims.forms import DomainErrorFormMixin
from claims.services import APPEAL_STATEMENT_MAX_LENGTH
from jury.models import JurorQuestion


class JurorTestForm(DomainErrorFormMixin):
    """One radio group per question of the plan's juror test, and the juror rules to accept."""

    accept_rules = forms.BooleanField(
        label=_("I accept the juror rules"),
        error_messages={"required": _("Accept the juror rules to take part.")},
    )

    def __init__(self, *args: Any, questions: list[JurorQuestion], language: str | None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.questions = questions
        for question in questions:
            self.fields[self.field_name(question)] = forms.TypedChoiceField(
                label=question.text(language),
                choices=list(enumerate(question.choices(language))),
                coerce=int,
                widget=forms.RadioSelect,
                error_messages={"required": _("Choose an answer.")},
            )
        # The rules are accepted after the questions are answered.
        self.order_fields([*(self.field_name(q) for q in questions), "accept_rules"])

    @staticmethod
    def field_name(question: JurorQuestion) -> str:
        return f"q_{question.code}"

    def answers(self) -> dict[str, int | None]:
        return {q.code: self.cleaned_data.get(self.field_name(q)) for q in self.questions}

    def question_fields(self) -> list[forms.BoundField]:
        return [self[self.field_name(q)] for q in self.questions]


class AppealForm(DomainErrorFormMixin):
    statement = forms.CharField(
        label=_("Your statement to the jury"),
        max_length=APPEAL_STATEMENT_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text=_(
            "Why the rejection is wrong, in your own words. Jurors read it without your name; do not write "
            "names, ID numbers or phone numbers in it."
        ),
        error_messages={"required": _("Say why the rejection is wrong: the jurors read your statement.")},
    )


class VoteForm(DomainErrorFormMixin):
    vote = forms.ChoiceField(
        label=_("Your vote"),
        choices=[("for", _("For the claimant: pay the claim")), ("against", _("Against: the rejection stands"))],
        widget=forms.RadioSelect,
        error_messages={"required": _("Choose for or against.")},
    )

    @property
    def for_claimant(self) -> bool:
        return bool(self.cleaned_data["vote"] == "for")
