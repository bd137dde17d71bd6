"""Domain errors: each has a stable code (the API's `error.code`) and a message a person can act on."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _


class DomainError(Exception):
    code = "invalid"
    http_status = 400
    default_message = _("The request could not be carried out.")

    def __init__(self, message: object = None, *, field: str | None = None) -> None:
        self.message = message if message is not None else self.default_message
        self.field = field
        super().__init__(str(self.message))


class InvalidIdNumber(DomainError):
    code = "invalid"
    default_message = _("This is not a valid 18-character resident ID number.")

    def __init__(self, message: object = None) -> None:
        super().__init__(message, field="id_number")


class NotEligible(DomainError):
    http_status = 422


class PlanClosed(NotEligible):
    code = "plan_closed"
    default_message = _("This plan is not open for joining.")


class AgeOutOfRange(NotEligible):
    code = "age_out_of_range"


class CreditCheckFailed(NotEligible):
    code = "credit_check_failed"
    default_message = _("The credit check did not pass, so this person cannot join the plan.")


class HealthDeclarationFailed(NotEligible):
    code = "health_declaration_failed"
    default_message = _("A “yes” to a health question means this person cannot join the plan.")


class AlreadyEnrolled(NotEligible):
    code = "already_enrolled"
    default_message = _("This person is already a member of the plan.")


class RejoiningNotAllowed(NotEligible):
    code = "rejoining_not_allowed"
    default_message = _("This person cannot rejoin the plan.")


class HasDependants(DomainError):
    code = "has_dependants"
    http_status = 409
    default_message = _("You pay for family members who are still in the plan: exit them first, then exit yourself.")


class ExternalRefTaken(DomainError):
    code = "conflict"
    http_status = 409
    default_message = _("This external reference already names another member of yours; use a reference of its own.")

    def __init__(self, message: object = None) -> None:
        super().__init__(message, field="external_ref")


class InvalidTransition(DomainError):
    code = "invalid_transition"
    http_status = 409


class CreditImportInvalid(DomainError):
    code = "invalid"

    def __init__(self, errors: list[str]) -> None:
        self.errors = errors
        super().__init__(_("The file has errors; nothing was imported."))
