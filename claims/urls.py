from __future__ import annotations

from django.urls import URLPattern, path

from claims import views

app_name = "claims"
urlpatterns: list[URLPattern] = [
    path("claims/", views.claim_list, name="list"),
    path("claims/new/", views.claim_new, name="new"),
    path("claims/<int:claim_id>/", views.claim_detail, name="detail"),
    path("claims/<int:claim_id>/withdraw/", views.claim_withdraw_confirm, name="withdraw"),
    path("claims/documents/<int:document_id>/", views.document_download, name="document"),
    path("notices/", views.notice_list, name="notices"),
    path("notices/claims/<int:claim_id>/object/", views.objection_new, name="object"),
]
