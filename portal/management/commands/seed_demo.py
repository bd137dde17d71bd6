from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from portal.demo import ADMIN_PASSWORD, ADMIN_USERNAME, MEMBER_PASSWORD, MEMBER_PHONE, REVIEWER_USERNAME, seed_demo


class Command(BaseCommand):
    help = "Seed the default plan and demo households; safe to run twice. Prints how to log in."

    def handle(self, *args: Any, **options: Any) -> None:
        result = seed_demo()
        self.stdout.write(f"Plan “{result.plan.name}” ready; {result.created} demo members created.")
        self.stdout.write("")
        self.stdout.write("Open http://127.0.0.1:8000/")
        self.stdout.write(f"  admin login  (http://127.0.0.1:8000/admin/): {ADMIN_USERNAME} / {ADMIN_PASSWORD}")
        self.stdout.write(f"  second admin (four eyes):                     {REVIEWER_USERNAME} / {ADMIN_PASSWORD}")
        self.stdout.write(f"  member login (http://127.0.0.1:8000/login/): {MEMBER_PHONE} / {MEMBER_PASSWORD}")
