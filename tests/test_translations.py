"""The Chinese catalogue is complete and compiled: a member never meets an English string on a Chinese page.

`makemessages` marks a new string untranslated and a changed one fuzzy (Django then shows the English), and
a .po edited without `compilemessages` is not what the site serves; each of these fails here, naming the
strings. The catalogue is read with a few lines of parsing: gettext's tools are not needed to run the tests.
"""

from __future__ import annotations

import ast
import contextlib
import gettext
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.core.management import call_command

LC_MESSAGES = Path(__file__).resolve().parent.parent / "locale" / "zh_Hans" / "LC_MESSAGES"
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|%[sd]|%%")


@dataclass
class Entry:
    flags: set[str] = field(default_factory=set)
    fields: dict[str, str] = field(default_factory=dict)  # msgctxt, msgid, msgid_plural, msgstr, msgstr[0]...

    @property
    def msgid(self) -> str:
        return self.fields.get("msgid", "")

    @property
    def translations(self) -> list[str]:
        return [value for key, value in self.fields.items() if key.startswith("msgstr")]


def read_po(path: Path) -> list[Entry]:
    """The live entries of a .po file (obsolete `#~` ones skipped), strings unescaped."""
    entries: list[Entry] = []
    entry, key = Entry(), ""
    for line in [*path.read_text(encoding="utf-8").splitlines(), ""]:
        if not line.strip() or (line.startswith("#") and entry.fields):
            if entry.fields:
                entries.append(entry)
            entry, key = Entry(), ""
        if line.startswith("#,"):
            entry.flags |= {flag.strip() for flag in line[2:].split(",")}
        elif line.startswith(("msgctxt", "msgid", "msgstr")):
            key, _, literal = line.partition(" ")
            entry.fields[key] = ast.literal_eval(literal)
        elif line.startswith('"'):
            entry.fields[key] += ast.literal_eval(line)
    return [e for e in entries if e.msgid]


ENTRIES = read_po(LC_MESSAGES / "django.po")


def describe(entries: list[Entry]) -> str:
    return "\n".join(f"  {e.msgid!r}" for e in entries)


def test_every_string_is_translated() -> None:
    missing = [e for e in ENTRIES if not all(e.translations)]
    assert not missing, f"{len(missing)} strings have no Chinese yet:\n{describe(missing)}"


def test_no_translation_is_a_guess() -> None:
    fuzzy = [e for e in ENTRIES if "fuzzy" in e.flags]
    assert not fuzzy, f"{len(fuzzy)} fuzzy translations (makemessages' guesses) to check:\n{describe(fuzzy)}"


@pytest.mark.parametrize("entry", [e for e in ENTRIES if "python-format" in e.flags], ids=lambda e: e.msgid[:40])
def test_placeholders_are_kept(entry: Entry) -> None:
    wanted = {*PLACEHOLDER.findall(entry.msgid), *PLACEHOLDER.findall(entry.fields.get("msgid_plural", ""))}
    for translation in entry.translations:
        assert set(PLACEHOLDER.findall(translation)) == wanted, translation


def test_the_compiled_catalogue_is_the_current_one() -> None:
    with (LC_MESSAGES / "django.mo").open("rb") as mo:
        compiled = gettext.GNUTranslations(mo)
    stale = []
    for e in ENTRIES:
        context, plural = e.fields.get("msgctxt"), e.fields.get("msgid_plural")
        if plural is not None:
            served = compiled.ngettext(e.msgid, plural, 1)
        elif context is not None:
            served = compiled.pgettext(context, e.msgid)
        else:
            served = compiled.gettext(e.msgid)
        if served != e.translations[0]:
            stale.append(e)
    assert not stale, f"django.mo is older than django.po; run compilemessages. Differences:\n{describe(stale)}"


# What makemessages reads: the project's code, templates and e-mail templates (the same ignores as the
# README's command).
SOURCE_SUFFIXES = {".py", ".html", ".txt"}
NOT_SOURCE = {".venv", ".git", "tests", "benchmarks", "test-output", "media", "staticfiles", "node_modules"}


def test_every_string_in_the_code_and_templates_is_in_the_catalogue(tmp_path: Path) -> None:
    """makemessages run on a copy of the project finds nothing new: no string was added without Chinese.

    The first tests read the catalogue as it is; this one reads the code, so a string added to a template
    or a view without running makemessages fails here, named. Needs gettext's tools (CI installs them).
    """
    root = LC_MESSAGES.parents[2]
    for path in root.rglob("*"):
        relative = path.relative_to(root)
        if relative.parts[0] in NOT_SOURCE or "__pycache__" in relative.parts or not path.is_file():
            continue
        if path.suffix in SOURCE_SUFFIXES or relative.parts[0] == "locale":
            (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, tmp_path / relative)
    assert shutil.which("xgettext") and shutil.which("msgmerge"), "gettext is not installed (apt-get install gettext)"

    with contextlib.chdir(tmp_path):
        call_command("makemessages", locale=["zh_Hans"], no_obsolete=True, verbosity=0)

    entries = read_po(tmp_path / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po")
    new = [e for e in entries if not all(e.translations) or "fuzzy" in e.flags]
    assert not new, (
        f"{len(new)} strings in the code are not translated; run makemessages (see the README), translate them "
        f"and run compilemessages:\n{describe(new)}"
    )
