"""Domain signals of settlement, sent by the services inside their transaction (receivers use on_commit).

`period_opened`: the notice day published a period's claims, so its charge is known before the charge
day (members are told what to expect). `period_settled`: the charges are written and add up to the fen.
"""

from __future__ import annotations

from django.dispatch import Signal

from settlement.models import Period

# kwargs: period_id (int)
period_opened = Signal()
# kwargs: period_id (int)
period_settled = Signal()


def period_opened_send(*, period_id: int) -> None:
    period_opened.send(sender=Period, period_id=period_id)


def period_settled_send(*, period_id: int) -> None:
    period_settled.send(sender=Period, period_id=period_id)
