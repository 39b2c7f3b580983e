"""Password reset by email: the request, the one-hour one-time link, the limits, revocation."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.test import Client
from django.utils.timezone import now

from accounts.models import ApiKey, User
from accounts.services import api_key_create
from tests.support import PASSWORD, bearer_client

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "a-brand-new-passphrase-93"


def ask(email: str, client: Client | None = None):
    return (client or Client()).post("/auth/password-reset", {"email": email})


def link_in(message: mail.EmailMessage) -> str:
    return re.search(r"https?://[^/]+(/auth/reset/\S+/)", message.body)[1]


def test_the_login_page_links_to_the_reset() -> None:
    assert 'href="/auth/password-reset">Forgot your password?' in Client().get("/auth/login").content.decode()


def test_it_answers_the_same_whether_or_not_the_address_has_an_account(owner) -> None:
    known, unknown = ask(owner.email), ask("nobody@example.com")
    assert known.status_code == unknown.status_code == 302
    assert known["Location"] == unknown["Location"] == "/auth/password-reset/sent"
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == [owner.email]
    assert "Check your email" in Client().get("/auth/password-reset/sent").content.decode()


def test_the_link_sets_a_new_password_once_and_revokes_every_token_key_and_session(owner) -> None:
    signed_in = Client()
    signed_in.force_login(owner, backend="django.contrib.auth.backends.ModelBackend")
    jwt_client = bearer_client(owner)
    raw_key = api_key_create(user=owner, name="ci", scope="full").raw_key
    ask(owner.email.upper())
    link = link_in(mail.outbox[0])

    client = Client()
    form_page = client.get(link, follow=True)
    assert "Choose a new password" in form_page.content.decode()
    response = client.post(
        form_page.redirect_chain[-1][0], {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    )
    assert response.status_code == 302
    assert response["Location"] == "/auth/reset/done"
    owner.refresh_from_db()
    assert owner.check_password(NEW_PASSWORD)
    assert signed_in.get("/settings").status_code == 302
    assert jwt_client.get("/api/v1/triggers").status_code == 401
    key_client = Client(headers={"Authorization": f"Bearer {raw_key}"})
    assert key_client.get("/api/v1/triggers").status_code == 401
    assert ApiKey.objects.count() == 1  # inert: its generation is past
    # The link is spent.
    assert "This link does not work" in Client().get(link, follow=True).content.decode()


def test_the_link_expires_after_an_hour(owner) -> None:
    ask(owner.email)
    link = link_in(mail.outbox[0])
    with time_machine.travel(now() + timedelta(hours=1, seconds=5)):
        page = Client().get(link, follow=True).content.decode()
    assert "This link does not work" in page


def test_it_sends_at_most_the_limit_per_address_and_still_answers_the_same(owner, settings) -> None:
    settings.PASSWORD_RESET_ACCOUNT_LIMIT = 2
    answers = [ask(owner.email, Client(REMOTE_ADDR=f"10.0.0.{n}")) for n in range(4)]
    assert {answer.status_code for answer in answers} == {302}
    assert len(mail.outbox) == 2


def test_it_refuses_a_client_over_its_limit_with_429(owner, settings) -> None:
    settings.PASSWORD_RESET_CLIENT_LIMIT = 2
    client = Client()
    statuses = [ask(f"someone{n}@example.com", client).status_code for n in range(3)]
    assert statuses == [302, 302, 429]


def test_an_inactive_account_gets_no_mail(owner) -> None:
    User.objects.filter(pk=owner.pk).update(is_active=False)
    assert ask(owner.email).status_code == 302
    assert mail.outbox == []


def test_the_reset_email_says_the_link_lasts_an_hour_and_comes_from_the_configured_sender(owner, settings) -> None:
    settings.DEFAULT_FROM_EMAIL = "Ops <ops@example.com>"
    ask(owner.email)
    (message,) = mail.outbox
    assert message.from_email == "Ops <ops@example.com>"
    assert "within an hour" in message.body
    assert PASSWORD not in message.body
