"""End to end, in headless Chromium: the staff workspace.

An agent takes the next ticket, answers with a template (the email reaches a real SMTP server
on loopback with its threading headers) and the viewer's answer threads back; two agents on
one ticket see each other and the second reply is refused; an SRT officer escalates to a
mediator while an agent is refused a level-2 ticket; a letter reply becomes a PDF with the
viewer's address; a survey link records one answer and refuses a second.

Elements are found by id, name and URL rather than by their (translated) text. Screenshots
land in var/screenshots/workspace-*.png.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from accounts.models import Role
from contacts.models import Attachment, Contact, Direction, Status, Ticket
from contacts.services import viewer_refresh_search_text
from satisfaction.models import Survey
from tests.factories import TicketFactory, UserFactory, ViewerFactory, brand
from tests.markers import requires_chromium
from tests.workspace.helpers import consent, join, team

from .conftest import SHOTS, shot

pytestmark = [
    pytest.mark.e2e,
    requires_chromium,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


@pytest.fixture(autouse=True)
def _env(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.TRIAGE_TASK = ""
    from contacts.services import email_intake

    email_intake._CACHE.clear()


def viewer(**kw):
    defaults = dict(
        civility="Mme",
        first_name="Hélène",
        last_name="Lefèvre",
        address_line1="12 rue des Écoles",
        postcode="29150",
        city="Châteaulin",
        email="helene.lefevre@example.fr",
    )
    defaults.update(kw)
    v = ViewerFactory(**defaults)
    viewer_refresh_search_text(viewer=v)
    return v


def queued(*, level=1, code="n1-call-centre", channel="email", body="", **kw):
    v = kw.pop("viewer", None) or viewer()
    ticket = TicketFactory(
        level=level,
        team=team(code),
        brand=brand(kw.pop("brand_code", "france2")),
        viewer=v,
        channel=channel,
        topic=kw.pop("topic", "programme_info"),
        status=Status.TRIAGED,
        subject=kw.pop("subject", "Rediffusion du documentaire sur les phares bretons"),
        triage_explanation="Règle « programme_info » : question sur une diffusion, niveau 1.",
        first_response_due_at=timezone.now() + timedelta(days=2),
        resolution_due_at=timezone.now() + timedelta(days=5),
        created_at=timezone.now() - timedelta(hours=2),
        **kw,
    )
    Contact.objects.create(
        ticket=ticket,
        viewer=v,
        channel=channel,
        direction=Direction.INBOUND,
        subject=ticket.subject,
        body_text=body
        or "Bonjour,\nJ'ai manqué le documentaire sur les phares bretons mardi soir. "
        "Sera-t-il rediffusé ?\nMerci,\nHélène Lefèvre",
        body_html=""
        if channel != "email"
        else "<p>Bonjour,</p><p>J'ai manqué le documentaire "
        "sur les <b>phares bretons</b> mardi soir. Sera-t-il rediffusé ?</p>"
        "<p>Merci,<br>Hélène Lefèvre</p>",
        sender_address=v.emails.first().email if channel == "email" else "",
        message_id=f"viewer-{ticket.reference}@orange.fr" if channel == "email" else None,
        occurred_at=ticket.created_at,
    )
    return ticket


def wait_for_value(page, selector, needle):
    page.wait_for_function(
        "([s, n]) => document.querySelector(s) && document.querySelector(s).value.includes(n)",
        arg=[selector, needle],
    )


def test_agent_takes_next_answers_with_a_template_and_the_answer_threads_back(
    new_page, live_server, smtp_server, agent, tmp_path
):
    join(agent, "n1-call-centre")
    ticket = queued()
    queued(subject="Autre demande moins urgente", priority="low")
    page = new_page(agent)

    page.goto(f"{live_server.url}/queue/")
    shot(page, "workspace-01-queue")
    page.click("form[action$='/queue/take-next/'] button[type=submit]")
    page.wait_for_url(re.compile(r"/tickets/\d+/$"))
    assert page.url.endswith(f"/tickets/{ticket.pk}/")
    page.wait_for_selector("#presence", state="attached")
    shot(page, "workspace-02-ticket-taken")

    # Keyboard: ? shows the shortcuts, Esc closes them, t goes to the template search.
    page.locator("body").click(position={"x": 5, "y": 300})
    page.keyboard.press("?")
    page.wait_for_selector("#ws-help:not([hidden])")
    shot(page, "workspace-03-shortcuts-help")
    page.keyboard.press("Escape")
    page.wait_for_selector("#ws-help", state="hidden")
    page.keyboard.press("t")
    assert page.evaluate("document.activeElement.id") == "tpl-q"
    page.keyboard.type("rediffusion")
    page.wait_for_selector("#tpl-results .tpl-choice")
    page.locator("#tpl-results .tpl-choice").first.click()
    wait_for_value(page, "#reply-body", "Madame,")
    page.wait_for_selector("#reply-preview .preview")
    body = page.input_value("#reply-body")
    assert "phares" not in body and ticket.reference not in page.input_value("#reply-subject")
    page.fill(
        "#reply-body",
        body.replace("Vous nous interrogez", "Merci de votre message. Vous nous interrogez"),
    )
    page.click("#reply-preview-button")
    page.wait_for_selector("#reply-preview .mail-head")
    shot(page, "workspace-04-reply-preview")
    page.click("#reply-send")
    page.wait_for_load_state()

    messages = smtp_server.wait_for(1)
    sent = messages[0]
    contact = Contact.objects.get(ticket=ticket, direction=Direction.OUTBOUND)
    inbound = Contact.objects.get(ticket=ticket, direction=Direction.INBOUND)
    assert sent["Message-ID"] == f"<{contact.message_id}>"
    assert sent["In-Reply-To"] == f"<{inbound.message_id}>"
    assert f"<{inbound.message_id}>" in sent["References"]
    assert f"[{ticket.reference}]" in sent["Subject"]
    assert sent["To"] == "helene.lefevre@example.fr"
    assert "relations.telespectateurs@france2" in sent["From"]
    assert "Merci de votre message" in sent.get_body(("plain",)).get_content()
    contact.refresh_from_db()
    assert contact.delivery_status == "sent" and contact.meta.get("template")
    shot(page, "workspace-05-reply-sent")

    # The viewer answers our mail: the intake threads it onto the ticket.
    raw = tmp_path / "answer.eml"
    raw.write_bytes(
        (
            "From: Helene Lefevre <helene.lefevre@example.fr>\r\n"
            "To: relations.telespectateurs@france2.example.fr\r\n"
            f"Subject: Re: {contact.subject}\r\n"
            "Message-ID: <answer-e2e-1@orange.fr>\r\n"
            f"In-Reply-To: {sent['Message-ID']}\r\n"
            f"References: {sent['References']} {sent['Message-ID']}\r\n"
            "Date: Thu, 26 Nov 2026 10:00:00 +0100\r\n"
            "MIME-Version: 1.0\r\n"
            "Content-Type: text/plain; charset=utf-8\r\n"
            "Content-Transfer-Encoding: 8bit\r\n\r\n"
            "Merci beaucoup, je regarderai jeudi !\r\n"
        ).encode()
    )
    call_command("ingest_email", str(raw), "--json")
    answer = Contact.objects.get(message_id="answer-e2e-1@orange.fr")
    assert answer.ticket_id == ticket.pk
    page.goto(f"{live_server.url}/tickets/{ticket.pk}/")
    page.wait_for_selector(f"#contact-{answer.pk}")
    page.locator(f"#contact-{answer.pk}").scroll_into_view_if_needed()
    assert "je regarderai jeudi" in page.inner_text(f"#contact-{answer.pk}")
    shot(page, "workspace-06-answer-threaded")


def test_two_agents_on_one_ticket_see_each_other_and_the_second_reply_is_refused(
    new_page, live_server, smtp_server, agent
):
    other = UserFactory(
        username="agent2",
        first_name="Yanis",
        last_name="Benali",
        role=Role.AGENT,
        brands=["france2"],
    )
    ticket = queued()
    first = new_page(agent)
    second = new_page(other)
    first.goto(f"{live_server.url}/tickets/{ticket.pk}/")
    second.goto(f"{live_server.url}/tickets/{ticket.pk}/")
    second.wait_for_selector("#presence .presence")
    first.reload()
    first.wait_for_selector("#presence .presence")
    assert "Benali" in first.inner_text("#presence")
    assert "Martin" in second.inner_text("#presence")
    shot(second, "workspace-07-presence")

    for p, text in ((first, "Réponse de la première agente."), (second, "Réponse en double.")):
        p.fill("#reply-body", text)
    first.click("#reply-send")
    first.wait_for_load_state()
    smtp_server.wait_for(1)
    second.click("#reply-send")
    second.wait_for_selector("#stale")
    assert second.input_value("#reply-body") == "Réponse en double."
    shot(second, "workspace-08-stale-reply-refused")
    assert Contact.objects.filter(ticket=ticket, direction=Direction.OUTBOUND).count() == 1
    assert len(smtp_server.messages) == 1


def test_srt_escalates_to_a_mediator_and_an_agent_is_refused_a_level_two_ticket(
    new_page, live_server, srt, agent
):
    ticket = queued(
        level=2,
        code="srt-france2",
        topic="editorial_programmes",
        subject="Scène choquante dans la série de 21 h",
    )
    page = new_page(srt)
    page.goto(f"{live_server.url}/tickets/{ticket.pk}/")
    page.locator("body").click(position={"x": 5, "y": 300})
    page.keyboard.press("e")
    assert page.evaluate("document.activeElement.id") == "escalate-reason"
    page.keyboard.type("Contestation éditoriale : relève du médiateur des programmes.")
    shot(page, "workspace-09-escalate")
    page.click("#escalate form button[type=submit]")
    page.wait_for_load_state()
    ticket.refresh_from_db()
    assert ticket.level == 3 and ticket.team.code.startswith("mediator-")
    shot(page, "workspace-10-escalated")

    level2 = queued(level=2, code="srt-france2", subject="Demande de niveau deux")
    agent_page = new_page(agent)
    response = agent_page.goto(f"{live_server.url}/tickets/{level2.pk}/")
    assert response.status == 404
    assert "Demande de niveau deux" not in agent_page.content()
    shot(agent_page, "workspace-11-agent-refused-level-2")


@pytest.mark.skipif(not shutil.which("pdftotext"), reason="needs service: pdftotext (poppler)")
def test_letter_reply_produces_a_pdf_with_the_viewers_address(
    new_page, live_server, agent, mailroom, tmp_path
):
    ticket = queued(
        channel="letter",
        topic="programme_request",
        subject="Courrier : demande de rediffusion de Thalassa",
        body="Madame, Monsieur, je souhaiterais revoir Thalassa. Respectueusement.",
    )
    page = new_page(agent)
    page.goto(f"{live_server.url}/tickets/{ticket.pk}/")
    assert page.is_checked("input[name=channel][value=letter]")
    page.fill("#tpl-q", "courrier")
    page.wait_for_selector("#tpl-results .tpl-choice")
    page.locator("#tpl-results .tpl-choice", has_text="Réponse par courrier").click()
    wait_for_value(page, "#reply-body", "[Votre réponse ici]")
    page.fill(
        "#reply-body",
        page.input_value("#reply-body").replace(
            "[Votre réponse ici]",
            "Votre souhait de revoir Thalassa a été transmis à la programmation de France 2.",
        ),
    )
    page.click("#reply-preview-button")
    page.wait_for_selector("#reply-preview iframe.letter-preview")
    page.wait_for_timeout(300)
    shot(page, "workspace-12-letter-preview")
    page.click("#reply-send")
    page.wait_for_load_state()
    contact = Contact.objects.get(ticket=ticket, direction=Direction.OUTBOUND)
    assert contact.channel == "letter" and contact.delivery_status == "to_print"
    pdf = Attachment.objects.get(pk=contact.meta["letter_attachment"])
    path = tmp_path / "letter.pdf"
    path.write_bytes(pdf.file.read())
    text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True).stdout
    assert "12 rue des Écoles" in text and "29150 CHÂTEAULIN" in text
    assert "Madame Hélène Lefèvre" in text and "Thalassa" in text
    if shutil.which("pdftoppm"):
        subprocess.run(
            [
                "pdftoppm",
                "-png",
                "-r",
                "70",
                "-f",
                "1",
                "-l",
                "1",
                str(path),
                str(SHOTS / "workspace-13-letter-pdf"),
            ],
            check=True,
        )
    shot(page, "workspace-14-letter-on-ticket")

    room = new_page(mailroom)
    room.goto(f"{live_server.url}/letters/")
    shot(room, "workspace-15-letters-to-print")
    room.click("form[action$='/letters/batches/'] button[type=submit]")
    room.wait_for_url(re.compile(r"/letters/batches/\d+/$"))
    room.wait_for_selector("a[href$='/pdf/']")
    shot(room, "workspace-16-print-batch")
    contact.refresh_from_db()
    assert contact.delivery_status == "printed"


def test_survey_link_records_one_answer_and_refuses_a_second(
    new_page, live_server, smtp_server, agent
):
    ticket = queued()
    consent(ticket.viewer, kind="survey", granted=True)  # surveys go to consenting viewers only
    page = new_page(agent)
    page.goto(f"{live_server.url}/tickets/{ticket.pk}/")
    page.click("#resolve summary")
    page.select_option("#resolve-outcome", "information_given")
    page.click("#resolve form button[type=submit]")
    page.wait_for_load_state()
    assert Ticket.objects.get(pk=ticket.pk).status == Status.RESOLVED
    mail = smtp_server.wait_for(1)[0]
    link = re.search(r"https?://\S+/satisfaction/\S+/", mail.get_body(("plain",)).get_content())
    path = link.group(0).split("/satisfaction/", 1)[1]
    viewer_page = new_page(width=420, height=800)  # a phone, no login
    viewer_page.goto(f"{live_server.url}/satisfaction/{path}")
    viewer_page.check("input[name=score][value='4']")
    viewer_page.fill("#id_comment", "Réponse rapide et claire.")
    shot(viewer_page, "workspace-17-survey")
    viewer_page.click("form button[type=submit]")
    viewer_page.wait_for_load_state()
    shot(viewer_page, "workspace-18-survey-thanks")
    survey = Survey.objects.get(ticket=ticket)
    assert survey.score == 4 and survey.comment == "Réponse rapide et claire."
    again = viewer_page.goto(f"{live_server.url}/satisfaction/{path}")
    assert again.status == 409
    assert viewer_page.locator("input[name=score]").count() == 0
    shot(viewer_page, "workspace-19-survey-already-answered")


def test_viewer_search_and_page(new_page, live_server, srt):
    ticket = queued(level=2, code="srt-france2")
    queued(level=2, code="srt-france2", viewer=ticket.viewer, subject="Seconde demande")
    page = new_page(srt)
    page.goto(f"{live_server.url}/viewers/")
    page.fill("#viewer-q", "lefevre chateaulin")
    page.wait_for_selector("#viewer-results tbody tr")
    shot(page, "workspace-20-viewer-search")
    page.keyboard.press("Escape")  # leave the search field: shortcuts work again
    page.keyboard.press("j")
    page.keyboard.press("o")
    page.wait_for_url(re.compile(r"/viewers/\d+/$"))
    assert ticket.reference in page.content()
    shot(page, "workspace-21-viewer-page")


def test_srt_edits_a_response_template_and_a_new_version_is_kept(new_page, live_server, srt):
    from replies.models import ResponseTemplate

    template = ResponseTemplate.objects.get(title="Réception TNT : premiers conseils")
    page = new_page(srt)
    page.goto(f"{live_server.url}/templates/")
    page.fill("#tpl-list-q", "tnt")
    page.press("#tpl-list-q", "Enter")
    page.wait_for_load_state()
    shot(page, "workspace-22-templates")
    page.click(f"a[href$='/templates/{template.pk}/']")
    page.wait_for_load_state()
    page.fill("#id_body", page.input_value("#id_body") + "\n\nPS : pensez à vérifier l'antenne.")
    shot(page, "workspace-23-template-edit")
    page.click("form.form-grid button[type=submit]")
    page.wait_for_url(re.compile(r"/templates/$"))
    template.refresh_from_db()
    assert template.version == 2 and template.updated_by == srt
    assert list(template.versions.values_list("version", flat=True)) == [2, 1]
