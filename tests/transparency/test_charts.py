"""The chart builder's axes: counts are counted in whole steps, money in round ones."""

from __future__ import annotations

from datetime import date

from settlement.charts import claims_chart, per_member_chart
from settlement.selectors import PeriodPoint


def period(claims: int, max_charge_fen: int = 10) -> PeriodPoint:
    return PeriodPoint(
        period_id=1,
        notice_date=date(2026, 11, 21),
        claims=claims,
        sharers=9,
        payouts_fen=0,
        total_fen=0,
        per_member_fen=0,
        max_charge_fen=max_charge_fen,
    )


def tick_labels(chart: object) -> list[str]:
    return [text.text for text in chart.texts if text.css == "tick" and text.anchor == "end"]  # type: ignore[attr-defined]


def test_a_count_axis_never_has_a_half_step() -> None:
    assert tick_labels(claims_chart([period(2)], language="en")) == ["0", "1", "2"]


def test_a_money_axis_keeps_its_round_fractions() -> None:
    # 0.20 yuan: steps of 0.05 yuan, as before.
    assert tick_labels(per_member_chart([period(2, max_charge_fen=20)])) == ["0.00", "0.05", "0.10", "0.15", "0.20"]
