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


class NotAPayer(SettlementError):
    code = "not_a_payer"
    http_status = 400
    default_message = _("Payments are made by the payer of a household, not by a family member.")


class PaymentReferenceConflict(SettlementError):
    """The reference was already recorded for another payer or amount: a typo or a second transfer."""

    code = "payment_reference_conflict"
    default_message = _("This payment reference is already recorded, for another member or amount.")


class ClaimNotPayable(SettlementError):
    code = "claim_not_payable"
    default_message = _("Only a claim shared on its charge day can be paid out.")
