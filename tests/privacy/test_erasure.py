"""Erasure by anonymisation: asked by one person, confirmed by another, everywhere at once,
and the dashboards' figures the same before and after."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
import time_machine
from django.core.exceptions import PermissionDenied
from django.core.files.storage import default_storage
from django.utils import timezone

from contacts.models import Contact, Ticket, Viewer
from mediation.models import Case, CaseStatus
from privacy.models import HoldKind, PrivacyRequest, RequestState
from privacy.services.access import access_file_build, access_request
from privacy.services.erasure import ErasureBlocked, viewer_anonymise
from privacy.services.holds import legal_hold_place
from privacy.services.requests import RequestError, erasure_confirm, erasure_request
from reporting.filters import Filters
from reporting.selectors import PAGES, Scope
from reporting.services.rollups import rollup_rebuild
from satisfaction.models import Survey
from tests.factories import ContactFactory, TicketFactory, ViewerFactory

from .helpers import find_in_database, find_in_files
from .seed import EMAIL, seed_viewer

pytestmark = pytest.mark.django_db


def figures(user) -> dict:
    """Every numeric figure of every dashboard page over the last 60 days."""
    today = timezone.localdate()
    scope = Scope.build(
        user=user,
        filters=Filters.from_query(
            {"from": (today - timedelta(days=60)).isoformat(), "to": today.isoformat()}
        ),
    )
    out = {}
    for slug, builder in PAGES.items():
        page = builder(scope=scope)
        for tile in page.tiles:
            out[f"{slug}/tile/{tile.label}"] = tile.value
        for table in page.tables:
            for r, row in enumerate([*table.rows, table.footer or []]):
                for c, cell in enumerate(row):
                    if isinstance(cell.value, int | float) or cell.value is None:
                        out[f"{slug}/{table.slug}/{r}/{c}"] = cell.value
    return out


def _others():
    # Other viewers' requests, so that the figures are not only the erased viewer's.
    for i in range(3):
        ticket = TicketFactory(created_at=timezone.now() - timedelta(days=5 + i), channel="web")
        ContactFactory(ticket=ticket, occurred_at=ticket.created_at)


def test_erasure_leaves_no_value_anywhere_and_the_figures_unchanged(
    manager, admin_user, mediator, django_capture_on_commit_callbacks
):
    # The clock stands still: the backlog's ages would otherwise move between the two reads.
    with time_machine.travel(timezone.now(), tick=False):
        _erase_and_search(manager, admin_user, mediator, django_capture_on_commit_callbacks)


def _erase_and_search(manager, admin_user, mediator, django_capture_on_commit_callbacks):
    seeded = seed_viewer(staff=manager, mediator=mediator)
    _others()
    # The viewer's access file exists too: it must go with the rest.
    with django_capture_on_commit_callbacks(execute=True):
        access = access_request(viewer=seeded.viewer, by=manager)
    access.refresh_from_db()
    assert access.state == RequestState.READY and access.archive and access.pdf
    assert find_in_files(seeded.values), "the seed put the values in the file store"
    assert find_in_database(seeded.values), "the seed put the values in the database"
    rollup_rebuild()
    before = figures(manager)

    asked = erasure_request(viewer=seeded.viewer, by=manager)
    assert asked.state == RequestState.REQUESTED
    with django_capture_on_commit_callbacks(execute=True):
        done = erasure_confirm(privacy_request=asked, by=admin_user)

    assert done.state == RequestState.DONE, done.outcome
    assert done.confirmed_by == admin_user
    assert find_in_database(seeded.values) == []
    assert find_in_files(seeded.values) == []
    for name in [*seeded.files, access.archive.name, access.pdf.name]:
        assert not default_storage.exists(name), name
    rollup_rebuild()
    assert figures(manager) == before
    viewer = Viewer.objects.get(pk=seeded.viewer.pk)
    assert viewer.is_anonymised
    # What statistics need stays: rows, dates, channels, levels, scores, call times.
    assert Ticket.objects.filter(viewer=viewer).count() == 3
    assert Contact.objects.filter(viewer=viewer).count() == 4
    assert Survey.objects.get(ticket__viewer=viewer).score == 2
    assert viewer.contacts.get(channel="phone").call.handling_seconds == 300


def test_the_requester_cannot_confirm_their_own_erasure(manager, srt, admin_user):
    viewer = ViewerFactory()
    TicketFactory(viewer=viewer)
    asked = erasure_request(viewer=viewer, by=manager)
    with pytest.raises(PermissionDenied):
        erasure_confirm(privacy_request=asked, by=manager)
    with pytest.raises(PermissionDenied):  # an SRT officer may ask, not confirm
        erasure_confirm(privacy_request=asked, by=srt)
    viewer.refresh_from_db()
    assert not viewer.is_anonymised
    erasure_confirm(privacy_request=asked, by=admin_user)
    with pytest.raises(RequestError):  # a second click erases nothing more
        erasure_confirm(privacy_request=asked, by=admin_user)


def test_an_srt_officer_asks_and_a_manager_confirms(srt, manager):
    viewer = ViewerFactory()
    TicketFactory(viewer=viewer)
    asked = erasure_request(viewer=viewer, by=srt)
    done = erasure_confirm(privacy_request=asked, by=manager)
    assert done.state == RequestState.DONE
    assert Viewer.objects.get(pk=viewer.pk).last_name == ""


def test_an_open_mediation_case_blocks_the_erasure_with_its_reason(manager, admin_user, mediator):
    seeded = seed_viewer(staff=manager, mediator=mediator)
    Case.objects.filter(reference="MED-2026-9901").update(status=CaseStatus.OPEN, outcome="")
    asked = erasure_request(viewer=seeded.viewer, by=manager)
    assert asked.state == RequestState.REFUSED
    assert "MED-2026-9901" in asked.outcome
    assert not Viewer.objects.get(pk=seeded.viewer.pk).is_anonymised


@pytest.mark.parametrize("kind", [HoldKind.LEGAL_HOLD, HoldKind.DISPUTE])
def test_a_legal_hold_or_a_dispute_blocks_the_erasure(manager, admin_user, kind):
    viewer = ViewerFactory()
    TicketFactory(viewer=viewer)
    asked = erasure_request(viewer=viewer, by=manager)
    legal_hold_place(viewer=viewer, kind=kind, reason="Contentieux n° 12", by=manager)
    done = erasure_confirm(privacy_request=asked, by=admin_user)
    assert done.state == RequestState.REFUSED
    assert "Contentieux n° 12" in done.outcome
    with pytest.raises(ErasureBlocked):
        viewer_anonymise(viewer_id=viewer.pk, reason="test")
    assert Viewer.objects.get(pk=viewer.pk).last_name


def test_the_audit_of_an_erasure_keeps_counts_not_values(manager, admin_user, mediator):
    from accounts.models import AuditEvent

    seeded = seed_viewer(staff=manager, mediator=mediator)
    erasure_confirm(
        privacy_request=erasure_request(viewer=seeded.viewer, by=manager), by=admin_user
    )
    event = AuditEvent.objects.get(action="privacy.erasure")
    assert event.actor == admin_user
    assert event.data["counts"]["contacts.Contact"] == 4
    assert EMAIL not in str(event.data)
    # The rectification's audit line stays, without the values it recorded.
    update = AuditEvent.objects.get(action="viewer.update")
    assert update.data["source"] == "viewer:letter"
    assert "Zorglub" not in str(update.data)


def test_access_file_build_is_idempotent(manager, mediator, django_capture_on_commit_callbacks):
    seeded = seed_viewer(staff=manager, mediator=mediator)
    with django_capture_on_commit_callbacks(execute=True):
        obj = access_request(viewer=seeded.viewer, by=manager)
    assert access_file_build(request_id=obj.pk) is None  # ready: nothing to do
    assert PrivacyRequest.objects.get(pk=obj.pk).state == RequestState.READY


def test_erasing_one_viewer_takes_well_under_a_second(manager, admin_user, mediator):
    seeded = seed_viewer(staff=manager, mediator=mediator)
    for _ in range(20):  # a long history
        ContactFactory(ticket=seeded.tickets[0], viewer=seeded.viewer)
    started = time.monotonic()
    report = viewer_anonymise(viewer_id=seeded.viewer.pk, by=admin_user, reason="test")
    assert time.monotonic() - started < 1.0
    assert report.seconds < 1.0
