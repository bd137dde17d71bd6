"""The jury's domain errors, in the shape of members.errors.DomainError (code, message, field)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from members.errors import DomainError


class JurorNotEligible(DomainError):
    code = "juror_not_eligible"
    http_status = 403
    default_message = _("You cannot be a juror now.")


class VoteNotAllowed(DomainError):
    code = "vote_not_allowed"
    http_status = 409


class AlreadyVoted(VoteNotAllowed):
    code = "already_voted"
    default_message = _("You have already voted on this appeal; each juror votes once.")


class VotingClosed(VoteNotAllowed):
    code = "voting_closed"
    default_message = _("The vote on this appeal has closed.")


class SeniorDecisionRequired(DomainError):
    code = "senior_decision_required"
    http_status = 403
    default_message = _("Only a senior administrator may decide an appeal the jury left without quorum.")
