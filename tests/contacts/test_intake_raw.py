"""The raw input, stored first under the digest of its bytes, written once."""

import os

import pytest
from django.core.files.storage import default_storage

from contacts.services.intake import raw_store, storage_write_once


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.FILE_UPLOAD_PERMISSIONS = 0o640
    return tmp_path / "media"


def test_raw_input_is_stored_under_its_digest_with_the_configured_mode(media):
    name, digest = raw_store(data=b"From: a@example.fr\r\n\r\nBonjour", extension="eml")

    assert name.startswith("raw/") and name.endswith(f"/{digest}.eml")
    path = media / name
    assert path.read_bytes() == b"From: a@example.fr\r\n\r\nBonjour"
    assert path.stat().st_mode & 0o777 == 0o640


def test_the_same_bytes_again_are_one_file(media):
    first, _ = raw_store(data=b"x" * 100, extension="eml")
    os.utime(media / first, (1, 1))

    second, _ = raw_store(data=b"x" * 100, extension="eml")

    assert second == first
    assert (media / first).stat().st_mtime == 1  # not written again
    assert len(list((media / first).parent.iterdir())) == 1


def test_a_file_left_short_by_a_crash_is_written_again(media):
    name, _ = raw_store(data=b"complete message", extension="eml")
    (media / name).write_bytes(b"compl")

    again, _ = raw_store(data=b"complete message", extension="eml")

    assert again == name and (media / name).read_bytes() == b"complete message"
    assert [p.name for p in (media / name).parent.iterdir()] == [os.path.basename(name)]


def test_other_storages_go_through_their_own_api(settings):
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
    }

    name = storage_write_once(name="raw/2026/03/02/abc.eml", data=b"memory")
    again = storage_write_once(name="raw/2026/03/02/abc.eml", data=b"memory")

    assert name == again == "raw/2026/03/02/abc.eml"
    with default_storage.open(name) as fh:
        assert fh.read() == b"memory"
