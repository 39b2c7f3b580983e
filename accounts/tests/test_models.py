"""The user model: email is the login, unique whatever its letter case; a time zone per user; admin."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from accounts.models import User
from tests.support import PASSWORD


@pytest.mark.django_db
def test_create_user_folds_the_email_to_lower_case() -> None:
    user = User.objects.create_user(email="  Grace.Hopper@Navy.MIL ", password=PASSWORD)

    assert user.email == "grace.hopper@navy.mil"
    assert user.check_password(PASSWORD)
    assert str(user) == "grace.hopper@navy.mil"


@pytest.mark.django_db
def test_the_database_refuses_a_second_account_whose_email_differs_only_in_case(owner: User) -> None:
    # Bypass the manager's folding: the unique index on lower(email) is the last line of defence.
    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.create(email="OWNER@example.com")

    assert User.objects.count() == 1


@pytest.mark.django_db
def test_a_new_user_gets_the_default_display_time_zone() -> None:
    user = User.objects.create_user(email="ada@example.com", password=PASSWORD)

    assert user.timezone == "Asia/Kolkata"
    assert str(user.zoneinfo) == "Asia/Kolkata"


@pytest.mark.django_db
def test_the_default_time_zone_follows_the_setting(settings) -> None:
    settings.DEFAULT_USER_TIMEZONE = "America/New_York"

    assert User.objects.create_user(email="ada@example.com", password=PASSWORD).timezone == "America/New_York"


def test_a_time_zone_that_is_not_an_iana_name_is_invalid(owner: User) -> None:
    owner.timezone = "IST"

    with pytest.raises(ValidationError) as caught:
        owner.full_clean()

    assert "timezone" in caught.value.message_dict


def test_the_manager_finds_a_user_by_email_in_any_case(owner: User) -> None:
    assert User.objects.get_by_natural_key("Owner@EXAMPLE.COM") == owner


@pytest.mark.django_db
def test_create_superuser_makes_an_operator() -> None:
    operator = User.objects.create_superuser(email="ops@example.com", password=PASSWORD)

    assert operator.is_staff
    assert operator.is_superuser


@pytest.mark.django_db
def test_the_admin_lists_and_edits_users(client, owner: User) -> None:
    operator = User.objects.create_superuser(email="ops@example.com", password=PASSWORD)
    client.force_login(operator)

    listing = client.get("/admin/accounts/user/?q=owner")
    assert listing.status_code == 200
    assert "owner@example.com" in listing.content.decode()
    assert client.get(f"/admin/accounts/user/{owner.pk}/change/").status_code == 200
    assert client.get("/admin/accounts/user/add/").status_code == 200


@pytest.mark.django_db
def test_the_admin_adds_a_user_with_a_folded_email(client) -> None:
    operator = User.objects.create_superuser(email="ops@example.com", password=PASSWORD)
    client.force_login(operator)

    response = client.post(
        "/admin/accounts/user/add/",
        {
            "email": "New.Operator@Example.com",
            "timezone": "UTC",
            "password1": "quartz-lantern-meadow-41",
            "password2": "quartz-lantern-meadow-41",
            "usable_password": "true",
        },
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    assert User.objects.get(email="new.operator@example.com").timezone == "UTC"


def test_a_customer_cannot_open_the_admin(client, owner: User) -> None:
    client.force_login(owner)

    response = client.get("/admin/accounts/user/")

    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")
