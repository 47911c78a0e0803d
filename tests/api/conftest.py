"""Fixtures of the API tests: an integration client, staff tokens."""

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests.contacts.conftest import api_client_token, intake_env  # noqa: F401 (fixtures)


@pytest.fixture
def integration(intake_env, api_client_token):  # noqa: F811
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {api_client_token[1]}")
    return client


def staff_client(user) -> APIClient:
    client = APIClient()
    token, _ = Token.objects.get_or_create(user=user)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client
