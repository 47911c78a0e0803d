"""Parser of inbound viewers' mail: what staff and the intake see for real-world messages.

The corpus in `emails/` was written for these tests (invented viewers and addresses); each file
reproduces one way real mail arrives. No Django here: the parser must not need settings.
"""

import sysconfig
from datetime import UTC, datetime
from pathlib import Path

import pytest

from contacts.channels import email as email_parser
from contacts.channels.email import (
    EmailParseError,
    ParsedEmail,
    html_to_text,
    parse_email,
    quote_strip,
    sanitize_html,
)

EMAILS = Path(__file__).parent / "emails"
OWN = frozenset({"relations.telespectateurs@france2.fr", "relations.telespectateurs@france3.fr"})
STDLIB_MESSAGES = Path(sysconfig.get_paths()["stdlib"]) / "test" / "test_email" / "data"


def parse(name: str, **options: object) -> ParsedEmail:
    return parse_email((EMAILS / name).read_bytes(), **options)


# ------------------------------------------------------------------------------ charsets


def test_plain_utf8_message_reads_as_written():
    mail = parse("plain_utf8.eml")

    assert mail.subject == "Sous-titres absents pendant le journal de 20 h"
    # format=flowed soft breaks are joined back into the sentence the viewer typed
    assert "les sous-titres pour les sourds et malentendants ont disparu" in mail.body_text
    assert "la séquence sur la réforme des retraites" in mail.body_text
    assert "bonne journée à toute l'équipe" in mail.body_text
    assert mail.from_email == "jeanne.martin@orange.fr"
    assert mail.from_name == "Jeanne Martin"
    assert mail.to == ["relations.telespectateurs@france2.fr"]
    assert mail.message_id == "5f1c2a9e-7d44-4b1e-9c2d-0a8b7e3f2c11@orange.fr"
    assert mail.date == datetime(2026, 3, 3, 8, 41, 7, tzinfo=UTC)
    assert mail.body_html == ""
    assert mail.warnings == []


def test_iso_8859_1_quoted_printable_with_b_encoded_subject():
    mail = parse("latin1_qp.eml")

    assert mail.subject == "Musique de l'émission « Des racines et des ailes »"
    assert mail.from_name == "François Lefèvre"
    assert "la Côte d'Opale était très réussi" in mail.body_text
    assert "le générique de fin a été coupé" in mail.body_text


def test_windows_1252_text_labelled_iso_8859_1_keeps_quotes_euro_and_oe():
    mail = parse("cp1252_mislabelled.eml")

    assert "J’ai payé ma contribution à l’audiovisuel public" in mail.body_text
    assert "Le cœur de\nl’émission" in mail.body_text
    assert "Pour 138 € par an" in mail.body_text
    assert "pour un match…" in mail.body_text
    # the raw latin-1 byte in the unencoded subject is read too
    assert mail.subject == "Thalassa coupée pour du sport"
    assert any("windows-1252" in warning for warning in mail.warnings)


def test_utf8_text_labelled_iso_8859_1_is_not_garbled():
    mail = parse("utf8_mislabelled_latin1.eml")

    assert "Où peut-on revoir l'émission de vendredi dernier" in mail.body_text
    assert "Ã" not in mail.body_text
    assert mail.subject == "La Maison France 5 émission du vendredi"
    assert any("UTF-8" in warning for warning in mail.warnings)


def test_base64_body_and_b_encoded_headers():
    mail = parse("base64_body.eml")

    assert mail.subject == "Candidature à « Questions pour un champion »"
    assert mail.from_name == "Hélène Girard"
    assert "des sélections en région (je suis à Besançon) ?" in mail.body_text


def test_broken_encoded_words_still_give_the_subject_and_name():
    # Multi-byte characters split across words, missing padding and closing "?=", a word
    # glued to the name: what careless mailers really send.
    mail = parse("rfc2047_broken.eml")

    assert mail.subject == "Réclamation : coupure pendant « Télématin »"
    assert mail.from_name == "Pierre Nguyễn"
    assert "l'image a gelé trois fois pendant Télématin" in mail.body_text


def test_unknown_charset_name_falls_back_and_is_reported():
    mail = parse("unknown_charset.eml")

    assert mail.subject == "Problème de son"
    assert "Le son est décalé d'une seconde" in mail.body_text
    assert any("x-user-latin-9000" in warning for warning in mail.warnings)


@pytest.mark.parametrize(
    ("content_type", "body", "expected"),
    [
        ('text/plain; charset="zlib"', "Réponse".encode(), "Réponse"),
        ("text/plain; charset=utf-8", b"R\xe9ponse d\xe9finitive", "Réponse définitive"),
        ("text/plain; charset=us-ascii", b"Pr\xe9sentatrice", "Présentatrice"),
        ('text/plain; charset="utf-8\\"', "déjà".encode(), "déjà"),
        ("text/plain", "naïf".encode(), "naïf"),
    ],
)
def test_bad_charset_declarations_never_crash(content_type, body, expected):
    raw = b"From: a.viewer@orange.fr\nContent-Type: " + content_type.encode() + b"\n\n" + body
    assert parse_email(raw).body_text == expected


# ------------------------------------------------------------------------------ HTML


def test_html_only_mail_becomes_readable_text():
    mail = parse("html_only.eml")

    text = mail.body_text
    assert text.startswith("Bonjour,")
    assert "J’ai regardé le numéro d’Envoyé spécial de jeudi." in text
    assert "- le son des interviews était trop faible ;\n- les chiffres cités" in text
    assert "le rapport de l’Insee (https://www.insee.fr/fr/statistiques/1234567)" in text
    assert "Cordialement,\nClaire Roussel" in text
    assert "document.cookie" not in text
    assert "color: red" not in text
    assert "Yahoo Mail" not in text  # the <title>


def test_html_is_sanitised_and_remote_images_blocked():
    mail = parse("html_only.eml")

    html = mail.body_html
    assert "<script" not in html
    assert "document.cookie" not in html
    assert "onload" not in html
    assert "onclick" not in html
    assert "pixel.gif" not in html
    assert "images.example.com" not in html
    assert mail.remote_images_blocked == 2
    assert '<a href="https://www.insee.fr/fr/statistiques/1234567"' in html
    assert "<b>Envoyé spécial</b>" in html


def test_alternative_prefers_plain_text_and_keeps_inline_cid_image():
    mail = parse("alternative_related_inline.eml")

    assert mail.subject == "Capture d'écran : bandeau erroné sur France 3 Bretagne"
    assert "le bandeau indiquait « Quimper » sous\nl'interview du maire de Brest" in mail.body_text
    assert 'src="cid:image001.png@01DC9134.5A0E1F20"' in mail.body_html
    assert "tracker.example" not in mail.body_html  # CSS background-image
    assert mail.remote_images_blocked == 0
    [image] = mail.attachments
    assert image.filename == "image001.png"
    assert image.content_type == "image/png"
    assert image.is_inline
    assert image.content_id == "image001.png@01DC9134.5A0E1F20"
    assert image.payload.startswith(b"\x89PNG")
    assert image.size == len(image.payload) == 69


def test_html_to_text_lists_breaks_entities_and_links():
    text = html_to_text(
        "<style>p{}</style><h1>Titre</h1><p>Ligne&nbsp;1<br>Ligne 2</p>"
        "<ol><li>un</li><li>deux <a href='https://france.tv/x'>ici</a></li></ol>"
        "<p><a href='mailto:a@b.fr'>a@b.fr</a> &amp; &#233;t&eacute;</p><script>x()</script>"
    )
    assert text == (
        "Titre\n\nLigne 1\nLigne 2\n\n1. un\n2. deux ici (https://france.tv/x)\n\na@b.fr & été"
    )


def test_sanitize_html_drops_dangerous_links_and_keeps_local_images():
    html = sanitize_html(
        '<a href="javascript:alert(1)">x</a><a href="data:text/html;base64,AAAA">y</a>'
        '<img src="cid:logo@x"><img src="//cdn.example.com/a.png"><iframe src="https://x"></iframe>'
        '<p style="color: red; background: url(https://t.example/p.gif)">z</p>'
        '<a href="/admin/tickets/1/delete">relative</a>'
    )
    assert "javascript" not in html
    assert "data:text/html" not in html
    assert 'src="cid:logo@x"' in html
    assert "cdn.example.com" not in html
    assert "iframe" not in html
    assert "t.example" not in html
    assert "color:red" in html
    assert "/admin/" not in html  # would resolve against the CRM once displayed there


# ------------------------------------------------------------------------------ attachments


def test_pdf_and_jpeg_attachments_with_safe_names():
    mail = parse("attachments_pdf_jpeg.eml")

    pdf, jpeg = mail.attachments
    # RFC 2231 name carrying a Windows path: only the file name is kept
    assert pdf.filename == "récépissé préfecture.pdf"
    assert pdf.content_type == "application/pdf"
    assert pdf.payload.startswith(b"%PDF-1.4")
    assert pdf.size == 218
    assert not pdf.is_inline
    # "../../" in the name must never reach a storage path
    assert jpeg.filename == "local association.jpg"
    assert jpeg.content_type == "image/jpeg"
    assert jpeg.payload.startswith(b"\xff\xd8") and jpeg.payload.endswith(b"\xff\xd9")
    assert jpeg.size == 2070
    assert "le récépissé de la préfecture" in mail.body_text
    assert mail.skipped_attachments == []


def test_oversize_attachment_is_skipped_but_reported():
    mail = parse("oversize_attachment.eml", max_attachment_bytes=50_000)

    assert mail.attachments == []
    video, program = mail.skipped_attachments
    assert video.filename == "bug-francetv.mp4"
    assert video.content_type == "video/mp4"
    assert video.size == 60_012
    assert video.reason == "too large: 60012 bytes (limit 50000 bytes)"
    assert program.filename == "outil.exe" and program.reason.startswith("dangerous")
    assert "l'appli france.tv plante à chaque pub" in mail.body_text


def test_disallowed_attachment_type_is_skipped_but_reported():
    allowed = frozenset({"image/*", "application/pdf"})
    mail = parse("oversize_attachment.eml", allowed_attachment_types=allowed)

    assert mail.attachments == []
    video, program = mail.skipped_attachments
    assert video.reason == "type not allowed: video/mp4"
    assert program.filename == "outil.exe" and program.size == 502
    assert program.reason.startswith("dangerous")


def _with_parts(*parts: tuple[str, str, bytes]) -> bytes:
    """A message from Jeanne with these (content type, file name, bytes) attachments."""
    import base64

    boundary = "b-parts-1"
    head = (
        "From: Jeanne Martin <jeanne.martin@orange.fr>\r\n"
        "To: relations.telespectateurs@france2.fr\r\nSubject: Pieces jointes\r\n"
        "Message-ID: <parts-1@orange.fr>\r\nMIME-Version: 1.0\r\n"
        f'Content-Type: multipart/mixed; boundary="{boundary}"\r\n\r\n'
        f"--{boundary}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nBonjour.\r\n"
    )
    body = ""
    for ctype, name, data in parts:
        body += (
            f"--{boundary}\r\nContent-Type: {ctype}\r\n"
            f'Content-Disposition: attachment; filename="{name}"\r\n'
            "Content-Transfer-Encoding: base64\r\n\r\n"
            + base64.encodebytes(data).decode().replace("\n", "\r\n")
        )
    return (head + body + f"--{boundary}--\r\n").encode()


def test_unusual_types_are_kept_and_only_programs_and_scripts_refused():
    raw = _with_parts(
        ("application/octet-stream", "releve", b"\x00\x01binary"),
        ("application/zip", "photos.zip", b"PK\x03\x04zip"),
        ("text/rtf", "lettre.rtf", b"{\\rtf1 Bonjour}"),
        ("application/pgp-encrypted", "msg.asc", b"-----BEGIN PGP MESSAGE-----"),
        ("application/pgp-signature", "signature.asc", b"-----BEGIN PGP SIGNATURE-----"),
        ("application/x-msdownload", "setup.exe", b"MZ" + b"\x00" * 100),
        ("text/plain", "script.js", b"alert(1)"),
        ("application/octet-stream", "facture.pdf.scr", b"MZ"),
        ("application/octet-stream", "image.png", b"\x7fELF\x02\x01"),
    )
    mail = parse_email(raw)

    assert [a.filename for a in mail.attachments] == [
        "releve",
        "photos.zip",
        "lettre.rtf",
        "msg.asc",
        "signature.asc",
    ]
    refused = {s.filename: s.reason for s in mail.skipped_attachments}
    assert set(refused) == {"setup.exe", "script.js", "facture.pdf.scr", "image.png"}
    assert refused["image.png"] == "dangerous content: a program (ELF)"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("C:\\Users\\marie\\photo.jpg", "photo.jpg"),
        ("../../etc/passwd", "passwd"),
        (".htaccess", "htaccess"),
        ("CON.txt", "_CON.txt"),
        ('a<b>:c"d|e?f*.pdf', "a_b__c_d_e_f_.pdf"),
        ("", "piece-jointe-3.pdf"),
        ("x" * 300 + ".pdf", "x" * 196 + ".pdf"),
    ],
)
def test_attachment_file_names_are_sanitised(name, expected):
    assert email_parser.sanitize_filename(name, content_type="application/pdf", index=3) == expected


def test_oversize_message_is_refused():
    raw = (EMAILS / "plain_utf8.eml").read_bytes()
    huge = raw + b"x" * (25 * 1024 * 1024)

    with pytest.raises(EmailParseError, match=rf"^message too large: {len(huge)} bytes"):
        parse_email(huge)
    with pytest.raises(EmailParseError, match="message too large"):
        parse_email(raw, max_bytes=1000)


# ------------------------------------------------------------------------------ forwards


@pytest.mark.parametrize(
    ("name", "email", "sender_name"),
    [
        ("forward_gmail.eml", "monique.fabre@orange.fr", "Monique Fabre"),
        ("forward_outlook_fr.eml", "jp.leroy@wanadoo.fr", "Jean-Pierre Leroy"),
        ("forward_thunderbird_fr.eml", "bernard.aubry@free.fr", "Bernard Aubry"),
        ("forward_apple_fr.eml", "rene.mercier@orange.fr", "René Mercier"),
        ("forward_as_attachment.eml", "yasmine.haddad@laposte.net", "Yasmine Haddad"),
    ],
)
def test_forwarded_message_names_the_original_viewer(name, email, sender_name):
    mail = parse(name)

    assert mail.forwarded
    assert mail.forwarded_from_email == email
    assert mail.forwarded_from_name == sender_name
    # the forwarder stays the sender of the message itself
    assert mail.from_email != email
    # staff read the original, not just the forwarder's comment
    assert mail.body_text_new == mail.body_text


def test_forward_as_attachment_shows_the_original_text_and_files():
    mail = parse("forward_as_attachment.eml")

    assert mail.body_text.startswith("Ci-joint, pour attribution.")
    assert "Objet : Propos déplacés dans « Quelle époque ! »" in mail.body_text
    # Its text shown quoted, the message itself kept as an .eml with its own files inside.
    assert "> Bonsoir, les propos tenus samedi sur les infirmières m'ont choquée" in mail.body_text
    assert "dans le fichier .eml : capture.jpg" in mail.body_text
    [forwarded] = mail.attachments
    assert forwarded.filename == "Message de Yasmine Haddad.eml"
    assert forwarded.content_type == "message/rfc822"
    assert b"capture.jpg" in forwarded.payload and b"Yasmine" in forwarded.payload
    assert mail.body_html == ""  # a text-only message does not grow an HTML body


ARF = b"""From: Abuse Desk <abuse@orange.fr>
To: relations.telespectateurs@france2.fr
Subject: FW: Votre reponse
Message-ID: <arf-1@orange.fr>
MIME-Version: 1.0
Content-Type: multipart/report; report-type=feedback-report; boundary="arf"

--arf
Content-Type: text/plain; charset=us-ascii

This is an email abuse report for an email message received from IP 192.0.2.1.

--arf
Content-Type: message/feedback-report

Feedback-Type: abuse
User-Agent: OrangeFBL/1.0
Version: 1
Original-Rcpt-To: <annie.leroux@orange.fr>

--arf
Content-Type: message/rfc822
Content-Disposition: inline

From: relations.telespectateurs@france2.fr
To: annie.leroux@orange.fr
Subject: [FTV-2026-000123] Votre demande
Message-ID: <frt-crm.FTV-2026-000123.1742735100.42@relations.france2.fr>

Bonjour Madame, voici notre reponse.
--arf--
""".replace(b"\n", b"\r\n")


def test_an_abuse_report_is_read_as_a_bounce_of_our_mail():
    mail = parse_email(ARF, own_addresses=OWN)

    assert mail.is_bounce and not mail.forwarded
    assert mail.bounced_recipients == ["annie.leroux@orange.fr"]
    assert mail.bounced_message_id == "frt-crm.FTV-2026-000123.1742735100.42@relations.france2.fr"
    assert "abuse report" in mail.bounce_reason


@pytest.mark.parametrize("name", ["plain_utf8.eml", "reply_ticket.eml", "html_only.eml"])
def test_ordinary_messages_are_not_forwards(name):
    mail = parse(name)
    assert not mail.forwarded
    assert mail.forwarded_from_email == ""


# ------------------------------------------------------------------------------ auto-replies


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("ooo_auto_submitted.eml", "Auto-Submitted: auto-generated"),
        ("ooo_subject_only.eml", "out-of-office subject: Absence du bureau"),
        ("x_autoreply.eml", "X-Autoreply: yes"),
        ("precedence_bulk.eml", "Precedence: bulk"),
        ("loop_x_loop.eml", "Auto-Submitted: auto-replied"),
    ],
)
def test_auto_replies_are_flagged_with_a_reason(name, reason):
    mail = parse(name)
    assert mail.is_auto_reply
    assert reason in mail.auto_reason


def test_out_of_office_subject_in_french_outlook():
    mail = parse("ooo_auto_submitted.eml")

    assert "out-of-office subject: Réponse automatique" in mail.auto_reason
    # empty return path: nobody to answer, but the From header is still known
    assert mail.from_email == ""
    assert mail.header_from_email == "martine.colas@ac-rennes.example.fr"
    assert mail.in_reply_to == "frt-crm.FTV-2026-000118.1742400000@relations.france2.fr"


@pytest.mark.parametrize(
    "subject",
    [
        "Re: votre réponse automatique ne répond pas à ma question",
        "Absence de sous-titres sur France 2",
        "Mon père est absent du bureau de vote",
    ],
)
def test_viewers_mentioning_absence_are_not_auto_replies(subject):
    raw = f"From: a.viewer@orange.fr\nSubject: {subject}\nContent-Type: text/plain; charset=utf-8"
    mail = parse_email(raw.encode() + b"\n\nBonjour")
    assert not mail.is_auto_reply


@pytest.mark.parametrize(
    "name",
    ["plain_utf8.eml", "reply_ticket.eml", "html_only.eml", "forward_gmail.eml"],
)
def test_ordinary_messages_are_neither_auto_replies_bounces_nor_loops(name):
    mail = parse(name, own_addresses=OWN)
    assert (mail.is_auto_reply, mail.is_bounce, mail.is_loop) == (False, False, False)


# ------------------------------------------------------------------------------ bounces


def test_dsn_bounce_gives_failed_recipient_and_our_original_message_id():
    mail = parse("dsn_bounce.eml", own_addresses=OWN)

    assert mail.is_bounce
    assert mail.bounced_recipients == ["annie.leroux@orange.fr"]
    assert mail.bounced_message_id == "frt-crm.FTV-2026-000123.1742735100.42@relations.france2.fr"
    assert "User unknown" in mail.bounce_reason
    assert mail.from_email == ""
    # the returned original is ours, not a viewer's forward
    assert not mail.forwarded
    assert "nous avons bien reçu votre message" not in mail.body_text
    assert [a.content_type for a in mail.attachments] == ["message/rfc822"]


def test_dsn_with_rfc822_headers_counts_only_failed_recipients():
    mail = parse("dsn_rfc822_headers.eml")

    assert mail.is_bounce
    assert mail.bounced_recipients == ["b.vasseur@hotmail.fr"]  # the delayed one is not failed
    assert mail.bounced_message_id == "frt-crm.FTV-2026-000131.1742804090.7@relations.france3.fr"
    assert "mailbox full" in mail.bounce_reason


def test_mailer_daemon_bounce_without_delivery_status():
    mail = parse("bounce_nonstandard.eml", own_addresses=OWN)

    assert mail.is_bounce
    assert mail.bounced_recipients == ["paul.girard@example-hebergeur.fr"]
    assert mail.bounced_message_id == "frt-crm.FTV-2026-000140.1742920000.3@relations.france5.fr"
    assert mail.from_email == ""


def test_read_receipt_is_an_auto_reply_not_a_forward():
    raw = (
        b"From: Paul Henry <paul.henry@orange.fr>\nSubject: Lu : [FTV-2026-000200] Votre demande\n"
        b"Content-Type: multipart/report; report-type=disposition-notification; boundary=r\n\n"
        b"--r\nContent-Type: text/plain; charset=utf-8\n\nVotre message a \xc3\xa9t\xc3\xa9 lu.\n"
        b"--r\nContent-Type: message/disposition-notification\n\n"
        b"Final-Recipient: rfc822; paul.henry@orange.fr\n"
        b"Disposition: manual-action/MDN-sent; displayed\n"
        b"--r\nContent-Type: message/rfc822\n\n"
        b"From: relations.telespectateurs@france2.fr\nMessage-ID: <frt-crm.200@france2.fr>\n"
        b"\nMadame\n"
        b"--r--\n"
    )
    mail = parse_email(raw)

    assert mail.is_auto_reply
    assert "read receipt" in mail.auto_reason
    assert not mail.forwarded
    assert not mail.is_bounce
    assert mail.body_text == "Votre message a été lu."


# ------------------------------------------------------------------------------ loops, threads


def test_our_own_x_loop_header_is_a_loop():
    mail = parse("loop_x_loop.eml")
    assert mail.is_loop
    assert mail.loop_reason == "X-Loop: frt-crm"


def test_mail_from_one_of_our_own_addresses_is_a_loop():
    mail = parse("plain_utf8.eml", own_addresses=frozenset({"Jeanne.Martin@orange.fr"}))
    assert mail.is_loop
    assert mail.loop_reason == "sent from our own address jeanne.martin@orange.fr"


def test_reply_is_threaded_by_ticket_reference_and_headers():
    mail = parse("reply_ticket.eml")

    assert mail.ticket_ref == "FTV-2026-000123"
    assert mail.in_reply_to == "frt-crm.FTV-2026-000123.1742735100.42@relations.france2.fr"
    assert mail.references == [
        "frt-crm.FTV-2026-000123.1742735000.1@relations.france2.fr",
        "frt-crm.FTV-2026-000123.1742735100.42@relations.france2.fr",
    ]
    assert mail.cc == ["annie.leroux2@orange.fr"]
    assert mail.reply_to == "annie.leroux@orange.fr"
    # the full text keeps the quote, the new part is only what the viewer wrote
    assert "> Nous avons bien reçu votre message" in mail.body_text
    assert mail.body_text_new == (
        "Merci pour votre réponse rapide.\n"
        "Je précise que l'incident a eu lieu vers 20 h 35, pas 20 h 15."
    )


@pytest.mark.parametrize(
    ("subject", "ref"),
    [
        ("RE: TR: [ftv-2026-000777] Votre demande", "FTV-2026-000777"),
        ("Réponse à FTV-2026-1234567", "FTV-2026-1234567"),
        ("Votre demande du 3 mars", None),
        ("XFTV-2026-000123", None),
    ],
)
def test_ticket_reference_in_subject(subject, ref):
    raw = f"From: a.viewer@orange.fr\nSubject: {subject}\n\nBonjour".encode()
    assert parse_email(raw).ticket_ref == ref


# ------------------------------------------------------------------------------ quoted replies


def test_quote_strip_french_gmail_attribution_over_two_lines():
    text = (
        "Toujours pas de réponse.\n\n"
        "Le lun. 2 mars 2026 à 10:12, Relations téléspectateurs <\n"
        "relations.telespectateurs@france2.fr> a écrit :\n\n"
        "> Bonjour Madame,\n> nous revenons vers vous."
    )
    assert quote_strip(text) == "Toujours pas de réponse."


def test_quote_strip_english_and_outlook_styles():
    english = "Thanks!\n\nOn Mon, Mar 2, 2026 at 10:12 AM France 2 <x@france2.fr> wrote:\n> Hi"
    outlook = (
        "Je maintiens ma plainte.\n\n________________________________\n"
        "De : France 3 <relations.telespectateurs@france3.fr>\n"
        "Envoyé : lundi 2 mars 2026 10:12\nObjet : Votre demande\n\nMadame, ..."
    )
    assert quote_strip(english) == "Thanks!"
    assert quote_strip(outlook) == "Je maintiens ma plainte."


def test_quote_strip_keeps_inline_answers_and_never_returns_nothing():
    interleaved = "> Quelle chaîne ?\nFrance 3 Alsace.\n> Quelle heure ?\n19 h."
    assert quote_strip(interleaved) == "France 3 Alsace.\n19 h."
    assert quote_strip("> tout est cité") == "> tout est cité"
    # a viewer's own line starting with "Le" is not mistaken for the attribution
    text = "Le programme d'hier à 20h\nLe 3 mars 2026, X a écrit :\n> bla"
    assert quote_strip(text) == "Le programme d'hier à 20h"


# ------------------------------------------------------------------------------ malformed input


def test_malformed_headers_still_give_a_usable_message():
    mail = parse("malformed_headers.eml")

    assert mail.from_email == "jean.dupont@free.fr"
    assert mail.from_name == "Dupont, Jean"
    assert mail.subject == "Premier sujet"  # duplicate Subject: the first wins
    assert mail.to == ["relations.telespectateurs@france2.fr"]
    assert mail.date is None
    assert mail.message_id is None
    # headers after the line without a colon were not lost into the body
    assert "X-Mailer" not in mail.body_text
    assert mail.body_text == "Pas de Content-Type ici, et des accents envoyés en UTF-8 quand même."
    warnings = " | ".join(mail.warnings)
    assert "unreadable Date header" in warnings
    assert "without a colon" in warnings
    assert "duplicate subject" in warnings


def test_message_without_message_id_and_with_bare_lf_line_endings():
    mail = parse("no_message_id.eml")
    assert mail.message_id is None
    assert mail.body_text == "À quelle heure passe l'épisode de lundi ?"
    assert mail.subject == "Horaire de Plus belle la vie"


def test_empty_body():
    mail = parse("empty_body.eml")
    assert mail.subject == "(sans objet)"
    assert mail.body_text == ""
    assert mail.body_text_new == ""
    assert mail.attachments == []


def test_parameter_that_crashes_the_stdlib_parser_does_not_lose_the_message():
    raw = (
        b"From: Odette Morel <odette.morel@free.fr>\nSubject: Photo\n"
        b"Content-Type: multipart/mixed; boundary=z\n\n--z\n"
        b"Content-Type: text/plain; charset=utf-8\n\nVoici la photo de l'\xc3\xa9cran.\n--z\n"
        b"Content-Type: image/jpeg; name*=\"utf-8''\"\nContent-Transfer-Encoding: base64\n\n"
        b"/9j/4AAQ\n--z--\n"
    )
    mail = parse_email(raw)

    assert mail.body_text == "Voici la photo de l'écran."
    [photo] = mail.attachments
    assert photo.content_type == "image/jpeg"
    assert photo.payload.startswith(b"\xff\xd8")
    assert any("compatibility mode" in warning for warning in mail.warnings)


def test_naive_date_is_made_aware():
    raw = b"From: a.viewer@orange.fr\nDate: Tue, 3 Mar 2026 09:41:07 -0000\n\nBonjour"
    assert parse_email(raw).date == datetime(2026, 3, 3, 9, 41, 7, tzinfo=UTC)


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ((EMAILS / "garbage.eml").read_bytes(), "binary data, not an email"),
        ((EMAILS / "not_an_email.eml").read_bytes(), "no email headers found"),
        (b"", "empty message"),
        (b"  \r\n\r\n ", "empty message"),
        ("From: a@b.fr\n\nstr, not bytes", "expected the raw bytes"),
    ],
)
def test_what_is_not_an_email_is_refused_with_a_reason(raw, reason):
    with pytest.raises(EmailParseError) as caught:
        parse_email(raw)
    assert reason in caught.value.reason
    assert str(caught.value) == caught.value.reason


def test_unexpected_failures_are_wrapped(monkeypatch):
    def broken_walk(*args: object, **kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(email_parser, "_walk", broken_walk)
    with pytest.raises(EmailParseError, match="unexpected error while parsing: RuntimeError: boom"):
        parse("plain_utf8.eml")


def test_deeply_nested_multiparts_are_cut_not_crashing():
    raw = b"From: a.viewer@orange.fr\nContent-Type: multipart/mixed; boundary=b0\n\n"
    for depth in range(60):
        raw += f"--b{depth}\nContent-Type: multipart/mixed; boundary=b{depth + 1}\n\n".encode()
    raw += b"--b60\nContent-Type: text/plain\n\nau fond\n"
    try:
        mail = parse_email(raw)
    except EmailParseError:
        return  # refusing is acceptable; crashing is not
    assert any("too deep" in warning for warning in mail.warnings)


@pytest.mark.parametrize("path", sorted(EMAILS.glob("*.eml")), ids=lambda p: p.name)
def test_every_corpus_message_parses_or_is_refused_cleanly(path):
    try:
        mail = parse_email(path.read_bytes(), own_addresses=OWN)
    except EmailParseError:
        assert path.name in {"garbage.eml", "not_an_email.eml"}
        return
    assert mail.raw_size == path.stat().st_size
    assert mail.from_email or mail.header_from_email


@pytest.mark.skipif(
    not STDLIB_MESSAGES.is_dir(),
    reason=f"Python's test messages are not installed ({STDLIB_MESSAGES} is missing)",
)
@pytest.mark.parametrize(
    "path",
    sorted(STDLIB_MESSAGES.glob("msg_*.txt")) if STDLIB_MESSAGES.is_dir() else [],
    ids=lambda p: p.name,
)
def test_python_own_test_messages_never_raise_anything_else(path):
    try:
        mail = parse_email(path.read_bytes())
    except EmailParseError as refused:
        assert refused.reason  # refusing is fine, with a reason for the quarantine screen
        return
    assert isinstance(mail.body_text, str)
