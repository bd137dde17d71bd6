from __future__ import annotations

from django.urls import URLPattern, path

from portal import views

app_name = "portal"
urlpatterns: list[URLPattern] = [
    path("charges/", views.charges, name="charges"),
]

# The household page keeps its names in the members namespace (members:household, members:home): login
# lands on it, joining and exit return to it, bookmarks point at it. Only its view lives here, because
# it shows charges, which the members app may not read. mutualaid/urls.py puts these in that namespace.
household_urlpatterns: list[URLPattern] = [
    path("", views.household, name="home"),
    path("household/", views.household, name="household"),
]
