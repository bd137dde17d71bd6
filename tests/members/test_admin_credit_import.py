"""Importing a bureau file in admin: a preview with masked numbers, every error by line, all or nothing."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pytest
from django.contrib.auth.models import Permission
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import HttpResponse
from django.test import Client
from django.urls import reverse

from members.identity import hash_id_number, mask_id_number
from members.models import CreditImport, CreditRecord, User

IMPORT = reverse("admin:members_creditrecord_import")
CHANGELIST = reverse("admin:members_creditrecord_changelist")
HEADER = "id_number,score,dishonest_debtor\n"
MakeId = Callable[..., str]


@pytest.fixture
def staff(client: Client, admin_user: User) -> Client:
    client.force_login(admin_user)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


@pytest.fixture
def ids(make_id: MakeId) -> list[str]:
    return [make_id(date(1985 + i, 3, 9), serial=i + 1) for i in range(3)]


def upload(client: Client, text: str | bytes, name: str = "bureau.csv") -> HttpResponse:
    content = text.encode() if isinstance(text, str) else text
    response: HttpResponse = client.post(IMPORT, {"file": SimpleUploadedFile(name, content, "text/csv")})
    return response


def confirm(client: Client, credit_import: CreditImport) -> HttpResponse:
    url = reverse("admin:members_creditrecord_import_confirm", args=[credit_import.pk])
    response: HttpResponse = client.post(url)
    return response


def test_it_shows_the_upload_form(staff: Client) -> None:
    response = staff.get(IMPORT)
    assert response.status_code == 200
    assert 'type="file"' in response.content.decode()


def test_it_links_to_the_import_from_the_credit_records_list(staff: Client) -> None:
    assert IMPORT in staff.get(CHANGELIST).content.decode()


def test_it_sends_the_usual_add_page_to_the_import(staff: Client) -> None:
    response = staff.get(reverse("admin:members_creditrecord_add"))
    assert response.status_code == 302
    assert response["Location"] == IMPORT


def test_it_previews_a_good_file_with_masked_numbers_and_imports_nothing_yet(staff: Client, ids: list[str]) -> None:
    response = upload(staff, HEADER + f"{ids[0]},720,no\n{ids[1]},610,yes\n{ids[2].lower()},655,0\n")
    assert response.status_code == 200
    html = response.content.decode()
    for number in ids:
        assert mask_id_number(number) in html
        assert number not in html
        assert number.lower() not in html
    assert "Confirm import" in html
    assert CreditRecord.objects.count() == 0
    assert CreditImport.objects.get().status == CreditImport.Status.PREVIEWED


def test_it_applies_a_previewed_file_on_confirmation(staff: Client, ids: list[str]) -> None:
    upload(staff, HEADER + f"{ids[0]},720,no\n{ids[1]},610,yes\n")
    response = confirm(staff, CreditImport.objects.get())
    assert response.status_code == 302
    assert response["Location"] == CHANGELIST
    [message] = list(get_messages(response.wsgi_request))
    assert message.level_tag == "success"
    first = CreditRecord.objects.get(id_number_hash=hash_id_number(ids[0]))
    assert (first.score, first.dishonest_debtor, first.id_number_masked) == (720, False, mask_id_number(ids[0]))
    assert CreditRecord.objects.get(id_number_hash=hash_id_number(ids[1])).dishonest_debtor is True
    html = staff.get(CHANGELIST).content.decode()
    assert mask_id_number(ids[0]) in html
    assert ids[0] not in html


def test_it_lists_every_bad_line_and_imports_nothing(staff: Client, ids: list[str]) -> None:
    bad_check_digit = ids[1][:17] + ("0" if ids[1][17] != "0" else "1")
    text = HEADER + f"{ids[0]},720,no\n{bad_check_digit},700,no\n{ids[2]},680,no\n{ids[0]},abc,no\n"
    response = upload(staff, text)
    assert response.status_code == 200
    errors = response.context["file_errors"]
    assert len(errors) == 2
    assert errors[0].startswith("Line 3:") and "check digit" in errors[0]
    assert errors[1].startswith("Line 5:") and "abc" in errors[1] and "line 2" in errors[1]
    html = response.content.decode()
    assert "Line 3:" in html and "Line 5:" in html
    assert bad_check_digit not in html
    assert CreditImport.objects.count() == 0
    assert CreditRecord.objects.count() == 0


def test_it_refuses_a_file_with_the_wrong_header(staff: Client, ids: list[str]) -> None:
    response = upload(staff, f"id,score,flag\n{ids[0]},720,no\n")
    [error] = response.context["file_errors"]
    assert "id_number,score,dishonest_debtor" in error
    assert CreditImport.objects.count() == 0


def test_it_refuses_a_file_that_is_not_utf8(staff: Client, ids: list[str]) -> None:
    response = upload(staff, (HEADER + f"{ids[0]},720,是\n").encode("gbk"))
    [error] = response.context["file_errors"]
    assert "UTF-8" in error
    assert CreditImport.objects.count() == 0


def test_it_refuses_a_file_over_the_size_limit(staff: Client) -> None:
    response = upload(staff, HEADER + "x" * (5 * 1024 * 1024))
    assert response.status_code == 200
    assert "file" in response.context["form"].errors
    assert "5.0" in response.context["form"].errors["file"][0]
    assert CreditImport.objects.count() == 0


def test_it_refuses_an_empty_upload_as_a_form_error(staff: Client) -> None:
    response = staff.post(IMPORT, {})
    assert response.status_code == 200
    assert "file" in response.context["form"].errors


def test_it_imports_a_file_once_when_confirmed_twice(staff: Client, ids: list[str]) -> None:
    upload(staff, HEADER + f"{ids[0]},720,no\n")
    credit_import = CreditImport.objects.get()
    confirm(staff, credit_import)
    CreditRecord.objects.update(score=100)  # anything the second confirmation would overwrite
    response = confirm(staff, credit_import)
    assert response.status_code == 302
    *_, message = list(get_messages(response.wsgi_request))
    assert message.level_tag == "error"
    assert CreditRecord.objects.get().score == 100


def test_it_updates_an_existing_record_on_reimport(staff: Client, ids: list[str]) -> None:
    upload(staff, HEADER + f"{ids[0]},600,no\n")
    confirm(staff, CreditImport.objects.get())
    upload(staff, HEADER + f"{ids[0]},720,no\n")
    confirm(staff, CreditImport.objects.latest("id"))
    record = CreditRecord.objects.get()
    assert record.score == 720


def test_it_does_not_accept_a_confirmation_by_get(staff: Client, ids: list[str]) -> None:
    upload(staff, HEADER + f"{ids[0]},720,no\n")
    url = reverse("admin:members_creditrecord_import_confirm", args=[CreditImport.objects.get().pk])
    assert staff.get(url).status_code == 405
    assert CreditRecord.objects.count() == 0


def test_it_needs_the_add_permission_to_import(client: Client, db: None, ids: list[str]) -> None:
    clerk = User.objects.create_user(username="clerk", password="clerk-pass-123", is_staff=True)
    clerk.user_permissions.add(Permission.objects.get(codename="view_creditrecord"))
    client.force_login(clerk)
    assert client.get(CHANGELIST).status_code == 200
    assert IMPORT not in client.get(CHANGELIST).content.decode()
    assert client.get(IMPORT).status_code == 403
    assert upload(client, HEADER + f"{ids[0]},720,no\n").status_code == 403
    assert CreditImport.objects.count() == 0


def test_it_needs_the_add_permission_to_confirm(client: Client, staff: Client, ids: list[str]) -> None:
    upload(staff, HEADER + f"{ids[0]},720,no\n")
    clerk = User.objects.create_user(username="clerk", password="clerk-pass-123", is_staff=True)
    other = Client()
    other.force_login(clerk)
    assert confirm(other, CreditImport.objects.get()).status_code == 403
    assert CreditRecord.objects.count() == 0


def test_it_searches_credit_records_by_the_last_digits(staff: Client, ids: list[str]) -> None:
    upload(staff, HEADER + f"{ids[0]},720,no\n{ids[1]},610,no\n")
    confirm(staff, CreditImport.objects.get())
    tail = ids[1][-4:].lower()
    found = staff.get(CHANGELIST, {"q": tail}).context["cl"].result_list
    assert {r.id_number_masked for r in found} == {mask_id_number(n) for n in ids if n.endswith(tail.upper())}
