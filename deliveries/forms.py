"""The target's inputs on the trigger form: a base form ``triggers.forms.TriggerForm`` extends."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ObjectDoesNotExist
from django.utils.safestring import mark_safe

from deliveries.targets import DEFAULT_TIMEOUT_SECONDS, MAX_TIMEOUT_SECONDS, MIN_TIMEOUT_SECONDS

_ERROR_FIELDS = {"url": "target_url", "headers": "target_headers", "timeout_seconds": "target_timeout"}


class TargetFormFields(forms.Form):
    target_url = forms.CharField(
        label="Target URL",
        required=False,
        max_length=2000,
        help_text="Each firing is POSTed here as a signed webhook. Empty: no delivery.",
    )
    target_headers = forms.CharField(
        label="Extra headers",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=mark_safe("One <code>Name: value</code> per line, at most 10."),
    )
    target_timeout = forms.IntegerField(
        label="Timeout (seconds)",
        required=False,
        min_value=MIN_TIMEOUT_SECONDS,
        max_value=MAX_TIMEOUT_SECONDS,
        initial=DEFAULT_TIMEOUT_SECONDS,
    )

    def clean_target_headers(self) -> dict[str, str]:
        headers: dict[str, str] = {}
        for line in (self.cleaned_data.get("target_headers") or "").splitlines():
            if not line.strip():
                continue
            name, colon, value = line.partition(":")
            if not colon:
                raise forms.ValidationError(f"{line.strip()!r} is not in the form Name: value.")
            headers[name.strip()] = value.strip()
        return headers

    def target_values(self) -> dict[str, Any]:
        """``{"target": …}`` in the API's shape: None when the URL is empty."""
        data = self.cleaned_data
        url = (data.get("target_url") or "").strip()
        if not url:
            return {"target": None}
        timeout = data.get("target_timeout") or DEFAULT_TIMEOUT_SECONDS
        return {"target": {"url": url, "headers": data.get("target_headers") or {}, "timeout_seconds": timeout}}

    def add_target_errors(self, errors: Any) -> None:
        if not isinstance(errors, dict):
            self.add_error("target_url", [str(errors)])
            return
        for key, problems in errors.items():
            self.add_error(_ERROR_FIELDS.get(key, "target_url"), [str(problem) for problem in problems])


def target_initial(trigger: Any) -> dict[str, Any]:
    """The form's initial target values for an existing trigger."""
    try:
        target = trigger.target
    except ObjectDoesNotExist:
        return {"target_timeout": DEFAULT_TIMEOUT_SECONDS}
    return {
        "target_url": target.url,
        "target_headers": "\n".join(f"{name}: {value}" for name, value in target.headers.items()),
        "target_timeout": target.timeout_seconds,
    }
