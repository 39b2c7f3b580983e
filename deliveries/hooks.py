"""What ``triggers`` calls: the whole surface the firing and editing code needs, so its
hooks stay one line each."""

from __future__ import annotations

from typing import Any

from deliveries.notifications import notify_disabled_triggers
from deliveries.services import deliveries_enqueue_for_events, delivery_enqueue, signing_secret_reveal, target_set
from deliveries.targets import TargetInvalid

__all__ = [
    "UNCHANGED",
    "deliveries_enqueue_for_events",
    "delivery_enqueue",
    "notify_disabled_triggers",
    "signing_secret_reveal",
    "target_apply",
    "target_maybe",
    "trigger_may_have_target",
]

UNCHANGED = object()


def target_maybe(values: dict[str, Any]) -> tuple[dict[str, Any], Any]:
    """``values`` without ``target``, and the target given (:data:`UNCHANGED` if none was)."""
    if "target" not in values:
        return values, UNCHANGED
    rest = dict(values)
    return rest, rest.pop("target")


def target_apply(*, trigger: Any, target: Any, invalid: type[Exception]) -> None:
    """Set (a dict), remove (None) or keep (:data:`UNCHANGED`) the trigger's target;
    a bad target raises ``invalid({"target": {field: problems}})``."""
    if target is UNCHANGED:
        return
    try:
        target_set(trigger=trigger, values=target)
    except TargetInvalid as problems:
        raise invalid({"target": problems.errors}) from None


def trigger_may_have_target(trigger: Any) -> bool:
    """False only when the trigger was read with its ``has_target`` flag and has none
    (the API's fire path); otherwise the enqueue statement itself finds out."""
    return getattr(trigger, "has_target", True)
