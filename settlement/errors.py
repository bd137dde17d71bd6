"""Settlement's domain errors, in the shape of members.errors.DomainError (code, message, field)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from members.errors import DomainError


class SettlementError(DomainError):
    code = "settlement_error"
    http_status = 409


class EarlierPeriodOpen(SettlementError):
    code = "earlier_period_open"
    default_message = _("An earlier period of the plan is not settled yet; settle it first.")


class SettlementMismatch(SettlementError):
    """The charges written do not add up to the period's figures: nothing is marked settled."""

    code = "settlement_mismatch"
    http_status = 500


class UnbalancedEntry(SettlementError):
    """A journal entry whose debits and credits differ is never posted."""

    code = "unbalanced_entry"
    http_status = 500
