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
