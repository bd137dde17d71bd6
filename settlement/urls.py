from __future__ import annotations

from django.urls import URLPattern, path

from settlement import views

app_name = "settlement"
urlpatterns: list[URLPattern] = [
    path("periods/", views.period_list, name="periods"),
    path("periods/<int:period_id>/", views.period_report, name="period"),
]
