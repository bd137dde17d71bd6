from __future__ import annotations

from django.contrib import admin
from django.urls import include, path
from django.utils.translation import gettext_lazy as _
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from claims.apis import ClaimDetailApi, ClaimDocumentsApi, ClaimsApi, PlanApi
from members.apis import MemberDetailApi, MemberExitApi, MembersApi, MembersBulkApi
from mutualaid.health import healthz

admin.site.site_header = _("Mutual aid plan administration")
admin.site.site_title = _("Mutual aid plan administration")
admin.site.index_title = _("Members, claims and sharing")

# The partner API (API.md): paths are a contract, never renamed.
api_v1 = [
    path("plan/", PlanApi.as_view(), name="plan"),
    path("members/", MembersApi.as_view(), name="members"),
    path("members/bulk/", MembersBulkApi.as_view(), name="members-bulk"),
    path("members/<int:member_id>/", MemberDetailApi.as_view(), name="member"),
    path("members/<int:member_id>/exit/", MemberExitApi.as_view(), name="member-exit"),
    path("claims/", ClaimsApi.as_view(), name="claims"),
    path("claims/<int:claim_id>/", ClaimDetailApi.as_view(), name="claim"),
    path("claims/<int:claim_id>/documents/", ClaimDocumentsApi.as_view(), name="claim-documents"),
]

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("api/v1/", include((api_v1, "api"))),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("", include("members.urls")),
    path("", include("claims.urls")),
    path("", include("settlement.urls")),
]
