"""Realistic French viewer mail for the fault-injection bursts: RFC 5322 bytes as a mail server
hands them to `ingest_email` (headers encoded, UTF-8 bodies, a few attachments), written to
files.

A burst (`burst`) is made of new requests (a few senders write more than once, staying well
under the flood limit), answers to tickets opened before the burst (`warm_up`, so that they
thread whatever order the faults leave), and redeliveries: the same bytes handed over a second
time, as a mail server does when it is not sure the first delivery was kept.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, make_msgid
from pathlib import Path

from django.utils import timezone

FIRST = [
    "Jeanne", "Paul", "Camille", "Louis", "Nadia", "Hugo", "Léa", "Yann", "Maëlle", "René",
    "Françoise", "Jérôme", "Hélène", "Gaëtan", "Inès", "Benoît", "Chloé", "Étienne", "Zoé", "Noël",
]  # fmt: skip
LAST = [
    "Martin", "Le Gall", "Dubois", "Nguyen", "Girard", "Kerbrat", "Moreau", "Benali", "Lefèvre",
    "Rousseau", "Caron", "Da Silva", "Bréhaut", "Pérez", "Leclerc", "Hamon", "Faure", "Aubert",
]  # fmt: skip
DOMAINS = ["orange.fr", "free.fr", "laposte.net", "sfr.fr", "wanadoo.fr", "gmail.com", "yahoo.fr"]

# (subject, first sentence): the topics viewers write about, with the words triage rules read.
TOPICS = [
    ("Sous-titres absents", "les sous-titres pour sourds et malentendants ont disparu hier soir"),
    ("Horaire de rediffusion", "je voudrais savoir quand sera rediffusé le magazine de dimanche"),
    ("Coupure du match", "le match a été coupé avant la fin, c'est inadmissible"),
    ("Merci !", "merci pour ce très beau documentaire sur la Bretagne"),
    ("Réception TNT", "depuis mardi je ne reçois plus France 3 Bretagne sur la TNT"),
    ("Journal de 20 h", "le reportage sur la manifestation manquait d'impartialité"),
    ("Replay indisponible", "l'épisode de jeudi n'est pas disponible en replay sur france.tv"),
    ("Audiodescription", "l'audiodescription du film de mardi n'a pas fonctionné"),
    ("Participation à une émission", "je souhaiterais participer au jeu de l'après-midi"),
    ("Réclamation", "votre réponse ne me satisfait pas : je souhaite saisir le médiateur"),
]
CLOSINGS = ["Cordialement", "Bien à vous", "Salutations distinguées", "Merci d'avance"]


@dataclass
class Mail:
    """One message of a burst: its file, its Message-ID (as the intake stores it, without the
    angle brackets) and what it is."""

    path: Path
    message_id: str
    kind: str  # "new" (opens a ticket), "answer" (threads onto a warm-up ticket)
    sender: tuple[str, str] = ("", "")  # (name, address)
    answers: str = ""  # the Message-ID it answers


@dataclass
class Burst:
    mails: list[Mail] = field(default_factory=list)  # distinct messages, in delivery order
    redeliveries: list[Path] = field(default_factory=list)  # copies of some of them

    @property
    def new_requests(self) -> int:
        return sum(1 for m in self.mails if m.kind == "new")


def _render(
    *,
    rng: random.Random,
    sender: tuple[str, str],
    to: str,
    subject: str,
    text: str,
    answers: str = "",
    attach: bool = False,
) -> tuple[bytes, str]:
    msg = EmailMessage()
    name, address = sender
    domain = address.rsplit("@", 1)[1]
    message_id = make_msgid(idstring=uuid.uuid4().hex[:12], domain=domain)
    msg["From"] = formataddr((name, address))
    msg["To"] = to
    msg["Subject"] = f"RE: {subject}" if answers else subject
    msg["Date"] = format_datetime(timezone.now() - timedelta(seconds=rng.randint(5, 600)))
    msg["Message-ID"] = message_id
    msg["MIME-Version"] = "1.0"
    if answers:
        msg["In-Reply-To"] = f"<{answers}>"
        msg["References"] = f"<{answers}>"
    closing = rng.choice(CLOSINGS)
    body = f"Bonjour,\n\n{text[0].upper()}{text[1:]}.\n"
    if answers:
        body += "Je me permets de vous relancer : je n'ai toujours pas de nouvelles.\n"
    else:
        body += "Pourriez-vous me répondre ? C'est la première fois que je vous écris.\n"
    body += f"\n{closing},\n{name}\n"
    msg.set_content(body, charset="utf-8")
    if attach:
        msg.add_attachment(
            b"%PDF-1.4\n% capture d'ecran\n%%EOF\n",
            maintype="application",
            subtype="pdf",
            filename="capture-écran.pdf",
        )
    return msg.as_bytes(), message_id.strip("<>")


def _sender(rng: random.Random, i: int) -> tuple[str, str]:
    first, last = rng.choice(FIRST), rng.choice(LAST)
    local = f"{first}.{last}".lower().replace(" ", "-")
    local = local.encode("ascii", "ignore").decode() or "telespectateur"
    return f"{first} {last}", f"{local}.{i}@{rng.choice(DOMAINS)}"


def warm_up(folder: Path, *, count: int, brands: list[str], seed: int) -> list[Mail]:
    """`count` requests taken in before the burst (no fault yet): the tickets the burst's
    answers thread onto."""
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    mails = []
    for i in range(count):
        subject, text = rng.choice(TOPICS)
        sender = _sender(rng, 100_000 + i)
        raw, mid = _render(
            rng=rng, sender=sender, to=rng.choice(brands), subject=subject, text=text
        )
        path = folder / f"avant-{i:05d}.eml"
        path.write_bytes(raw)
        mails.append(Mail(path=path, message_id=mid, kind="new", sender=sender))
    return mails


def burst(folder: Path, *, count: int, brands: list[str], answered: list[Mail], seed: int) -> Burst:
    """`count` distinct messages: about 90 % new requests (one sender in ten writes two or three
    of them), 10 % answers to the `answered` messages, one in twenty with a small PDF; plus a
    redelivery of one message in twenty."""
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    result = Burst()
    senders: list[tuple[str, str]] = []
    for i in range(count):
        if answered and rng.random() < 0.10:
            parent = rng.choice(answered)
            subject, text = rng.choice(TOPICS)
            sender = parent.sender  # the viewer follows up on their own request
            raw, mid = _render(
                rng=rng,
                sender=sender,
                to=rng.choice(brands),
                subject=subject,
                text=text,
                answers=parent.message_id,
            )
            mail_kind, answers = "answer", parent.message_id
        else:
            if senders and rng.random() < 0.10:
                sender = rng.choice(senders)  # at most a few per sender: far below the flood limit
            else:
                sender = _sender(rng, i)
                senders.append(sender)
            subject, text = rng.choice(TOPICS)
            raw, mid = _render(
                rng=rng,
                sender=sender,
                to=rng.choice(brands),
                subject=subject,
                text=text,
                attach=rng.random() < 0.05,
            )
            mail_kind, answers = "new", ""
        path = folder / f"courriel-{i:05d}.eml"
        path.write_bytes(raw)
        result.mails.append(
            Mail(path=path, message_id=mid, kind=mail_kind, sender=sender, answers=answers)
        )
    for mail in rng.sample(result.mails, k=max(1, count // 20)):
        copy = mail.path.with_name(mail.path.stem + "-redelivered.eml")
        copy.write_bytes(mail.path.read_bytes())
        result.redeliveries.append(copy)
    return result
