from __future__ import annotations

from django.contrib.auth.views import LogoutView
from django.urls import URLPattern, path

from members import views

app_name = "members"
urlpatterns: list[URLPattern] = [
    path("signup/", views.signup, name="signup"),
    path("login/", views.PhoneLoginView.as_view(), name="login"),
    path("logout/", LogoutView.as_view(), name="logout"),
    path("join/", views.join, name="join"),
    path("members/<int:membership_id>/exit/", views.exit_membership, name="exit"),
    path("account/notifications/", views.notifications, name="notifications"),
]
