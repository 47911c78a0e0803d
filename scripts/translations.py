"""Refresh the French catalogue: extract messages, fill them from the translation parts,
compile, and report what is still untranslated.

    .venv/bin/python scripts/translations.py [--check]

Each area of the code keeps its French translations in `locale/fr_parts/<area>.json`
(msgid → msgstr), so that engineers working in parallel never edit the same .po file. This
script is the one place where they are merged. With --check it only reports (exit 1 if a
message lacks a translation).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import polib

ROOT = Path(__file__).resolve().parent.parent
PO = ROOT / "locale" / "fr" / "LC_MESSAGES" / "django.po"
PARTS = ROOT / "locale" / "fr_parts"
PY = sys.executable


def manage(*args: str) -> None:
    subprocess.run([PY, "manage.py", *args], cwd=ROOT, check=True, stdout=subprocess.DEVNULL)


def load_parts() -> dict[str, str]:
    merged: dict[str, str] = {}
    for path in sorted(PARTS.glob("*.json")):
        merged.update(json.loads(path.read_text(encoding="utf-8")))
    return merged


def main() -> int:
    check_only = "--check" in sys.argv
    if not check_only:
        manage(
            "makemessages",
            "-l",
            "fr",
            "--no-obsolete",
            "--no-location",
            "--ignore=.venv/*",
            "--ignore=var/*",
            "--ignore=tests/*",
            "--ignore=bench/*",
        )
    catalogue = polib.pofile(str(PO))
    parts = load_parts()
    missing = []
    for entry in catalogue:
        if entry.obsolete:
            continue
        if entry.msgid_plural:
            if not all(entry.msgstr_plural.values()):
                singular = parts.get(entry.msgid)
                plural = parts.get(entry.msgid_plural, singular)
                if singular:
                    entry.msgstr_plural = {0: singular, 1: plural}
                else:
                    missing.append(entry.msgid)
        elif not entry.msgstr or "fuzzy" in entry.flags:
            if entry.msgid in parts:
                entry.msgstr = parts[entry.msgid]
            else:
                missing.append(entry.msgid)
        if "fuzzy" in entry.flags and entry.msgid in parts:
            entry.flags.remove("fuzzy")
    catalogue.metadata["Language"] = "fr"
    catalogue.metadata["Plural-Forms"] = "nplurals=2; plural=(n > 1);"
    catalogue.metadata["Content-Type"] = "text/plain; charset=UTF-8"
    if not check_only:
        catalogue.save(str(PO))
        manage("compilemessages", "--ignore=.venv")
    for msgid in missing:
        print(f"untranslated: {msgid!r}")
    print(f"{len(catalogue)} messages, {len(missing)} untranslated")
    return 1 if (check_only and missing) else 0


if __name__ == "__main__":
    sys.exit(main())
