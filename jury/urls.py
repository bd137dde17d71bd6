from __future__ import annotations

from django.urls import URLPattern, path

from jury import views

app_name = "jury"
urlpatterns: list[URLPattern] = [
    path("jury/", views.juror_home, name="home"),
    path("jury/cases/", views.case_list, name="cases"),
    path("jury/cases/<int:appeal_id>/", views.case_detail, name="case"),
    path("claims/<int:claim_id>/appeal/", views.appeal_new, name="appeal"),
]
