"""Minimal registrations; the period page with its report and actions comes with the admin work."""

from __future__ import annotations

from django.contrib import admin

from settlement.models import Period


@admin.register(Period)
class PeriodAdmin(admin.ModelAdmin[Period]):
    list_display = ["notice_date", "charge_date", "status", "sharers", "total_fen", "operator_subsidy_fen"]
    list_filter = ["status", "plan"]
    readonly_fields = [f.name for f in Period._meta.fields]

    def has_add_permission(self, request: object) -> bool:
        return False

    def has_delete_permission(self, request: object, obj: Period | None = None) -> bool:
        return False
