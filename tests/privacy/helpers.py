"""Search the whole database and the file store for values: what the erasure test relies on."""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path

from django.apps import apps
from django.conf import settings
from django.db import models

from contacts.services.viewers import fold

TEXT_FIELDS = (models.CharField, models.TextField, models.JSONField, models.FileField)


def text_columns():
    """(model, [field names]) of every text, char, JSON and file column of every model."""
    for model in apps.get_models():
        names = [f.name for f in model._meta.concrete_fields if isinstance(f, TEXT_FIELDS)]
        if names:
            yield model, names


def find_in_database(values: list[str]) -> list[str]:
    """Where any of `values` (case- and accent-insensitively) is still in the database."""
    wanted = {fold(v): v for v in values}
    found = []
    for model, names in text_columns():
        for row in model._base_manager.values_list("pk", *names).iterator():
            for name, value in zip(names, row[1:], strict=True):
                if value in (None, ""):
                    continue
                text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
                folded = fold(text)
                for key, original in wanted.items():
                    if key in folded:
                        found.append(f"{model._meta.label}.{name} #{row[0]}: {original!r}")
    return found


def find_in_files(values: list[str]) -> list[str]:
    """Where any of `values` is in a file under MEDIA_ROOT (ZIP members read too)."""
    found = []
    root = Path(settings.MEDIA_ROOT)
    if not root.exists():
        return found
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            path = Path(dirpath) / name
            blobs = [path.read_bytes()]
            if zipfile.is_zipfile(path):
                with zipfile.ZipFile(path) as z:
                    blobs += [z.read(n) for n in z.namelist()]
            for blob in blobs:
                text = fold(blob.decode("utf-8", "ignore"))
                found += [f"{path}: {v!r}" for v in values if fold(v) in text]
    return found
