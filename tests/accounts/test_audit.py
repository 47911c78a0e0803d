import pytest
from django.db import connection

from accounts.models import AuditEvent
from accounts.services import audit_record
from tests.factories import TicketFactory
from tests.markers import requires_postgres

pytestmark = pytest.mark.django_db


def test_audit_records_who_did_what_on_which_object(manager):
    ticket = TicketFactory()
    event = audit_record(actor=manager, action="ticket.export", obj=ticket, data={"rows": 3})
    assert event.object_type == "contacts.ticket"
    assert event.object_id == str(ticket.pk)
    assert event.actor == manager
    assert AuditEvent.objects.filter(actor=manager, action="ticket.export").count() == 1


def test_audit_log_refuses_updates_and_deletes(manager):
    event = audit_record(actor=manager, action="x", object_type="t", object_id=1)
    with pytest.raises(PermissionError):
        event.save()
    with pytest.raises(PermissionError):
        event.delete()
    with pytest.raises(PermissionError):
        AuditEvent.objects.filter(pk=event.pk).update(action="y")
    with pytest.raises(PermissionError):
        AuditEvent.objects.all().delete()
    assert AuditEvent.objects.get(pk=event.pk).action == "x"


@requires_postgres
def test_audit_trigger_refuses_raw_sql_updates_on_postgresql(manager):
    from django.db import DatabaseError, transaction

    event = audit_record(actor=manager, action="x", object_type="t", object_id=1)
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE accounts_auditevent SET action = 'y' WHERE id = %s", [event.pk])
