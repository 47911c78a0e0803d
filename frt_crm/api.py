"""The one DRF router of the integrations API, mounted under /api/v1/."""

from rest_framework.routers import DefaultRouter

from contacts.api.intake import CallEventViewSet, ContactIntakeViewSet
from contacts.api.views import TicketViewSet
from routing.api import TicketWorkflowViewSet

router = DefaultRouter()
router.register("tickets", TicketViewSet, basename="ticket")
router.register("contacts", ContactIntakeViewSet, basename="contact-intake")
router.register("calls", CallEventViewSet, basename="call-event")
router.register("ticket-workflow", TicketWorkflowViewSet, basename="ticket-workflow")
