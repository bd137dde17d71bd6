from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from members.models import Plan


class CoveredCondition(models.Model):
    """A critical illness the plan covers (plan data: seeded from the 2020 definitions, admins add)."""

    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="conditions")
    code = models.CharField(_("code"), max_length=16)
    name_zh = models.CharField(_("name (Chinese)"), max_length=100)
    name_en = models.CharField(_("name (English)"), max_length=200)

    class Meta:
        ordering = ["code"]
        verbose_name = _("covered condition")
        verbose_name_plural = _("covered conditions")
        constraints = [models.UniqueConstraint(fields=["plan", "code"], name="condition_unique_code")]

    def __str__(self) -> str:
        return f"{self.code} {self.name_zh}"

    def name(self, language: str | None) -> str:
        return self.name_en if (language or "").startswith("en") else self.name_zh
