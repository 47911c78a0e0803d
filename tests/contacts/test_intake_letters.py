"""Postal letters: scans uploaded in the mailroom, read by Tesseract in French, the sender
checked and the letter registered with its scan. Letter images are rendered from text with
Pillow, then read back by the real OCR."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image, ImageDraw, ImageFont

from contacts.channels import ocr
from contacts.channels.letter import pages_to_pdf, parse_split, propose_identity, scan_type
from contacts.models import Contact, LetterScan, Viewer
from tests.factories import ViewerFactory, brand
from tests.markers import requires_tesseract

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
LETTER = """Mme Jeanne DUPUIS
12 rue des Lilas
29150 Châteaulin

France Télévisions
Service des relations avec les téléspectateurs
75015 Paris

Madame, Monsieur,

Je regarde chaque soir le journal de France 3 Bretagne.
Depuis lundi, les sous-titres ont disparu pendant le journal.
Pouvez-vous les rétablir ? Merci d'avance.

Jeanne Dupuis"""


def render(text: str = LETTER, fmt: str = "PNG", pages: int = 1) -> bytes:
    try:
        font = ImageFont.truetype(FONT, 34)
    except OSError:
        font = ImageFont.load_default()
    images = []
    for _ in range(pages):
        image = Image.new("L", (1700, 2200), 255)
        draw = ImageDraw.Draw(image)
        y = 120
        for line in text.splitlines():
            draw.text((140, y), line, fill=0, font=font)
            y += 52
        images.append(image)
    out = io.BytesIO()
    if fmt == "PDF":
        return pages_to_pdf(images)
    images[0].save(out, format=fmt, save_all=pages > 1, append_images=images[1:])
    return out.getvalue()


# --- pure parts --------------------------------------------------------------------------------


def test_scan_types_are_recognised_by_their_bytes_not_their_name():
    assert scan_type(render(fmt="PNG")[:16]) == ("image/png", "png")
    assert scan_type(render(fmt="JPEG")[:16]) == ("image/jpeg", "jpg")
    assert scan_type(render(fmt="TIFF")[:16]) == ("image/tiff", "tif")
    assert scan_type(b"%PDF-1.7\n") == ("application/pdf", "pdf")
    assert scan_type(b"PK\x03\x04 a docx") is None


def test_split_specs():
    assert parse_split("", 3) == [[1, 2, 3]]
    assert parse_split("1", 3) == [[1], [2], [3]]
    assert parse_split("2", 5) == [[1, 2], [3, 4], [5]]
    assert parse_split("1-2, 3, 4-5", 5) == [[1, 2], [3], [4, 5]]
    for bad in ("1-9", "2-1", "1-2,2", "a"):
        with pytest.raises(ValueError):
            parse_split(bad, 5)


def test_sender_block_is_proposed_from_the_letter_text():
    found = propose_identity(LETTER)

    assert (found.civility, found.first_name, found.last_name) == ("Mme", "Jeanne", "Dupuis")
    assert found.address_line1 == "12 rue des Lilas"
    assert (found.postcode, found.city) == ("29150", "Châteaulin")


def test_our_own_address_is_not_taken_for_the_sender():
    text = "France Télévisions\n7 esplanade Henri de France\n75015 Paris\n\nM. Paul Girard\n"
    found = propose_identity(text)
    assert found.postcode == "" and found.last_name == "Girard"


# --- the mailroom ------------------------------------------------------------------------------

pytestmark = pytest.mark.django_db


def upload(client, files, **data):
    return client.post(
        "/mailroom/",
        {"files": files, "mode": "one", "brand": brand("france3").pk, **data},
    )


@requires_tesseract
def test_letter_is_read_by_ocr_checked_and_registered_with_its_scan(
    client, mailroom, intake_env, django_capture_on_commit_callbacks
):
    client.force_login(mailroom)
    scan_bytes = render(fmt="PNG")

    with django_capture_on_commit_callbacks(execute=True):
        response = upload(client, [SimpleUploadedFile("lettre.png", scan_bytes)])

    assert response.status_code == 302
    scan = LetterScan.objects.get()
    assert scan.state == LetterScan.State.READY, scan.ocr_note
    assert "sous-titres" in scan.ocr_text and scan.ocr_confidence > 50
    assert scan.proposed["last_name"] == "Dupuis" and scan.proposed["postcode"] == "29150"

    page = client.get(f"/mailroom/letters/{scan.pk}/")
    assert page.status_code == 200 and "Dupuis" in page.content.decode()

    form = {
        **{k: v for k, v in scan.proposed.items()},
        "brand": brand("france3").pk,
        "subject": "Sous-titres absents",
        "body": scan.ocr_text,
    }
    response = client.post(f"/mailroom/letters/{scan.pk}/", form)

    assert response.status_code == 302
    contact = Contact.objects.get(channel="letter")
    assert contact.raw_file.read() == scan_bytes  # the scan stays attached to the contact
    assert contact.viewer.last_name == "Dupuis" and contact.viewer.postcode == "29150"
    assert contact.meta["ocr"] == "done"
    scan.refresh_from_db()
    assert scan.state == LetterScan.State.REGISTERED and scan.contact == contact


@requires_tesseract
def test_multi_page_pdf_batch_is_split_into_letters(
    client, mailroom, intake_env, django_capture_on_commit_callbacks
):
    client.force_login(mailroom)
    pdf = render(fmt="PDF", pages=3)

    with django_capture_on_commit_callbacks(execute=True):
        response = upload(
            client, [SimpleUploadedFile("lot.pdf", pdf)], mode="batch", split="1-2, 3"
        )

    assert response.status_code == 302
    scans = list(LetterScan.objects.order_by("id"))
    assert [s.pages for s in scans] == [2, 1]
    assert all(s.content_type == "application/pdf" for s in scans)
    assert all(s.state == LetterScan.State.READY for s in scans)


def test_without_tesseract_the_letter_is_registered_without_ocr_and_says_so(
    client, mailroom, intake_env, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(ocr, "ocr_available", lambda: False)
    client.force_login(mailroom)
    with django_capture_on_commit_callbacks(execute=True):
        upload(client, [SimpleUploadedFile("lettre.jpg", render(fmt="JPEG"))])
    scan = LetterScan.objects.get()
    assert scan.state == LetterScan.State.NO_OCR and "Tesseract" in scan.ocr_note

    page = client.get(f"/mailroom/letters/{scan.pk}/")
    assert "Tesseract" in page.content.decode()
    client.post(
        f"/mailroom/letters/{scan.pk}/",
        {
            "last_name": "Dupuis",
            "first_name": "Jeanne",
            "postcode": "29150",
            "brand": brand("france3").pk,
            "subject": "Courrier",
            "body": "",
        },
    )

    contact = Contact.objects.get(channel="letter")
    assert contact.meta["ocr"] == "unavailable" and "Tesseract" in contact.meta["ocr_note"]


def test_known_viewer_can_be_chosen_instead_of_creating_one(
    client, mailroom, intake_env, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(ocr, "ocr_available", lambda: False)
    viewer = ViewerFactory(last_name="Dupuis", postcode="29150")
    client.force_login(mailroom)
    with django_capture_on_commit_callbacks(execute=True):
        upload(client, [SimpleUploadedFile("lettre.png", render())])
    scan = LetterScan.objects.get()

    client.post(
        f"/mailroom/letters/{scan.pk}/",
        {"viewer": viewer.pk, "brand": brand("france3").pk, "subject": "Courrier"},
    )

    assert Contact.objects.get(channel="letter").viewer == viewer
    assert Viewer.objects.count() == 1


def test_unsupported_or_oversized_uploads_are_refused_clearly(client, mailroom, intake_env):
    client.force_login(mailroom)
    docx = upload(client, [SimpleUploadedFile("lettre.docx", b"PK\x03\x04 not a scan")])
    intake_env.MAX_UPLOAD_BYTES = 1000
    big = upload(client, [SimpleUploadedFile("lettre.png", render())])

    assert docx.status_code == 400 and "not a PDF, JPEG, PNG or TIFF" in docx.content.decode()
    assert big.status_code == 400 and "too large" in big.content.decode()
    assert LetterScan.objects.count() == 0


def test_mailroom_is_closed_to_agents(client, agent):
    client.force_login(agent)
    assert client.get("/mailroom/").status_code == 403


def test_mailroom_lists_letters_to_register_and_refreshes_while_ocr_runs(
    client, mailroom, intake_env, django_assert_max_num_queries
):
    from contacts.models import LetterBatch

    batch = LetterBatch.objects.create(uploaded_by=mailroom, brand=brand("france2"))
    for i in range(5):
        LetterScan.objects.create(
            batch=batch,
            file=f"scans/x{i}.png",
            original_filename=f"l{i}.png",
            content_type="image/png",
            sha256="0" * 64,
        )
    client.force_login(mailroom)

    with django_assert_max_num_queries(12):
        page = client.get("/mailroom/")
    fragment = client.get("/mailroom/", {"partial": "list"}, HTTP_HX_REQUEST="true")

    assert page.status_code == 200 and page.content.decode().count("l0.png") == 1
    assert 'hx-trigger="every 5s"' in page.content.decode()
    assert "<html" not in fragment.content.decode() and "l4.png" in fragment.content.decode()
