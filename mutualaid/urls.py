from __future__ import annotations

from django.contrib import admin
from django.urls import include, path, re_path
from django.utils.translation import gettext_lazy as _
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from claims.apis import ClaimDetailApi, ClaimDocumentsApi, ClaimsApi, PlanApi
from members.apis import MemberDetailApi, MemberExitApi, MembersApi, MembersBulkApi
from members.urls import urlpatterns as members_urlpatterns
from mutualaid.api.errors import api_not_found
from mutualaid.health import healthz
from portal.urls import household_urlpatterns
from settlement.apis import MemberChargesApi, PaymentDetailApi, PaymentsApi, PeriodDetailApi, PeriodsApi
from settlement.selectors import memberships_with_balance
from settlement.views import admin_dashboard
from webhooks.apis import WebhookDeliveriesApi, WebhookDetailApi, WebhooksApi, WebhookTestApi

admin.site.site_header = _("Mutual aid plan administration")
admin.site.site_title = _("Mutual aid plan administration")
admin.site.index_title = _("Members, claims and sharing")

# The partner API (API.md): paths are a contract, never renamed.
api_v1 = [
    path("plan/", PlanApi.as_view(), name="plan"),
    # A member object's balance is settlement's; members cannot import settlement, so it is handed in here.
    path("members/", MembersApi.as_view(annotate=memberships_with_balance), name="members"),
    path("members/bulk/", MembersBulkApi.as_view(annotate=memberships_with_balance), name="members-bulk"),
    path("members/<int:member_id>/", MemberDetailApi.as_view(annotate=memberships_with_balance), name="member"),
    path("members/<int:member_id>/exit/", MemberExitApi.as_view(annotate=memberships_with_balance), name="member-exit"),
    path("members/<int:member_id>/charges/", MemberChargesApi.as_view(), name="member-charges"),
    path("claims/", ClaimsApi.as_view(), name="claims"),
    path("claims/<int:claim_id>/", ClaimDetailApi.as_view(), name="claim"),
    path("claims/<int:claim_id>/documents/", ClaimDocumentsApi.as_view(), name="claim-documents"),
    path("periods/", PeriodsApi.as_view(), name="periods"),
    path("periods/<int:period_id>/", PeriodDetailApi.as_view(), name="period"),
    path("payments/", PaymentsApi.as_view(), name="payments"),
    path("payments/<int:payment_id>/", PaymentDetailApi.as_view(), name="payment"),
    path("webhooks/", WebhooksApi.as_view(), name="webhooks"),
    path("webhooks/<int:endpoint_id>/", WebhookDetailApi.as_view(), name="webhook"),
    path("webhooks/<int:endpoint_id>/deliveries/", WebhookDeliveriesApi.as_view(), name="webhook-deliveries"),
    path("webhooks/<int:endpoint_id>/test/", WebhookTestApi.as_view(), name="webhook-test"),
]

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("api/v1/", include((api_v1, "api"))),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view serves its script from this site, so the Content-Security-Policy needs no inline script.
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    # Anything else under /api/ answers in the API's error shape, not with the site's HTML 404 page.
    re_path(r"^api/(?P<path>.*)$", api_not_found),
    path("i18n/", include("django.conf.urls.i18n")),
    # Before admin's own URLs, whose catch-all would answer for it; staff only (settlement/views.py).
    path("admin/dashboard/", admin_dashboard, name="admin-dashboard"),
    path("admin/", admin.site.urls),
    path("account/", include("mutualaid.security.urls")),
    # The household page is the portal's (it reads charges) but keeps its members:household name.
    path("", include(([*household_urlpatterns, *members_urlpatterns], "members"))),
    path("", include("claims.urls")),
    path("", include("jury.urls")),
    path("", include("settlement.urls")),
    path("", include("portal.urls")),
]
