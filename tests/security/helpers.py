"""Objects the CSP tests share."""

from __future__ import annotations

import hashlib
import io

from django.core.files.base import ContentFile
from PIL import Image

from contacts.channels.letter import pages_to_pdf
from contacts.models import LetterBatch, LetterScan
from tests.factories import brand


def letter_scan(user, kind: str) -> LetterScan:
    """A scanned letter ready to register, as a one-page PDF or a PNG."""
    image = Image.new("L", (170, 220), 255)
    if kind == "pdf":
        data = pages_to_pdf([image])
    else:
        out = io.BytesIO()
        image.save(out, format="PNG")
        data = out.getvalue()
    batch = LetterBatch.objects.create(uploaded_by=user, brand=brand("france2"))
    scan = LetterScan(
        batch=batch,
        original_filename=f"lettre.{kind}",
        content_type="application/pdf" if kind == "pdf" else "image/png",
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        state=LetterScan.State.READY,
    )
    scan.file.save(f"lettre.{kind}", ContentFile(data), save=True)
    return scan
