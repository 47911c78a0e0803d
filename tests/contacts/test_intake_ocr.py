"""Tesseract may be absent: letters wait for OCR with a clear state, the mailroom retries, and
the OCR sweep reads them once Tesseract is back (its availability asked when needed)."""

from __future__ import annotations

from datetime import timedelta
from html import unescape

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from contacts.channels import ocr
from contacts.models import LetterScan
from contacts.services.letters import letter_scans_ocr_sweep
from tests.contacts.test_intake_letters import render, upload

pytestmark = pytest.mark.django_db


@pytest.fixture
def tesseract(monkeypatch):
    """Tesseract's presence, switched by the test; its availability is re-asked each time."""
    state = {"present": False}
    monkeypatch.setattr(ocr, "_probe_tesseract", lambda: state["present"])
    monkeypatch.setattr(ocr, "AVAILABILITY_TTL", 0.0)
    monkeypatch.setattr(
        ocr,
        "ocr_scan",
        lambda path, ctype: ocr.OcrResult(
            text="Mme Jeanne DUPUIS\n29150 Châteaulin", confidence=91.0, pages=1
        ),
    )
    ocr.ocr_available.cache_clear()
    yield state
    ocr.ocr_available.cache_clear()


def test_a_letter_scanned_without_tesseract_waits_for_ocr_and_the_sweep_reads_it(
    client, mailroom, intake_env, tesseract, django_capture_on_commit_callbacks
):
    client.force_login(mailroom)
    with django_capture_on_commit_callbacks(execute=True):
        upload(client, [SimpleUploadedFile("lettre.png", render())])
    scan = LetterScan.objects.get()
    assert scan.state == LetterScan.State.NO_OCR
    assert "En attente d'OCR" in unescape(client.get("/mailroom/").content.decode())
    page = unescape(client.get(f"/mailroom/letters/{scan.pk}/").content.decode())
    assert "Relancer l'OCR" in page and "automatiquement" in page

    with django_capture_on_commit_callbacks(execute=True):
        assert letter_scans_ocr_sweep() == {"stalled": 0, "waiting": 0}  # still absent

    tesseract["present"] = True
    with django_capture_on_commit_callbacks(execute=True):
        assert letter_scans_ocr_sweep() == {"stalled": 0, "waiting": 1}
    scan.refresh_from_db()
    assert scan.state == LetterScan.State.READY and "DUPUIS" in scan.ocr_text


def test_the_mailroom_retries_the_ocr_of_a_waiting_letter(
    client, mailroom, intake_env, tesseract, django_capture_on_commit_callbacks
):
    client.force_login(mailroom)
    with django_capture_on_commit_callbacks(execute=True):
        upload(client, [SimpleUploadedFile("lettre.png", render())])
    scan = LetterScan.objects.get()

    tesseract["present"] = True
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/mailroom/letters/{scan.pk}/ocr/")

    assert response.status_code == 302
    scan.refresh_from_db()
    assert scan.state == LetterScan.State.READY
    again = client.post(f"/mailroom/letters/{scan.pk}/ocr/")  # nothing left to retry
    assert again.status_code == 302 and again.url == f"/mailroom/letters/{scan.pk}/"


def test_tesseract_installed_while_running_is_seen_without_a_restart(monkeypatch):
    present = {"v": False}
    monkeypatch.setattr(ocr, "_probe_tesseract", lambda: present["v"])
    ocr.ocr_available.cache_clear()
    clock = {"t": 1000.0}
    monkeypatch.setattr(ocr.time, "monotonic", lambda: clock["t"])

    assert ocr.ocr_available() is False
    present["v"] = True
    clock["t"] += ocr.AVAILABILITY_TTL + 1

    assert ocr.ocr_available() is True
    ocr.ocr_available.cache_clear()


def test_a_scan_whose_ocr_message_was_lost_is_enqueued_again(
    client, mailroom, intake_env, tesseract, django_capture_on_commit_callbacks
):
    client.force_login(mailroom)
    tesseract["present"] = True
    upload(client, [SimpleUploadedFile("lettre.png", render())])  # its task message lost
    scan = LetterScan.objects.get()
    assert scan.state == LetterScan.State.PENDING

    with django_capture_on_commit_callbacks(execute=True):
        assert letter_scans_ocr_sweep()["stalled"] == 0  # not late yet
    with (
        time_machine.travel(timezone.now() + timedelta(minutes=11)),
        django_capture_on_commit_callbacks(execute=True),
    ):
        assert letter_scans_ocr_sweep()["stalled"] == 1
    scan.refresh_from_db()
    assert scan.state == LetterScan.State.READY


def test_ocr_retry_route_is_for_those_who_register_letters(client, agent, intake_env):
    assert client.post("/mailroom/letters/1/ocr/").status_code == 302  # to the login page
    client.force_login(agent)
    assert client.post("/mailroom/letters/1/ocr/").status_code == 404
