from __future__ import annotations

from django.contrib import admin

from claims.models import CoveredCondition


@admin.register(CoveredCondition)
class CoveredConditionAdmin(admin.ModelAdmin[CoveredCondition]):
    list_display = ["code", "name_zh", "name_en", "plan"]
    list_filter = ["plan"]
    search_fields = ["code", "name_zh", "name_en"]
