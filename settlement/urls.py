from __future__ import annotations

from django.urls import URLPattern, path

from settlement import views

app_name = "settlement"
urlpatterns: list[URLPattern] = [
    path("periods/", views.period_list, name="periods"),
    path("periods/<int:period_id>/", views.period_report, name="period"),
    path("periods/<int:period_id>/report.csv", views.period_report_csv, name="period-csv"),
    path("rules/", views.rules, name="rules"),
    path("transparency/", views.transparency, name="transparency"),
]
