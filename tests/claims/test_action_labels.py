"""Every step a service records on a claim's timeline has a label in admin, not its raw code."""

from __future__ import annotations

import re
from pathlib import Path

from claims.admin import ACTION_LABELS

ROOT = Path(__file__).resolve().parents[2]
# The apps that record claim steps: `action="…"` keyword arguments, and the set-based share step's SQL.
RECORDERS = ["claims/services.py", "jury/services.py"]


def recorded_actions() -> set[str]:
    actions: set[str] = set()
    for name in RECORDERS:
        text = (ROOT / name).read_text()
        actions |= set(re.findall(r'action="([a-z_]+)"', text))
    return actions


def test_the_services_record_the_known_steps() -> None:
    # Guards the scan itself: a change of style in the services would otherwise find nothing.
    assert {"file", "approve", "reject", "share", "mark_paid", "appeal", "uphold_rejection"} <= recorded_actions()


def test_every_recorded_step_has_an_admin_label() -> None:
    assert recorded_actions() - set(ACTION_LABELS) == set()
