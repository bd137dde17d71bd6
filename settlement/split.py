"""The money rules of a period as pure functions of integers (fen): what the chunk SQL computes, row by row.

The settlement never runs these over members (the SQL in settlement/sql.py does that, set-based); the
period's figures use them once, and the tests hold the SQL to them.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal


def fee_for(payouts_fen: int, rate: Decimal) -> int:
    """The management fee: `rate` of the payouts, rounded half up to the fen (0.5 fen → 1 fen)."""
    return int((Decimal(payouts_fen) * rate).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def per_member_cap(*, payouts_fen: list[int], rate: Decimal, sharers: int, per_claim_cap_fen: int) -> int:
    """The most one member pays in the period: for each claim, its cost per member, at most the per-claim cap.

    A claim's cost per member is its payout plus its part of the fee, divided by the sharers and
    rounded up, so the cap never bites while every claim costs less than the cap. The sum is over
    claims (a few thousand at most), never over members.
    """
    if sharers <= 0:
        return 0
    scaled = int(rate * 10_000)
    if Decimal(scaled) != rate * 10_000:
        raise ValueError("the fee rate has at most four decimal places")
    denominator = 10_000 * sharers
    return sum(min(per_claim_cap_fen, -(-payout * (10_000 + scaled) // denominator)) for payout in payouts_fen)


def is_extra(*, position: int, sharers: int, total_fen: int, rotation: int) -> bool:
    """Whether the sharer at `position` (0-based, in member-id order) pays the extra fen.

    The T mod N extra fen go to the positions rotation, rotation + 1, … (mod N). The next period's
    rotation starts where this one stopped, so the extra fen move round the membership period by
    period instead of falling on the lowest ids every time.
    """
    return (position + (-rotation) % sharers) % sharers < total_fen % sharers


def share_at(*, position: int, sharers: int, total_fen: int, rotation: int) -> int:
    """⌊T/N⌋, plus one fen for the sharers the rotation picks."""
    extra = is_extra(position=position, sharers=sharers, total_fen=total_fen, rotation=rotation)
    return total_fen // sharers + (1 if extra else 0)


def charge_for(*, share_fen: int, period_cap_fen: int, annual_cap_fen: int | None, charged_this_year_fen: int) -> int:
    """What a member is charged: the share, at most the period's per-claim cap and what is left of the annual cap."""
    room = period_cap_fen
    if annual_cap_fen is not None:
        room = min(room, max(0, annual_cap_fen - charged_this_year_fen))
    return min(share_fen, room)


@dataclass(frozen=True)
class Figures:
    claims: int
    sharers: int
    payouts_fen: int
    fee_fen: int
    total_fen: int
    per_member_fen: int
    per_member_cap_fen: int
    max_charge_fen: int


def period_figures(*, payouts_fen: list[int], rate: Decimal, sharers: int, per_claim_cap_fen: int) -> Figures:
    payouts = sum(payouts_fen)
    fee = fee_for(payouts, rate)
    total = payouts + fee
    per_member = total // sharers if sharers else 0
    cap = per_member_cap(payouts_fen=payouts_fen, rate=rate, sharers=sharers, per_claim_cap_fen=per_claim_cap_fen)
    biggest_share = per_member + (1 if sharers and total % sharers else 0)
    return Figures(
        claims=len(payouts_fen),
        sharers=sharers,
        payouts_fen=payouts,
        fee_fen=fee,
        total_fen=total,
        per_member_fen=per_member,
        per_member_cap_fen=cap,
        max_charge_fen=min(biggest_share, cap),
    )
