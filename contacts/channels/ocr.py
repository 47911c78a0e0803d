"""OCR of scanned letters with Tesseract (French model), PDFs rendered with poppler's pdftoppm.

Plain subprocess calls, no Django: the tools are Debian's `tesseract-ocr-fra` and
`poppler-utils`. Where Tesseract or its French model is missing, `ocr_available()` says so:
letters wait for OCR (the mailroom may still key them in by hand), and the OCR sweep reads them
once it is back.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageSequence

TESSERACT = os.environ.get("TESSERACT", "tesseract")
PDFTOPPM = os.environ.get("PDFTOPPM", "pdftoppm")
LANGUAGE = "fra"
# Seconds per page: a pathological scan must not hold an OCR worker for ever.
PAGE_TIMEOUT = 120


class OcrError(Exception):
    pass


@dataclass(frozen=True)
class OcrResult:
    text: str
    confidence: float | None  # mean word confidence, 0–100
    pages: int


# How long an answer of `ocr_available` is trusted (seconds): Tesseract installed or removed
# while the workers run is seen within this delay, without a restart.
AVAILABILITY_TTL = 60.0
_availability: tuple[float, bool] | None = None


def ocr_available() -> bool:
    """Tesseract is installed with its French model. Asked when needed (each OCR, the sweep);
    the answer is kept AVAILABILITY_TTL seconds, not for the life of the process."""
    global _availability
    now = time.monotonic()
    if _availability is not None and now - _availability[0] < AVAILABILITY_TTL:
        return _availability[1]
    found = _probe_tesseract()
    _availability = (now, found)
    return found


def _forget_availability() -> None:
    global _availability
    _availability = None


ocr_available.cache_clear = _forget_availability  # type: ignore[attr-defined]


def _probe_tesseract() -> bool:
    if not shutil.which(TESSERACT):
        return False
    try:
        out = subprocess.run(
            [TESSERACT, "--list-langs"], capture_output=True, text=True, timeout=30
        )
    except (OSError, subprocess.SubprocessError):
        return False
    return LANGUAGE in out.stdout.split()


def pdf_available() -> bool:
    return shutil.which(PDFTOPPM) is not None


def render_pages(path: Path, content_type: str, workdir: Path, *, dpi: int = 300) -> list[Path]:
    """The pages of a scan as PNG files in `workdir`, in order."""
    if content_type == "application/pdf":
        if not pdf_available():
            raise OcrError("pdftoppm (poppler-utils) is not installed: cannot read PDF scans")
        prefix = workdir / "page"
        try:
            subprocess.run(
                [PDFTOPPM, "-r", str(dpi), "-png", str(path), str(prefix)],
                check=True,
                capture_output=True,
                timeout=PAGE_TIMEOUT * 10,
            )
        except subprocess.CalledProcessError as exc:
            raise OcrError(
                f"the PDF cannot be rendered: {exc.stderr.decode(errors='replace')[:300]}"
            ) from None
        except subprocess.TimeoutExpired:
            raise OcrError("rendering the PDF took too long") from None
        return sorted(workdir.glob("page*.png"), key=lambda p: int(p.stem.rsplit("-", 1)[-1]))
    pages = []
    with Image.open(path) as image:
        for index, frame in enumerate(ImageSequence.Iterator(image)):
            out = workdir / f"page-{index + 1}.png"
            frame.convert("RGB" if frame.mode not in ("L", "1") else frame.mode).save(out)
            pages.append(out)
    return pages


def _read_tsv(tsv: str) -> tuple[str, list[float]]:
    """Text (lines and paragraphs kept) and word confidences from Tesseract's TSV output."""
    lines: dict[tuple, list[str]] = {}
    confidences = []
    for row in tsv.splitlines()[1:]:
        cols = row.split("\t")
        if len(cols) < 12 or cols[0] != "5":
            continue
        word = cols[11].strip()
        if not word:
            continue
        key = (int(cols[1]), int(cols[2]), int(cols[3]), int(cols[4]))  # page, block, par, line
        lines.setdefault(key, []).append(word)
        try:
            conf = float(cols[10])
        except ValueError:
            continue
        if conf >= 0:
            confidences.append(conf)
    out, previous = [], None
    for key in sorted(lines):
        if previous is not None and key[:3] != previous[:3]:
            out.append("")
        out.append(" ".join(lines[key]))
        previous = key
    return "\n".join(out), confidences


def ocr_image(path: Path) -> tuple[str, list[float]]:
    try:
        done = subprocess.run(
            [TESSERACT, str(path), "stdout", "-l", LANGUAGE, "--psm", "3", "tsv"],
            capture_output=True,
            text=True,
            timeout=PAGE_TIMEOUT,
        )
    except subprocess.TimeoutExpired:
        raise OcrError("OCR of a page took too long") from None
    except OSError as exc:
        raise OcrError(f"tesseract cannot run: {exc}") from None
    if done.returncode != 0:
        raise OcrError(f"tesseract failed: {done.stderr.strip()[:300]}")
    return _read_tsv(done.stdout)


def ocr_scan(path: Path, content_type: str) -> OcrResult:
    """OCR every page of a scan (PDF, TIFF, JPEG, PNG) in French."""
    if not ocr_available():
        raise OcrError("Tesseract with its French model is not installed")
    with tempfile.TemporaryDirectory(prefix="ocr-") as tmp:
        pages = render_pages(path, content_type, Path(tmp))
        texts, confidences = [], []
        for page in pages:
            text, conf = ocr_image(page)
            texts.append(text)
            confidences.extend(conf)
    mean = round(sum(confidences) / len(confidences), 1) if confidences else None
    return OcrResult(
        text="\n\n".join(t for t in texts if t).strip(), confidence=mean, pages=len(pages)
    )
