"""`manage.py rotate_id_keys`: re-encrypt every stored ID number with the first of ID_ENCRYPTION_KEYS."""

from __future__ import annotations

from typing import Any

from cryptography.fernet import InvalidToken
from django.core.management.base import BaseCommand, CommandError, CommandParser

from members.services import id_keys_rotate


class Command(BaseCommand):
    help = (
        "Re-encrypt every person's ID number (and every bureau file awaiting import) with the first key of "
        "ID_ENCRYPTION_KEYS, in id-ordered chunks. Safe to run again: rows already on the newest key are skipped. "
        "Once it reports 0 left, the old keys can be removed from ID_ENCRYPTION_KEYS."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--chunk-size", type=int, default=1000, help="Rows per transaction (default 1000).")

    def handle(self, *args: Any, **options: Any) -> None:
        chunk_size: int = options["chunk_size"]
        if chunk_size < 1:
            raise CommandError("--chunk-size must be at least 1")
        try:
            report = id_keys_rotate(chunk_size=chunk_size)
        except InvalidToken as exc:
            raise CommandError(
                "A stored ID number opens with none of the keys in ID_ENCRYPTION_KEYS: add the key it was "
                "encrypted with (after the new one) and run again. Rows done so far keep their new encryption."
            ) from exc
        self.stdout.write(
            f"People: {report.people} checked, {report.people_reencrypted} re-encrypted with the newest key, "
            f"{report.people - report.people_reencrypted} already on it."
        )
        self.stdout.write(
            f"Bureau files: {report.credit_imports} checked, {report.credit_imports_reencrypted} re-encrypted."
        )
        self.stdout.write("Every stored ID number now opens with the first key alone.")
