from __future__ import annotations

from tests.api.conftest import Caller


def test_it_shows_the_plan_rules(acme: Caller) -> None:
    response = acme.get("/api/v1/plan/")
    assert response.status_code == 200
    plan = response.json()
    assert plan["min_age_days"] == 30
    assert plan["max_entry_age_years"] == 59
    assert plan["waiting_period_days"] == 90
    assert plan["management_fee_rate"] == "0.08"
    assert plan["payout_tiers"][0] == {
        "from_age": 0,
        "to_age": 39,
        "payout": {"amount": "300000.00", "currency": "CNY"},
    }
    assert {"code", "text"} == set(plan["health_questions"][0])
    assert len(plan["conditions"]) == 28
    assert {"code", "name"} == set(plan["conditions"][0])


def test_it_shows_questions_in_english_when_asked(acme: Caller) -> None:
    english = acme.get("/api/v1/plan/", HTTP_ACCEPT_LANGUAGE="en").json()
    chinese = acme.get("/api/v1/plan/", HTTP_ACCEPT_LANGUAGE="zh-hans").json()
    assert english["health_questions"][0]["text"] != chinese["health_questions"][0]["text"]
