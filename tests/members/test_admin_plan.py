"""The plan in admin: every rule editable, tiers and questions inline, each edit in the history."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from members.models import HealthQuestion, PayoutTier, Plan, User


@pytest.fixture
def staff(client: Client, admin_user: User) -> Client:
    client.force_login(admin_user)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


def change_url(plan: Plan) -> str:
    return reverse("admin:members_plan_change", args=[plan.pk])


def form_data(staff: Client, plan: Plan) -> dict[str, Any]:
    """What the browser would post back unchanged: the plan's fields and both inline formsets."""
    response = staff.get(change_url(plan))
    data: dict[str, Any] = {}
    for key, value in response.context["adminform"].form.initial.items():
        data[key] = "on" if value is True else ("" if value is False else value)
    for formset in response.context["inline_admin_formsets"]:
        management = formset.formset.management_form
        for name in management.fields:
            data[f"{management.prefix}-{name}"] = management[name].value()
        for form in formset.formset.forms:
            for name in form.fields:
                value = form[name].value()
                data[form.add_prefix(name)] = "" if value is None else value
    return {k: v for k, v in data.items() if v != ""}


def test_it_offers_every_rule_of_the_plan(staff: Client, plan: Plan) -> None:
    form = staff.get(change_url(plan)).context["adminform"].form
    rules = {f.name for f in Plan._meta.concrete_fields if f.editable and not f.primary_key}
    assert rules <= set(form.fields)


def test_it_edits_payout_tiers_and_health_questions_inline(staff: Client, plan: Plan) -> None:
    formsets = staff.get(change_url(plan)).context["inline_admin_formsets"]
    assert {f.formset.model for f in formsets} == {PayoutTier, HealthQuestion}


def test_it_records_who_changed_a_rule(staff: Client, plan: Plan, admin_user: User) -> None:
    data = form_data(staff, plan)
    data["waiting_period_days"] = 180
    response = staff.post(change_url(plan), data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    plan.refresh_from_db()
    assert plan.waiting_period_days == 180
    latest = plan.history.latest()
    assert latest.history_user == admin_user
    assert latest.waiting_period_days == 180
    history = staff.get(reverse("admin:members_plan_history", args=[plan.pk])).content.decode()
    assert "180" in history


def test_it_names_changed_payout_tiers_in_the_plan_history(staff: Client, plan: Plan) -> None:
    data = form_data(staff, plan)
    tier = plan.payout_tiers.get(from_age=40)
    prefix = next(k for k, v in data.items() if k.endswith("-id") and str(v) == str(tier.pk)).removesuffix("-id")
    data[f"{prefix}-amount_fen"] = 150_000_00
    response = staff.post(change_url(plan), data)
    assert response.status_code == 302
    tier.refresh_from_db()
    assert tier.amount_fen == 150_000_00
    assert "payout tiers: 0 added, 1 changed, 0 deleted" in plan.history.latest().history_change_reason


def test_it_refuses_an_entry_age_above_the_age_out_as_a_form_error(staff: Client, plan: Plan) -> None:
    data = form_data(staff, plan)
    data["max_entry_age_years"] = 70
    response = staff.post(change_url(plan), data)
    assert response.status_code == 200
    plan.refresh_from_db()
    assert plan.max_entry_age_years == 59


def test_it_does_not_delete_a_plan(staff: Client, plan: Plan) -> None:
    assert staff.get(reverse("admin:members_plan_delete", args=[plan.pk])).status_code == 403
    assert Plan.objects.filter(pk=plan.pk).exists()
