"""A manager of some brands sees their brands only, on every page the matrix found open to
all: mediation case files, quarantined inputs, letter scans in the configuration; and the
audit log, which spans every brand, is for staff of every brand."""

import pytest

from accounts import permissions
from accounts.models import Role
from contacts.intake_selectors import quarantine_list
from contacts.models import QuarantineItem
from contacts.services.quarantine import quarantine_put
from mediation.selectors import case_list
from mediation.services import case_open_from_escalation
from tests.factories import TicketFactory, UserFactory, brand

pytestmark = pytest.mark.django_db


@pytest.fixture
def france2_manager(db):
    return UserFactory(username="manager-f2", role=Role.MANAGER, brands=["france2"])


def _case(brand_code):
    ticket = TicketFactory(level=3, brand=brand(brand_code), topic="editorial_programmes")
    return case_open_from_escalation(ticket=ticket, by=None, reason="")


def test_a_brands_manager_reads_its_case_files_not_another_brands(france2_manager, manager):
    own, other = _case("france2"), _case("france5")
    assert permissions.can(france2_manager, "view", own)
    assert not permissions.can(france2_manager, "view", other)
    assert list(case_list(user=france2_manager)) == [own]
    assert set(case_list(user=manager)) == {own, other}  # a manager of every brand


def test_a_brands_manager_is_refused_another_brands_case_page(client, france2_manager):
    client.force_login(france2_manager)
    assert client.get(f"/mediation/cases/{_case('france5').pk}/").status_code == 404
    assert client.get(f"/mediation/cases/{_case('france2').pk}/").status_code == 200


def test_a_brands_manager_sees_its_quarantined_inputs_and_the_brandless(france2_manager):
    own, _ = quarantine_put(source="email", reason_code="x", reason="x", data=b"a", brand=None)
    other, _ = quarantine_put(
        source="email", reason_code="x", reason="x", data=b"b", brand=brand("france5")
    )
    held = QuarantineItem.State.HELD
    assert list(quarantine_list(user=france2_manager, state=held)) == [own]


def test_the_audit_log_is_for_staff_of_every_brand(france2_manager, manager, admin_user):
    assert not permissions.can(france2_manager, "view_audit")
    assert permissions.can(manager, "view_audit")
    assert permissions.can(admin_user, "view_audit")


def test_a_brands_manager_sees_and_retries_its_brands_outbox_only(france2_manager, client):
    """The outbox shows who was written to and about what: another brand's viewers stay out of
    it, and their messages are not sent again by a manager who may not see them."""
    from outbox.models import MessageKind, MessageState, OutboxMessage

    def failed_reply(brand_code, subject):
        ticket = TicketFactory(brand=brand(brand_code), subject=subject)
        return OutboxMessage.objects.create(
            kind=MessageKind.REPLY,
            state=MessageState.FAILED,
            from_email="crm@example.fr",
            recipients=[f"{brand_code}@example.fr"],
            subject=f"Re: {subject}",
            body_text="Bonjour",
            message_id=f"{brand_code}@example.fr",
            ticket=ticket,
        )

    own, other = failed_reply("france2", "Horaires"), failed_reply("france5", "Documentaire")
    client.force_login(france2_manager)
    page = client.get("/outbox/").content.decode()
    assert "Re: Horaires" in page and "Re: Documentaire" not in page
    assert "france5@example.fr" not in page
    response = client.post("/outbox/retry/", {"message": [own.pk, other.pk]})
    assert response.status_code == 302
    own.refresh_from_db(), other.refresh_from_db()
    assert own.state == MessageState.QUEUED
    assert other.state == MessageState.FAILED
