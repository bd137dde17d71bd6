"""The jury's parts of other apps' pages: the appeal panel of a claim page, the appeal line of the
public period report. The claims and settlement apps never import the jury; their templates load these.
"""

from __future__ import annotations

from typing import Any

from django import template
from django.utils import timezone
from django.utils.translation import gettext as _

from claims.models import Claim
from claims.services import claim_appeal_refusal
from jury.forms import AppealForm
from jury.models import Appeal, AppealOutcome
from jury.selectors import appeal_results_for_claims, appeal_window_last_day, jury_rules_for

register = template.Library()


@register.inclusion_tag("jury/_appeal_panel.html", takes_context=True)
def appeal_panel(context: template.Context, claim: Claim) -> dict[str, Any]:
    """The claim's appeal: the form while the claimant may appeal, else its state and, once closed, the votes."""
    appeal = Appeal.objects.filter(claim=claim).first()
    rules = jury_rules_for(plan=claim.member.plan)
    last_day = appeal_window_last_day(claim=claim, rules=rules)
    # The service's own rules, so the form is offered exactly when the appeal would be accepted.
    # (Only a rejected claim can be: other claim pages ask nothing more.)
    can_appeal = (
        appeal is None
        and last_day is not None
        and claim_appeal_refusal(claim=claim, window_days=rules.appeal_window_days, on=timezone.localdate()) is None
    )
    return {
        "claim": claim,
        "appeal": appeal,
        "can_appeal": can_appeal,
        "last_day": last_day,
        "form": AppealForm(),
        "csrf_token": context.get("csrf_token"),
    }


@register.simple_tag
def appeal_results(costs: list[Any]) -> dict[int, Appeal]:
    """The decided appeals of a page of the period report's claims, in one query."""
    return appeal_results_for_claims(claim_ids=[cost.case.claim_id for cost in costs])


@register.simple_tag
def appeal_result_text(results: dict[int, Appeal], claim_id: int) -> str:
    """“Approved on appeal by the jury: 812 for, 340 against.”, or nothing for a claim never appealed."""
    appeal = results.get(claim_id)
    if appeal is None or appeal.outcome != AppealOutcome.APPROVED:
        return ""
    counts = {"for": appeal.votes_for, "against": appeal.votes_against}
    if appeal.decided_by_id is not None:
        return (
            _(
                "Approved on appeal by a senior administrator, the jury short of its quorum "
                "(%(for)s for, %(against)s against)."
            )
            % counts
        )
    return _("Approved on appeal by the jury: %(for)s for, %(against)s against.") % counts
