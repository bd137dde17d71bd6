"""Claims' domain errors, in the shape of members.errors.DomainError (code, message, field)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from members.errors import DomainError, InvalidTransition


class ClaimNotAllowed(DomainError):
    code = "claim_not_allowed"
    http_status = 422


class ApprovalRefused(DomainError):
    """Approval broke a rule of the plan; `reason` is the rejection code that applies."""

    code = "approval_refused"
    http_status = 409

    def __init__(self, reason: str, message: object) -> None:
        self.reason = reason
        super().__init__(message)


class ConcurrentDecision(InvalidTransition):
    code = "concurrent_decision"
    default_message = _("Another administrator acted on this claim first; reload the page to see its status now.")


class FourEyesRequired(DomainError):
    code = "four_eyes_required"
    http_status = 409
    default_message = _("A second, different administrator must confirm this approval.")


class UnsupportedDocument(DomainError):
    code = "unsupported_media_type"
    http_status = 415
    default_message = _("Only PDF, JPEG and PNG files can be attached; this file is none of them.")

    def __init__(self, message: object = None) -> None:
        super().__init__(message, field="file")


class DocumentTooLarge(DomainError):
    code = "file_too_large"
    http_status = 413
    default_message = _("A document can be at most 10 MB; make it smaller (for example a lower-resolution photo).")

    def __init__(self, message: object = None) -> None:
        super().__init__(message, field="file")


class ObjectionNotAllowed(DomainError):
    code = "objection_not_allowed"
    http_status = 409


class AppealNotAllowed(DomainError):
    code = "appeal_not_allowed"
    http_status = 409
