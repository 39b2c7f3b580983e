"""The operators' event log admin: read-only, filterable, and free of N+1 queries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import time_machine
from django.contrib.auth.models import Permission
from django.test import Client

from accounts.models import User
from eventlogs.models import BACKFILL_GRACE, EventLog, EventLogHour, LifecycleMarks
from eventlogs.rollup import eventlogs_roll_up
from eventlogs.selectors import eventlogs_aggregated
from tests.support import make_event

FIRED = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
CHANGELIST = "/admin/eventlogs/eventlog/"


def test_the_changelist_of_30_events_of_many_owners_has_no_n_plus_1(
    operator: Client, django_assert_max_num_queries: Any
) -> None:
    for number in range(30):
        owner = User.objects.create_user(email=f"customer{number}@example.com", password=None)
        make_event(owner, trigger_name=f"Hook {number:02d}", fired_at=FIRED - timedelta(minutes=number))

    with time_machine.travel(FIRED, tick=False), django_assert_max_num_queries(10):
        response = operator.get(CHANGELIST)

    html = response.content.decode()
    assert response.status_code == 200
    assert html.count('class="field-trigger_name"') == 30
    assert "customer29@example.com" in html


def test_it_shows_the_status_an_event_has_now_beside_when_the_job_archived_it(operator: Client, owner: User) -> None:
    make_event(owner, fired_at=FIRED)

    with time_machine.travel(FIRED + timedelta(hours=3), tick=False):
        html = operator.get(CHANGELIST).content.decode()

    assert '<td class="field-current_status">archived</td>' in html
    assert '<td class="field-archived_at nowrap">-</td>' in html


def test_it_filters_by_source_and_test_and_drills_down_by_date(operator: Client, owner: User) -> None:
    make_event(owner, fired_at=FIRED, trigger_name="From the API", source="api")
    make_event(owner, fired_at=FIRED, trigger_name="A test", source="test")
    make_event(owner, trigger_name="Last year", fired_at=FIRED - timedelta(days=365))

    tests_only = operator.get(CHANGELIST, {"source__exact": "test"}).content.decode()
    not_tests = operator.get(CHANGELIST, {"is_test__exact": "0"}).content.decode()
    march = operator.get(CHANGELIST, {"fired_at__year": "2026", "fired_at__month": "3"}).content.decode()
    searched = operator.get(CHANGELIST, {"q": "from the"}).content.decode()

    assert "A test" in tests_only
    assert "From the API" not in tests_only
    assert "From the API" in not_tests
    assert "A test" not in not_tests
    assert "From the API" in march
    assert "Last year" not in march
    assert "From the API" in searched
    assert "A test" not in searched


def test_it_searches_by_event_id(operator: Client, owner: User) -> None:
    wanted = make_event(owner, fired_at=FIRED, trigger_name="Wanted")
    make_event(owner, fired_at=FIRED, trigger_name="Other")

    html = operator.get(CHANGELIST, {"q": str(wanted.id)}).content.decode()

    assert "Wanted" in html
    assert "Other" not in html


def test_event_logs_are_read_only_in_the_admin(operator: Client, owner: User) -> None:
    event = make_event(owner, fired_at=FIRED)
    url = f"{CHANGELIST}{event.id}/change/"

    assert operator.get(url).status_code == 200  # viewable
    assert operator.post(url, {"trigger_name": "Changed"}).status_code == 403
    assert operator.get(f"{CHANGELIST}add/").status_code == 403
    assert EventLog.objects.get().trigger_name == "Webhook"


def test_only_a_superuser_may_delete_an_event_log(operator: Client, owner: User) -> None:
    event = make_event(owner, fired_at=FIRED)
    staff_user = User.objects.create_user(email="staff@example.com", password=None, is_staff=True)
    # Even with Django's delete permission, a staff member who is not a superuser may not delete.
    staff_user.user_permissions.set(
        Permission.objects.filter(
            content_type__app_label="eventlogs", codename__in=["view_eventlog", "delete_eventlog"]
        )
    )
    staff = Client()
    staff.force_login(staff_user, backend="django.contrib.auth.backends.ModelBackend")
    assert staff.get(CHANGELIST).status_code == 200

    assert staff.post(f"{CHANGELIST}{event.id}/delete/", {"post": "yes"}).status_code == 403
    assert EventLog.objects.exists()

    response = operator.post(f"{CHANGELIST}{event.id}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not EventLog.objects.exists()


def test_an_operators_deletions_are_recounted_by_the_next_rollup(operator: Client, owner: User) -> None:
    """A deleted event was counted in its hour: the rollup mark moves back to the oldest one's hour."""
    first = make_event(owner, fired_at=FIRED - timedelta(hours=5, minutes=10))
    second = make_event(owner, fired_at=FIRED - timedelta(hours=9, minutes=50))
    kept = make_event(owner, fired_at=FIRED - timedelta(hours=3))
    with time_machine.travel(FIRED, tick=False):
        eventlogs_roll_up()
        assert LifecycleMarks.objects.get().rolled_up_through == FIRED - 2 * BACKFILL_GRACE

        assert operator.post(f"{CHANGELIST}{first.id}/delete/", {"post": "yes"}).status_code == 302
        assert LifecycleMarks.objects.get().rolled_up_through == FIRED - timedelta(hours=6)

        action = {"action": "delete_selected", "_selected_action": [str(second.id)], "post": "yes"}
        assert operator.post(CHANGELIST, action).status_code == 302
        assert LifecycleMarks.objects.get().rolled_up_through == FIRED - timedelta(hours=10)

        eventlogs_roll_up()
        assert list(EventLogHour.objects.values_list("hour", "total")) == [(FIRED - timedelta(hours=3), 1)]
        assert [row["total"] for row in eventlogs_aggregated(owner_id=owner.pk)] == [1]
    assert list(EventLog.objects.values_list("id", flat=True)) == [kept.id]
