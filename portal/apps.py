from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PortalConfig(AppConfig):
    name = "portal"
    verbose_name = _("Portal")

    def ready(self) -> None:
        # Connects the e-mail notifications to the domain signals of members, claims and settlement.
        from portal import notifications  # noqa: F401
