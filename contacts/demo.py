"""Realistic French demo data at any size, for `manage.py seed_demo` and the benchmarks.

Fast by construction: names, streets and towns are drawn from pools built once (Faker's
French lists), rows are inserted with `bulk_create` in batches, ticket references are reserved
by blocks. One million tickets is the scale the benchmarks start from.
"""

from __future__ import annotations

import json
import random
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import connection, models, transaction
from django.utils import timezone
from faker import Faker
from faker.providers.person.fr_FR import Provider as Person

from accounts import permissions, second_factor
from accounts.models import Role, Team, User

from .models import (
    Brand,
    Channel,
    Civility,
    Contact,
    DeliveryStatus,
    Direction,
    Outcome,
    Priority,
    Programme,
    SlaState,
    Status,
    Ticket,
    Topic,
    Viewer,
    ViewerEmail,
    ViewerPhone,
)
from .services import format_reference, ticket_reference_block, viewer_search_text

# Messages per topic: (subject, body); {programme} is filled in. Written for the demo.
MESSAGES: dict[str, list[tuple[str, str]]] = {
    Topic.PROGRAMME_INFO: [
        (
            "Date de rediffusion",
            "Bonjour, quand sera rediffusé {programme} ? Je l'ai manqué "
            "samedi et j'aimerais beaucoup le voir. Merci.",
        ),
        (
            "Nom de l'invité",
            "Qui était l'invité de {programme} hier soir ? Je n'ai pas retenu "
            "son nom. Cordialement.",
        ),
    ],
    Topic.SCHEDULE_PROGRAMMING: [
        (
            "Programme décalé",
            "Pourquoi {programme} a-t-il commencé avec quarante minutes de "
            "retard hier ? Ce n'est pas la première fois.",
        ),
        (
            "Émission déprogrammée",
            "{programme} a été remplacé sans prévenir. Le guide annonçait "
            "pourtant l'épisode inédit. Quand sera-t-il diffusé ?",
        ),
    ],
    Topic.SPORT: [
        (
            "Match coupé",
            "La retransmission a été coupée avant la fin pour {programme}. C'est "
            "inadmissible pour les amateurs de sport.",
        ),
        (
            "Changement de chaîne",
            "Pourquoi le match est-il passé sur une autre chaîne en cours de route ? Je l'ai raté.",
        ),
    ],
    Topic.RECEPTION_TECHNICAL: [
        (
            "Plus d'image",
            "Depuis dimanche je ne reçois plus la chaîne par la TNT, écran noir. "
            "Les autres chaînes fonctionnent.",
        ),
        (
            "Son décalé",
            "Le son est décalé par rapport à l'image pendant {programme}. Est-ce chez moi ?",
        ),
    ],
    Topic.REPLAY_STREAMING: [
        (
            "Replay indisponible",
            "Je ne trouve pas {programme} en replay sur france.tv. "
            "Combien de temps reste-t-il disponible ?",
        ),
        (
            "La vidéo se bloque",
            "La lecture en direct se bloque toutes les deux minutes sur ma télévision connectée.",
        ),
    ],
    Topic.WEBSITE_APP: [
        (
            "Mot de passe",
            "Je n'arrive pas à réinitialiser mon mot de passe sur l'application, "
            "je ne reçois pas le courriel.",
        ),
    ],
    Topic.EDITORIAL_NEWS: [
        (
            "Reportage partial",
            "Le reportage de {programme} sur la réforme était d'une "
            "partialité choquante : une seule opinion présentée. Où est le pluralisme ?",
        ),
        (
            "Erreur dans le journal",
            "Le chiffre donné dans {programme} est faux, la source "
            "officielle dit le contraire. Je demande une rectification.",
        ),
    ],
    Topic.EDITORIAL_PROGRAMMES: [
        (
            "Propos déplacés",
            "Les propos tenus dans {programme} samedi étaient vulgaires et "
            "blessants, à une heure de grande écoute.",
        ),
        (
            "Scène violente",
            "La scène diffusée dans {programme} était beaucoup trop violente "
            "pour un horaire familial.",
        ),
    ],
    Topic.LANGUAGE: [
        (
            "Fautes de français",
            "Trois fautes d'accord dans les sous-titres de {programme} et "
            "des anglicismes à chaque phrase. Respectez notre langue.",
        ),
    ],
    Topic.ACCESSIBILITY: [
        (
            "Sous-titres absents",
            "Les sous-titres pour sourds et malentendants étaient absents "
            "pendant {programme}. Nous sommes nombreux à en dépendre.",
        ),
        ("Audiodescription", "L'audiodescription annoncée pour {programme} n'a pas fonctionné."),
    ],
    Topic.REGIONAL: [
        (
            "Actualité locale",
            "Pourquoi l'édition régionale n'a-t-elle pas parlé de la "
            "fermeture de l'usine de notre ville ? Tout le monde en parle ici.",
        ),
    ],
    Topic.PRAISE: [
        (
            "Merci",
            "Bravo à toute l'équipe de {programme}, un vrai moment de bonheur chaque "
            "semaine. Continuez !",
        ),
        ("Félicitations", "Quelle belle émission que {programme} hier soir. Merci."),
    ],
    Topic.MEDIA_REQUEST: [
        (
            "Musique du générique",
            "Quel est le titre de la musique entendue à la fin de {programme} ? Merci d'avance.",
        ),
        (
            "Copie d'une émission",
            "Mon fils est passé dans {programme}. Est-il possible "
            "d'obtenir une copie de l'émission ?",
        ),
    ],
    Topic.PARTICIPATION: [
        (
            "Candidature",
            "Comment participer à {programme} ? Mon épouse et moi aimerions "
            "beaucoup être candidats.",
        ),
        ("Places pour le public", "Est-il possible d'assister à l'enregistrement de {programme} ?"),
    ],
    Topic.PROGRAMME_REQUEST: [
        (
            "Suggestion",
            "Pourquoi ne pas consacrer un numéro de {programme} aux métiers d'art de nos régions ?",
        ),
        (
            "Rediffusion souhaitée",
            "Pourriez-vous rediffuser les anciennes saisons de {programme} l'été ?",
        ),
    ],
    Topic.LICENCE_FEE: [
        (
            "Redevance",
            "La redevance a été supprimée, alors comment est financée la télévision "
            "publique aujourd'hui ?",
        ),
    ],
    Topic.INSTITUTIONAL: [
        (
            "Candidature spontanée",
            "Je souhaite effectuer mon stage de fin d'études au sein de "
            "votre rédaction. À qui adresser ma candidature ?",
        ),
    ],
    Topic.MARKETING: [
        ("Désinscription", "Merci de ne plus m'envoyer la lettre d'information."),
        (
            "Suppression de mes données",
            "En application du RGPD, je demande la suppression de "
            "toutes les données personnelles me concernant.",
        ),
    ],
    Topic.SERVICE_RELATIONSHIP: [
        (
            "Toujours pas de réponse",
            "Je vous ai écrit il y a un mois au sujet de {programme} "
            "et je n'ai reçu aucune réponse. Est-ce normal ?",
        ),
        (
            "Je demande le médiateur",
            "Votre réponse ne répond pas à ma question. Je souhaite saisir le médiateur.",
        ),
    ],
}

# (topic, usual level, weight): the proportions of DESIGN.md, about 80 % at level 1.
TOPIC_MIX = [
    (Topic.PROGRAMME_INFO, 1, 14),
    (Topic.SCHEDULE_PROGRAMMING, 1, 9),
    (Topic.SPORT, 2, 3),
    (Topic.RECEPTION_TECHNICAL, 1, 9),
    (Topic.REPLAY_STREAMING, 1, 9),
    (Topic.WEBSITE_APP, 1, 4),
    (Topic.EDITORIAL_NEWS, 3, 3),
    (Topic.EDITORIAL_PROGRAMMES, 3, 2),
    (Topic.LANGUAGE, 2, 2),
    (Topic.ACCESSIBILITY, 2, 3),
    (Topic.REGIONAL, 2, 3),
    (Topic.PRAISE, 1, 8),
    (Topic.MEDIA_REQUEST, 1, 8),
    (Topic.PARTICIPATION, 1, 7),
    (Topic.PROGRAMME_REQUEST, 1, 6),
    (Topic.LICENCE_FEE, 1, 3),
    (Topic.INSTITUTIONAL, 1, 3),
    (Topic.MARKETING, 1, 3),
    (Topic.SERVICE_RELATIONSHIP, 2, 2),
]
# Yearly volumes of DESIGN.md: 216,000 calls, 100,000 emails (web form included), 40,000 letters.
CHANNEL_MIX = [(Channel.PHONE, 216), (Channel.EMAIL, 55), (Channel.WEB, 45), (Channel.LETTER, 40)]
LEVEL_TEAM = {1: "n1-call-centre", 3: "mediator-programmes"}

DEMO_PASSWORD = "demo-crm-2026"
# Managers, administrators and mediators sign in with a second factor. The demo users share one
# published authenticator secret (RFC 6238's test key): add it to any authenticator app, or
# print the current code with `manage.py demo_otp_code`. Demo data only, never production.
DEMO_TOTP_KEY_HEX = "3132333435363738393031323334353637383930"
DEMO_TOTP_SECRET = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
DEMO_USERS = [
    # username, first name, last name, role, brand codes (empty: all brands), team codes
    ("agent", "Inès", "Moreau", Role.AGENT, ["france2", "france3", "france5"], ["n1-call-centre"]),
    ("mailroom", "Paul", "Lefèvre", Role.MAILROOM, ["france2", "france3", "france5"], []),
    ("srt", "Claire", "Dubois", Role.SRT, ["france2"], ["srt-france2"]),
    ("srt3", "Yann", "Le Goff", Role.SRT, ["france3"], ["srt-france3"]),
    ("mediator", "Hélène", "Marchand", Role.MEDIATOR, [], ["mediator-programmes"]),
    ("mediator-news", "Olivier", "Garnier", Role.MEDIATOR, [], ["mediator-news"]),
    ("manager", "Sophie", "Bernard", Role.MANAGER, [], []),
    ("admin", "Admin", "CRM", Role.ADMIN, [], []),
]


@dataclass
class SeedReport:
    viewers: int = 0
    tickets: int = 0
    contacts: int = 0
    users: list[tuple[str, str, str]] | None = None


def ensure_demo_users() -> list[tuple[str, str, str]]:
    """Create (or reset) one demo user per role; returns (username, role, password)."""
    teams = {t.code: t for t in Team.objects.all()}
    brands = {b.code: b for b in Brand.objects.filter(parent__isnull=True)}
    out = []
    for username, first, last, role, brand_codes, team_codes in DEMO_USERS:
        user, _ = User.objects.get_or_create(username=username)
        user.first_name, user.last_name, user.role = first, last, role
        user.email = f"{username}@crm.example.fr"
        user.all_brands = not brand_codes
        user.is_staff = role in {Role.MANAGER, Role.ADMIN}
        user.is_superuser = role == Role.ADMIN
        user.set_password(DEMO_PASSWORD)
        user.save()
        user.brands.set([brands[c] for c in brand_codes])
        for code in team_codes:
            teams[code].memberships.get_or_create(user=user, defaults={"is_lead": True})
        if permissions.second_factor_required(user):
            second_factor.demo_totp_device(user=user, key_hex=DEMO_TOTP_KEY_HEX)
        out.append((username, role, DEMO_PASSWORD))
    return out


class Generator:
    """Draws viewers, tickets and contacts; deterministic for a given seed."""

    def __init__(self, *, seed: int) -> None:
        self.rng = random.Random(seed)
        fake = Faker("fr_FR")
        fake.seed_instance(seed)
        self.first_m = list(Person.first_names_male)
        self.first_f = list(Person.first_names_female)
        self.last = list(Person.last_names)
        self.streets = [fake.street_address() for _ in range(800)]
        self.towns = [(fake.postcode(), fake.city()) for _ in range(600)]
        self.domains = [
            "orange.fr",
            "free.fr",
            "gmail.com",
            "laposte.net",
            "sfr.fr",
            "yahoo.fr",
            "hotmail.fr",
            "wanadoo.fr",
            "outlook.fr",
            "bbox.fr",
        ]
        self.topics = [t for t, _, _ in TOPIC_MIX]
        self.topic_levels = {t: lvl for t, lvl, _ in TOPIC_MIX}
        self.topic_weights = [w for _, _, w in TOPIC_MIX]
        self.channels = [c for c, _ in CHANNEL_MIX]
        self.channel_weights = [w for _, w in CHANNEL_MIX]

    def viewer(self, i: int, now: datetime) -> tuple[dict, str, str]:
        rng = self.rng
        female = rng.random() < 0.55
        first = rng.choice(self.first_f if female else self.first_m)
        last = rng.choice(self.last)
        postcode, city = rng.choice(self.towns)
        email = f"{fold_ascii(first)}.{fold_ascii(last)}{i}@{rng.choice(self.domains)}"
        phone = f"+33{rng.choice('67')}{rng.randrange(10**7, 10**8)}"
        row = {
            "civility": Civility.MRS if female else Civility.MR,
            "first_name": first,
            "last_name": last,
            "address_line1": rng.choice(self.streets),
            "postcode": postcode,
            "city": city,
            "search_text": viewer_search_text(
                first_name=first,
                last_name=last,
                organisation="",
                postcode=postcode,
                city=city,
                emails=[email],
                phones=[phone],
            ),
            "created_at": now,
            "updated_at": now,
        }
        return row, email, phone

    def ticket_facts(self) -> tuple[str, int, str]:
        topic = self.rng.choices(self.topics, self.topic_weights)[0]
        level = self.topic_levels[topic]
        # Some level-1 topics need investigation; some level-2 ones are answered by a script.
        roll = self.rng.random()
        if level == 1 and roll < 0.08:
            level = 2
        elif level == 2 and roll < 0.15:
            level = 1
        channel = self.rng.choices(self.channels, self.channel_weights)[0]
        return topic, level, channel


def fold_ascii(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if c.isalnum() and c.isascii()).lower()


def _batches(total: int, size: int) -> Iterator[int]:
    done = 0
    while done < total:
        n = min(size, total - done)
        yield n
        done += n


class _Writer:
    """Inserts plain rows: COPY on PostgreSQL (several times faster than INSERT at this scale),
    bulk_create elsewhere. Rows are dicts keyed by column (attribute) name; missing columns
    take the field's default, since COPY bypasses Django's defaults."""

    def __init__(self) -> None:
        self.pg = connection.vendor == "postgresql"
        self._defaults: dict[type, dict] = {}

    def _template(self, model: type[models.Model]) -> dict:
        if model not in self._defaults:
            now = timezone.now()
            template = {}
            for f in model._meta.concrete_fields:
                if f.primary_key:
                    continue
                if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
                    template[f.attname] = now
                elif (
                    f.has_default()
                    or f.null
                    or isinstance(f, models.CharField | models.TextField | models.FileField)
                ):
                    template[f.attname] = f.get_default()
                else:
                    template[f.attname] = _REQUIRED
            self._defaults[model] = template
        return self._defaults[model]

    def insert(self, model: type[models.Model], rows: list[dict]) -> list[int]:
        """Insert the rows and return their ids, in order."""
        if not rows:
            return []
        template = self._template(model)
        full = [{**template, **row} for row in rows]
        missing = [k for k, v in full[0].items() if v is _REQUIRED]
        if missing:
            raise ValueError(f"{model.__name__}: no value for {', '.join(missing)}")
        if not self.pg:
            objs = model.objects.bulk_create([model(**row) for row in full])
            return [o.pk for o in objs]
        table = model._meta.db_table
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
                [table, len(full)],
            )
            ids = [r[0] for r in cursor.fetchall()]
            columns = ["id", *template]
            names = ", ".join(f'"{c}"' for c in columns)
            with cursor.cursor.copy(f'COPY "{table}" ({names}) FROM STDIN') as copy:
                for pk, row in zip(ids, full, strict=True):
                    copy.write_row([pk, *(_adapt(row[c]) for c in template)])
        return ids


_REQUIRED = object()


def _adapt(value: object) -> object:
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return value


# The demo's recent weeks: this share of the tickets is created within the last RECENT_DAYS.
RECENT_DAYS = 28
RECENT_SHARE = 0.1


def seed(
    *,
    viewers: int,
    tickets: int,
    years: int = 5,
    seed: int = 2026,
    batch: int = 5000,
    progress: Callable[[str], None] = lambda _msg: None,
    now: datetime | None = None,
    recent_share: float = RECENT_SHARE,
) -> SeedReport:
    """Insert `viewers` viewers and `tickets` tickets (with their contacts) spread over
    `years` years up to `now`; tickets older than a few weeks are resolved or closed.
    `recent_share` of them fall in the last RECENT_DAYS days, the weeks the dashboards open on
    (spread evenly over the years, 5,000 tickets would leave a few dozen there)."""
    gen = Generator(seed=seed)
    rng = gen.rng
    now = now or timezone.now()
    writer = _Writer()
    report = SeedReport()
    brands = list(Brand.objects.filter(is_active=True))
    national = {b.code: b for b in brands if b.parent_id is None}
    programmes_by_brand: dict[int, list[Programme]] = {}
    for p in Programme.objects.all():
        programmes_by_brand.setdefault(p.brand_id, []).append(p)
    teams = {t.code: t.pk for t in Team.objects.all()}
    staff = list(
        User.objects.filter(role__in=[Role.AGENT, Role.SRT, Role.MEDIATOR]).values_list(
            "id", flat=True
        )
    )
    brand_weights = [
        6
        if b.code == "france2"
        else 3
        if b.code == "france3"
        else 2
        if b.code == "france5"
        else 0.3
        for b in brands
    ]

    viewer_ids: list[int] = []
    first_number = (Viewer.objects.order_by("-id").values_list("id", flat=True).first() or 0) + 1
    for n in _batches(viewers, batch):
        rows, emails, phones = [], [], []
        for k in range(n):
            row, email, phone = gen.viewer(first_number + report.viewers + k, now)
            rows.append(row)
            emails.append(email)
            phones.append(phone)
        with transaction.atomic():
            ids = writer.insert(Viewer, rows)
            writer.insert(
                ViewerEmail,
                [
                    {"viewer_id": v, "email": e, "is_primary": True}
                    for v, e in zip(ids, emails, strict=True)
                ],
            )
            writer.insert(
                ViewerPhone,
                [
                    {"viewer_id": v, "number": p, "is_primary": True}
                    for v, p in zip(ids, phones, strict=True)
                    if rng.random() < 0.7
                ],
            )
        viewer_ids.extend(ids)
        report.viewers += n
        progress(f"viewers {report.viewers}/{viewers}")
    if not viewer_ids:
        viewer_ids = list(Viewer.objects.values_list("id", flat=True)[:100000])
    if tickets and not viewer_ids:
        raise ValueError("tickets need viewers: pass --viewers")

    span_seconds = 365 * 24 * 3600 * years
    # Volumes grow over the years (more recent tickets); references are reserved per year for
    # the whole run: one lock per year, not per ticket.
    offsets = sorted((span_seconds * (rng.random() ** 0.8) for _ in range(tickets)), reverse=True)
    # A separate stream: the same seed draws the same tickets whatever the recent share.
    recent = random.Random(seed + 1)
    recent_seconds = RECENT_DAYS * 24 * 3600
    offsets = sorted(
        (
            recent.uniform(0, recent_seconds) if recent.random() < recent_share else o
            for o in offsets
        ),
        reverse=True,
    )
    draws = [now - timedelta(seconds=o) for o in offsets]
    per_year: dict[int, int] = {}
    for at in draws:
        year = timezone.localtime(at).year
        per_year[year] = per_year.get(year, 0) + 1
    numbers = {y: iter(ticket_reference_block(year=y, count=c)) for y, c in per_year.items()}
    reply_body = (
        "Bonjour,\n\nNous vous remercions de votre message. Votre remarque a été transmise "
        "à l'équipe concernée.\n\nLe service des relations avec les téléspectateurs"
    )

    position = 0
    for n in _batches(tickets, batch):
        ticket_rows, specs = [], []
        for at in draws[position : position + n]:
            topic, level, channel = gen.ticket_facts()
            brand = rng.choices(brands, brand_weights)[0]
            nat = national.get(brand.code) or brand.parent or brand
            programmes = programmes_by_brand.get(nat.pk, [])
            programme = rng.choice(programmes) if programmes and rng.random() < 0.8 else None
            subject, body = rng.choice(MESSAGES[topic])
            body = body.format(programme=programme.name if programme else "l'émission")
            age = now - at
            if age > timedelta(days=40):
                status = Status.CLOSED if rng.random() < 0.85 else Status.RESOLVED
            elif age > timedelta(days=7):
                status = rng.choice(
                    [
                        Status.RESOLVED,
                        Status.RESOLVED,
                        Status.IN_PROGRESS,
                        Status.WAITING_VIEWER,
                        Status.CLOSED,
                    ]
                )
            else:
                status = rng.choice(
                    [
                        Status.TRIAGED,
                        Status.TRIAGED,
                        Status.IN_PROGRESS,
                        Status.RESOLVED,
                        Status.WAITING_INTERNAL,
                    ]
                )
            if level == 3:
                team = "mediator-news" if topic == Topic.EDITORIAL_NEWS else "mediator-programmes"
            elif level == 2:
                team = f"srt-{nat.code}"
            else:
                team = "n1-call-centre"
            resolved = status in {Status.RESOLVED, Status.CLOSED}
            due_days = {1: 5, 2: 20, 3: 35}[level]
            resolved_at = (
                at + timedelta(hours=rng.uniform(0.05, 24 * due_days * 1.3)) if resolved else None
            )
            if resolved_at and resolved_at > now:
                resolved_at = now
            answered_at = (at + (resolved_at - at) / 2) if resolved_at else None
            year = timezone.localtime(at).year
            if topic in {Topic.PRAISE, Topic.PROGRAMME_INFO, Topic.PROGRAMME_REQUEST}:
                priority = Priority.LOW
            elif level == 3 and rng.random() < 0.3:
                priority = Priority.HIGH
            else:
                priority = Priority.NORMAL
            due = at + timedelta(days=due_days * 1.4)
            breached = (resolved_at or now) > due
            ticket_rows.append(
                {
                    "reference": format_reference(year=year, number=next(numbers[year])),
                    "brand_id": brand.pk,
                    "programme_id": programme.pk if programme else None,
                    "viewer_id": rng.choice(viewer_ids),
                    "subject": subject,
                    "channel": channel,
                    "topic": topic,
                    "level": level,
                    "team_id": teams.get(team),
                    "status": status,
                    "priority": priority,
                    "assignee_id": rng.choice(staff)
                    if staff and status == Status.IN_PROGRESS
                    else None,
                    "tags": [],
                    "created_at": at,
                    "updated_at": resolved_at or at,
                    "last_inbound_at": at,
                    "triaged_at": at + timedelta(seconds=2),
                    "triage_explanation": f"Démo — sujet « {topic.label} », niveau {level}",
                    "triage_decision": {"level": level, "topic": topic, "source": "demo"},
                    "triage_policy_version": "demo",
                    "first_response_due_at": at + timedelta(days=2),
                    "resolution_due_at": due,
                    "first_responded_at": answered_at,
                    "level_first_responded_at": answered_at,
                    "sla_state": SlaState.BREACHED if breached else SlaState.OK,
                    "resolved_at": resolved_at,
                    "closed_at": min(resolved_at + timedelta(days=7), now)
                    if status == Status.CLOSED
                    else None,
                    "outcome": Outcome.ANSWERED if resolved else "",
                    "version": 1,
                }
            )
            specs.append((body, resolved_at))
        position += n
        with transaction.atomic():
            ids = writer.insert(Ticket, ticket_rows)
            contacts = []
            for pk, row, (body, resolved_at) in zip(ids, ticket_rows, specs, strict=True):
                contacts.append(
                    {
                        "ticket_id": pk,
                        "viewer_id": row["viewer_id"],
                        "channel": row["channel"],
                        "direction": Direction.INBOUND,
                        "occurred_at": row["created_at"],
                        "subject": row["subject"],
                        "body_text": body,
                        "meta": {"demo": True},
                        "created_at": row["created_at"],
                    }
                )
                if resolved_at is not None and row["channel"] != Channel.PHONE:
                    letter = row["channel"] == Channel.LETTER
                    contacts.append(
                        {
                            "ticket_id": pk,
                            "viewer_id": row["viewer_id"],
                            "channel": Channel.LETTER if letter else Channel.EMAIL,
                            "direction": Direction.OUTBOUND,
                            "occurred_at": resolved_at,
                            "subject": f"[{row['reference']}] {row['subject']}",
                            "body_text": reply_body,
                            "delivery_status": DeliveryStatus.POSTED
                            if letter
                            else DeliveryStatus.SENT,
                            "meta": {"demo": True},
                            "created_at": resolved_at,
                        }
                    )
            writer.insert(Contact, contacts)
        report.tickets += n
        report.contacts += len(contacts)
        progress(f"tickets {report.tickets}/{tickets}")
    return report
