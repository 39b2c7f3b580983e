"""Drive a running Sigwise through its API, as deploy/check-image does with the containers.

Registers a user, creates a one-time trigger due in 3 s and sees the scheduler fire it
exactly once, fires an API trigger, and asks for the deep health check. Only the standard
library, so it runs with the host's python3. Usage: python3 deploy/image_smoke.py http://127.0.0.1:18000
"""

from __future__ import annotations

import datetime
import json
import secrets
import sys
import time
import urllib.error
import urllib.request

BASE = sys.argv[1].rstrip("/")
# The scheduler wakes at once for a new trigger; the rest is headroom for a busy machine.
FIRE_TIMEOUT_SECONDS = 30
# After the first event, a second firing would show within this long.
EXACTLY_ONCE_WATCH_SECONDS = 5


def call(method: str, path: str, body: dict | None = None, token: str | None = None) -> tuple[int, dict]:
    headers = {"Content-Type": "application/json", "Host": "localhost"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(BASE + path, data=data, headers=headers, method=method)  # noqa: S310 (the check's own server)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def expect(status: int, wanted: int, what: str, body: dict) -> None:
    if status != wanted:
        sys.exit(f"{what}: {status} (wanted {wanted}) {json.dumps(body)[:300]}")
    print(f"  {what}: {status}")


def events_of(trigger_id: str, token: str) -> list[dict]:
    status, body = call("GET", f"/api/v1/event_logs?status=all&trigger={trigger_id}", token=token)
    if status != 200:
        expect(status, 200, "list events", body)
    return body["results"]


def main() -> None:
    email = f"image-check-{secrets.token_hex(4)}@example.com"
    status, body = call("POST", "/api/v1/auth/register", {"email": email, "password": secrets.token_urlsafe(16)})
    expect(status, 201, f"register {email}", body)
    token = body["access"]

    run_at = datetime.datetime.now(datetime.UTC) + datetime.timedelta(seconds=3)
    status, body = call(
        "POST",
        "/api/v1/triggers",
        {"name": "image check, once", "type": "scheduled", "schedule_details": {"run_at": run_at.isoformat()}},
        token,
    )
    expect(status, 201, "create a one-time trigger due in 3 s", body)
    scheduled = body["id"]

    started = time.monotonic()
    while not (events := events_of(scheduled, token)):
        if time.monotonic() - started > FIRE_TIMEOUT_SECONDS:
            sys.exit(f"the one-time trigger did not fire within {FIRE_TIMEOUT_SECONDS} s")
        time.sleep(0.2)
    fired_at = datetime.datetime.fromisoformat(events[0]["fired_at"])
    print(f"  fired {(fired_at - run_at).total_seconds():.2f} s after its run_at ({events[0]['source']})")
    time.sleep(EXACTLY_ONCE_WATCH_SECONDS)
    events = events_of(scheduled, token)
    if len(events) != 1:
        sys.exit(f"the one-time trigger fired {len(events)} times")
    print(f"  fired exactly once ({EXACTLY_ONCE_WATCH_SECONDS} s later still 1 event)")

    status, body = call("POST", "/api/v1/triggers", {"name": "image check, api", "type": "api"}, token)
    expect(status, 201, "create an API trigger", body)
    api_trigger = body["id"]
    status, body = call("POST", f"/api/v1/triggers/{api_trigger}/fire", {"order": 1}, token)
    expect(status, 201, "fire it", body)
    events = events_of(api_trigger, token)
    if [event["id"] for event in events] != [body["event_id"]]:
        sys.exit(f"the API fire logged {len(events)} events")
    print("  its event is listed")

    # The deep check (scheduler heartbeats, lateness) where the app has it; an app without it
    # ignores the parameter and answers the plain check.
    status, body = call("GET", "/healthz?deep=1")
    expect(status, 200, f"/healthz?deep=1 {json.dumps(body)}", body)


if __name__ == "__main__":
    main()
