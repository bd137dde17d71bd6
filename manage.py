#!/usr/bin/env python
from __future__ import annotations

import os
import sys

# Commands that only read the models and write or compare migration files: they never serve a request nor
# read a secret, so on a machine with no environment (a fresh clone) they run on the development settings
# instead of stopping for the production keys. Every other command keeps the settings' strict checks.
MODEL_ONLY_COMMANDS = {"makemigrations"}


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mutualaid.settings")
    if len(sys.argv) > 1 and sys.argv[1] in MODEL_ONLY_COMMANDS:
        os.environ.setdefault("DEBUG", "true")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
