"""The one DRF router of the integrations API, mounted under /api/v1/."""

from rest_framework.routers import DefaultRouter

from contacts.api.views import TicketViewSet

router = DefaultRouter()
router.register("tickets", TicketViewSet, basename="ticket")
