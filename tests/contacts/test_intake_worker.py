"""The intake's tasks through a real Celery worker and broker (CI's PostgreSQL + Redis run):
a letter's OCR on the `ocr` queue, the acknowledgement on the `mail` queue."""

import time

import pytest
from django.db import connection

from contacts.models import LetterScan
from contacts.services.letters import ScanUpload, letter_batch_upload
from tests.contacts.test_intake_letters import render
from tests.factories import brand
from tests.markers import requires_broker, requires_tesseract

pytestmark = [
    requires_broker,
    requires_tesseract,
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="needs service: PostgreSQL shared with the worker (set DATABASE_URL=postgres://…)",
    ),
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def wait_for(predicate, timeout=90.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.5)
    return False


def test_letter_ocr_runs_on_a_real_worker(mailroom, settings, tmp_path):
    # The worker reads files from the same media folder as this test.
    batch = letter_batch_upload(
        by=mailroom,
        brand=brand("france3"),
        uploads=[ScanUpload(name="lettre.png", data=render())],
        one_letter=True,
    )
    scan = batch.scans.get()

    assert wait_for(lambda: LetterScan.objects.get(pk=scan.pk).state != LetterScan.State.PENDING), (
        "no worker took the OCR task within 90 s (is a worker consuming the ocr queue?)"
    )
    scan.refresh_from_db()
    assert scan.state == LetterScan.State.READY, scan.ocr_note
    assert scan.proposed["last_name"] == "Dupuis"
