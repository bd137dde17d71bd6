"""`manage.py partner_create NAME`: a partner and its API key, printed as the last line, once."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from members.errors import DomainError
from members.services import partner_create


class Command(BaseCommand):
    help = "Create an API partner and print its key (the last line; it is shown only this once)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", help="The partner's name, unique.")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            partner, key = partner_create(name=options["name"])
        except DomainError as exc:
            raise CommandError(str(exc.message)) from exc
        self.stdout.write(f"Partner {partner.name!r} created (id {partner.pk}). Its API key, shown only this once:")
        self.stdout.write("Send it as the header `Authorization: Api-Key <key>`; revoke it in Django admin.")
        self.stdout.write(key)
