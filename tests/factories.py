"""Factories for the tests: realistic defaults, every field overridable."""

import factory
from django.utils import timezone

from accounts.models import Role, User
from contacts.models import Brand, Channel, Contact, Direction, Status, Ticket, Viewer, ViewerEmail


def brand(code: str) -> Brand:
    """Brands are reference data loaded by a migration."""
    return Brand.objects.get(code=code)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = "Camille"
    last_name = factory.Sequence(lambda n: f"Martin{n}")
    role = Role.AGENT
    password = factory.django.Password("correct horse battery staple")

    @factory.post_generation
    def brands(self, create, extracted, **kwargs):
        if create and extracted:
            self.brands.set([brand(c) if isinstance(c, str) else c for c in extracted])


class ViewerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Viewer
        skip_postgeneration_save = True

    civility = "Mme"
    first_name = "Jeanne"
    last_name = factory.Sequence(lambda n: f"Lefebvre{n}")
    postcode = "29150"
    city = "Châteaulin"

    @factory.post_generation
    def email(self, create, extracted, **kwargs):
        if create:
            address = extracted or f"{self.first_name}.{self.last_name}@example.fr".lower()
            ViewerEmail.objects.create(viewer=self, email=address, is_primary=True)


class TicketFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Ticket

    reference = factory.Sequence(lambda n: f"FTV-2026-{900000 + n:06d}")
    brand = factory.LazyFunction(lambda: brand("france2"))
    viewer = factory.SubFactory(ViewerFactory)
    subject = "Question sur le Journal de 20h"
    channel = Channel.EMAIL
    topic = "programme_info"
    level = 1
    status = Status.TRIAGED
    created_at = factory.LazyFunction(timezone.now)


class ContactFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Contact

    ticket = factory.SubFactory(TicketFactory)
    viewer = factory.SelfAttribute("ticket.viewer")
    channel = Channel.EMAIL
    direction = Direction.INBOUND
    subject = factory.SelfAttribute("ticket.subject")
    body_text = "Bonjour, à quelle heure est rediffusé le journal ? Merci."
