from __future__ import annotations

from django.urls import URLPattern, path

from mutualaid.security import views

app_name = "security"
urlpatterns: list[URLPattern] = [
    path("2fa/", views.two_factor, name="two_factor"),
]
