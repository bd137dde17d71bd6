"""The period report as CSV: public, streamed, UTF-8 with a byte-order mark for Excel on Chinese Windows, the
period's figures then each claim anonymised with its payout and its cost per member."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from django.http import StreamingHttpResponse
from django.test import Client
from django.urls import reverse

from claims.models import Claim
from members.models import Plan
from settlement.models import Period
from tests.settlement.conftest import add_members, period_with_claims, settle_now

pytestmark = pytest.mark.django_db


def csv_url(period: Period) -> str:
    return reverse("settlement:period-csv", args=[period.pk])


def download(client: Client, period: Period) -> tuple[StreamingHttpResponse, bytes]:
    response = client.get(csv_url(period))
    assert isinstance(response, StreamingHttpResponse)
    return response, b"".join(response.streaming_content)  # type: ignore[arg-type]


def rows_of(body: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))


def test_it_needs_no_login_and_is_a_download(visitor: Client, settled: Period) -> None:
    response, _body = download(visitor, settled)
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="period-2025-06-07.csv"'


def test_it_starts_with_the_utf8_byte_order_mark_for_excel(visitor: Client, settled: Period) -> None:
    _response, body = download(visitor, settled)
    assert body.startswith(b"\xef\xbb\xbf")
    assert body.count(b"\xef\xbb\xbf") == 1


def test_it_gives_the_periods_figures(visitor: Client, settled: Period) -> None:
    rows = rows_of(download(visitor, settled)[1])
    figures = {row[0]: row[1] for row in rows[:12] if len(row) == 2}
    assert figures["Notice date"] == "2025-06-07"
    assert figures["Charge date"] == "2025-06-14"
    assert figures["Claims"] == "2"
    assert figures["Sharers"] == "7"
    assert figures["Payouts (yuan)"] == "12.50"
    assert figures["Management fee (yuan)"] == "1.00"
    assert figures["Total (yuan)"] == "13.50"
    assert figures["Share per member (yuan)"] == "1.92"
    assert figures["Most a member is charged (yuan)"] == "1.93"
    assert figures["Operator subsidy (yuan)"] == "0.00"


def test_it_gives_each_claim_anonymised_with_its_payout_and_cost_per_member(visitor: Client, settled: Period) -> None:
    claim = Claim.objects.filter(notice_id=settled.pk).order_by("pk").first()
    assert claim is not None
    person = claim.member.person
    person.name = "欧阳娜娜"
    person.save(update_fields=["name"])
    body = download(visitor, settled)[1]
    rows = rows_of(body)
    header = rows.index(next(row for row in rows if row and row[0] == "Claim"))
    table = [dict(zip(rows[header], row, strict=True)) for row in rows[header + 1 :]]
    assert [(r["Payout (yuan)"], r["Cost per member (yuan)"], r["Above the per-claim cap"]) for r in table] == [
        ("10.00", "1.5429", "no"),  # 10.00 yuan × 1.08 / 7
        ("2.50", "0.3857", "no"),
    ]
    assert table[0]["Name"] == "欧***"
    assert table[0]["Claim"] == str(claim.pk)
    text = body.decode("utf-8-sig")
    for secret in ("欧阳娜娜", person.id_number_masked, claim.hospital, person.birth_date.isoformat()):
        assert secret not in text, secret


def test_a_capped_claim_is_marked(visitor: Client, plan: Plan) -> None:
    add_members(plan, 3)
    period = settle_now(period_with_claims(plan, payouts=[1_000]))  # 3.60 yuan a member, capped at 0.10
    rows = rows_of(download(visitor, period)[1])
    assert rows[-1][-2:] == ["3.6000", "yes"]


def test_a_period_in_notice_has_no_costs_yet(visitor: Client, big_caps: Plan) -> None:
    period = period_with_claims(big_caps, payouts=[1_000])
    rows = rows_of(download(visitor, period)[1])
    assert not any(row and row[0] == "Sharers" for row in rows)
    assert rows[-1][7:] == ["10.00", "127", "", ""]  # joined 1 January, diagnosed 8 May


def test_a_name_that_looks_like_a_formula_stays_text(visitor: Client, settled: Period) -> None:
    claim = Claim.objects.filter(notice_id=settled.pk).order_by("pk").first()
    assert claim is not None
    claim.member.person.name = "=HYPERLINK(1)"
    claim.member.person.save(update_fields=["name"])
    rows = rows_of(download(visitor, settled)[1])
    assert [row[1] for row in rows if row and row[0] == str(claim.pk)] == ["'=************"]


def test_chinese_text_arrives_as_utf8(settled: Period) -> None:
    claim = Claim.objects.filter(notice_id=settled.pk).order_by("pk").first()
    assert claim is not None
    claim.member.person.name = "张三"
    claim.member.person.save(update_fields=["name"])
    body = download(Client(), settled)[1]  # the default language, Chinese
    assert "张*".encode() in body
    assert claim.condition.name_zh.encode() in body


def test_an_unknown_period_is_404(visitor: Client, db: Any) -> None:
    assert visitor.get(reverse("settlement:period-csv", args=[999_999])).status_code == 404


def test_it_is_linked_from_the_report(visitor: Client, settled: Period) -> None:
    html = visitor.get(reverse("settlement:period", args=[settled.pk])).content.decode()
    assert f'href="{csv_url(settled)}"' in html


def test_it_runs_the_same_few_queries_however_many_claims(
    visitor: Client, big_caps: Plan, django_assert_max_num_queries: Any
) -> None:
    add_members(big_caps, 3)
    few = settle_now(period_with_claims(big_caps, payouts=[1_000] * 2))
    many = settle_now(period_with_claims(big_caps, payouts=[1_000] * 60, notice_date=few.notice_date.replace(day=21)))
    with django_assert_max_num_queries(2) as first:
        download(visitor, few)
    with django_assert_max_num_queries(len(first.captured_queries)):
        _response, body = download(visitor, many)
    assert len(rows_of(body)) > 60
