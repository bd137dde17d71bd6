"""Reads of claims: what a member may see, the public notice, a document's download."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import Http404
from django.utils import timezone, translation

from claims.models import Claim, ClaimDocument, ClaimStatus, ClaimTransition, CoveredCondition, Notice
from claims.provinces import province_of
from members.models import Partner, Plan, Sex, User


def claims_for_account(*, account: User) -> QuerySet[Claim]:
    """Claims of every member of the account's household."""
    if not account.is_authenticated:
        return Claim.objects.none()
    return (
        Claim.objects.filter(Q(member__account=account) | Q(member__payer__account=account))
        .select_related("member__person", "condition", "notice")
        .order_by("-filed_at", "-id")
    )


def claim_for_account(*, account: User, claim_id: int) -> Claim:
    """Access check written once: a member reaches only their household's claims; anything else is 404."""
    try:
        return claims_for_account(account=account).prefetch_related("documents", "transitions").get(pk=claim_id)
    except Claim.DoesNotExist as exc:
        raise Http404 from exc


def document_for_user(*, user: User, document_id: int) -> ClaimDocument:
    """Staff see every document; a member only their household's; anyone else gets 404."""
    if not user.is_authenticated:
        raise Http404
    documents = ClaimDocument.objects.select_related("claim")
    if not user.is_staff:
        documents = documents.filter(Q(claim__member__account=user) | Q(claim__member__payer__account=user))
    try:
        return documents.get(pk=document_id)
    except ClaimDocument.DoesNotExist as exc:
        raise Http404 from exc


def mask_name(name: str) -> str:
    """张三 → 张*, 欧阳娜娜 → 欧***: the family name stays, the rest is hidden, as the plan published it."""
    name = name.strip()
    return name[:1] + "*" * max(len(name) - 1, 1) if name else "*"


@dataclass(frozen=True)
class PublicCase:
    claim_id: int
    masked_name: str
    age: int | None
    sex: str
    province: str
    condition_code: str
    condition: str
    payout_fen: int | None
    days_since_joining: int
    notice_date: date | None
    status: str


def public_cases(*, language: str | None, notice: Notice | None = None) -> list[PublicCase]:
    """Published claims, anonymised: masked name, age, sex, province, condition, payout, days since joining."""
    claims = (
        Claim.objects.filter(status__in=[ClaimStatus.IN_NOTICE, ClaimStatus.SHARED, ClaimStatus.PAID])
        .select_related("member__person", "condition", "notice")
        .order_by("-notice__notice_date", "id")
    )
    if notice is not None:
        claims = claims.filter(notice=notice)
    return [public_case_of(claim=c, language=language) for c in claims[:500]]


def public_case_of(*, claim: Claim, language: str | None) -> PublicCase:
    return PublicCase(
        claim_id=claim.pk,
        masked_name=mask_name(claim.member.person.name),
        age=claim.age_at_diagnosis,
        sex=_in_language(Sex(claim.member.person.sex).label, language),
        province=province_of(claim.member.person.id_number_masked, language),
        condition_code=claim.condition.code,
        condition=claim.condition.name(language),
        payout_fen=claim.payout_fen,
        days_since_joining=(claim.diagnosed_on - claim.member.joined_on).days,
        notice_date=claim.notice.notice_date if claim.notice else None,
        status=claim.status,
    )


def _in_language(text: object, language: str | None) -> str:
    """A translated label in the page's language, like the province and condition beside it."""
    if not language:
        return str(text)
    with translation.override(language):
        return str(text)


def claim_published(*, claim_id: int) -> Claim:
    """A claim that is or was in a public notice (the objection page names it, anonymised); else 404."""
    was_published = Exists(ClaimTransition.objects.filter(claim=OuterRef("pk"), action="publish"))
    try:
        return (
            Claim.objects.filter(was_published).select_related("member__person", "condition", "notice").get(pk=claim_id)
        )
    except Claim.DoesNotExist as exc:
        raise Http404 from exc


def claim_days_since_filing(*, claim: Claim) -> int:
    return (timezone.localdate() - timezone.localdate(claim.filed_at)).days


def claims_for_partner(*, partner: Partner, member: int | None = None, status: str | None = None) -> QuerySet[Claim]:
    """Access check written once for the API: the claims of the members the partner enrolled."""
    claims = Claim.objects.filter(member__partner=partner)
    if member is not None:
        claims = claims.filter(member_id=member)
    if status:
        claims = claims.filter(status=status)
    return claims.select_related("condition").prefetch_related("transitions", "documents").order_by("-filed_at", "-id")


def claim_for_partner(*, partner: Partner, claim_id: int) -> Claim:
    """Another partner's claim, or no claim at all: the same 404."""
    try:
        return claims_for_partner(partner=partner).get(pk=claim_id)
    except Claim.DoesNotExist as exc:
        raise Http404 from exc


def condition_by_code(*, plan: Plan, code: str) -> CoveredCondition | None:
    return CoveredCondition.objects.filter(plan=plan, code=code).first()
