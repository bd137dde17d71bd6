from __future__ import annotations

from django.contrib import admin
from django.urls import include, path
from django.utils.translation import gettext_lazy as _

from mutualaid.health import healthz

admin.site.site_header = _("Mutual aid plan administration")
admin.site.site_title = _("Mutual aid plan administration")
admin.site.index_title = _("Members, claims and sharing")

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("", include("members.urls")),
    path("", include("claims.urls")),
]
