"""Find-or-create of the intake's viewers: the order of the look-ups, made in one statement."""

import pytest

from contacts.models import Viewer, ViewerDuplicate, ViewerPhone
from contacts.services.intake import SenderIdentity, viewer_find_or_create
from tests.factories import ViewerFactory

pytestmark = pytest.mark.django_db

EVERYTHING = SenderIdentity(
    email="nouvelle@example.fr",
    first_name="Anne",
    last_name="Kerbrat",
    phone="06 98 76 54 32",
    postcode="29000",
)


def test_a_new_sender_costs_one_look_up_whatever_details_they_give(
    django_assert_num_queries,
):
    # One UNION for email, phone and namesakes; the viewer, their email and their phone.
    with django_assert_num_queries(4):
        viewer = viewer_find_or_create(sender=EVERYTHING)

    assert viewer.emails.get().email == "nouvelle@example.fr"
    assert viewer.phones.get().number == "+33698765432"


def test_email_wins_over_phone_and_phone_over_namesakes():
    by_email = ViewerFactory(first_name="Anne", last_name="Kerbrat", email="nouvelle@example.fr")
    by_phone = ViewerFactory(first_name="Anne", last_name="Kerbrat", postcode="29000")
    ViewerPhone.objects.create(viewer=by_phone, number="+33698765432")
    namesake = ViewerFactory(first_name="Anne", last_name="KERBRAT", postcode="29000")

    without_email = SenderIdentity(**{**EVERYTHING.__dict__, "email": "autre@example.fr"})
    stranger = SenderIdentity(**{**without_email.__dict__, "phone": "", "email": "x@example.fr"})

    # Nothing to find by email or phone: a new viewer, the namesakes noted for staff.
    created = viewer_find_or_create(sender=stranger)
    assert created not in (by_email, by_phone, namesake)
    doubts = ViewerDuplicate.objects.filter(other=created)
    assert {d.viewer_id for d in doubts} == {by_phone.pk, namesake.pk}  # same name, postcode
    assert viewer_find_or_create(sender=without_email) == by_phone
    assert viewer_find_or_create(sender=EVERYTHING) == by_email


def test_a_sender_found_through_a_merged_viewer_is_the_viewer_that_remains():
    remaining = ViewerFactory(first_name="Paul", last_name="Girard")
    merged = ViewerFactory(first_name="Paul", last_name="Girard", email="ancien@example.fr")
    Viewer.objects.filter(pk=merged.pk).update(merged_into=remaining)

    found = viewer_find_or_create(sender=SenderIdentity(email="ancien@example.fr", name="Paul"))

    assert found == remaining
    # Found through the merge, the address becomes the remaining viewer's too.
    assert remaining.emails.filter(email="ancien@example.fr").exists()
