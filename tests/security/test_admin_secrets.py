"""Secrets the configuration keeps without ever showing them back."""

import pytest

from contacts.models import Mailbox
from tests.factories import brand

pytestmark = pytest.mark.django_db


def _mailbox():
    return Mailbox.objects.create(
        brand=brand("france2"),
        name="Vous et Nous",
        host="imap.example.fr",
        username="vousetnous",
        password="s3cret-imap-password",
    )


def _form(mailbox, **changes):
    data = {
        "brand": mailbox.brand_id,
        "name": mailbox.name,
        "host": mailbox.host,
        "port": mailbox.port,
        "username": mailbox.username,
        "password": "",
        "folder": mailbox.folder,
        "processed_folder": mailbox.processed_folder,
        "is_active": "on",
    }
    data.update(changes)
    return data


def test_the_mailbox_page_never_shows_its_imap_password(client, admin_user):
    mailbox = _mailbox()
    client.force_login(admin_user)
    page = client.get(f"/admin/contacts/mailbox/{mailbox.pk}/change/")
    assert page.status_code == 200
    assert "s3cret-imap-password" not in page.content.decode()


def test_editing_a_mailbox_without_typing_the_password_keeps_it(client, admin_user):
    mailbox = _mailbox()
    client.force_login(admin_user)
    url = f"/admin/contacts/mailbox/{mailbox.pk}/change/"
    response = client.post(url, _form(mailbox, name="Vous et Nous (France 2)"))
    assert response.status_code == 302, response.content.decode()[:2000]
    mailbox.refresh_from_db()
    assert (mailbox.name, mailbox.password) == ("Vous et Nous (France 2)", "s3cret-imap-password")
    client.post(url, _form(mailbox, password="new-password"))
    mailbox.refresh_from_db()
    assert mailbox.password == "new-password"


def test_a_new_mailbox_needs_its_password(client, admin_user):
    client.force_login(admin_user)
    data = _form(_mailbox(), name="Autre", username="autre")
    response = client.post("/admin/contacts/mailbox/add/", data)
    assert response.status_code == 200
    assert Mailbox.objects.filter(username="autre").count() == 0
