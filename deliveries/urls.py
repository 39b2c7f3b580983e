from __future__ import annotations

from django.urls import path

from deliveries import views

urlpatterns = [
    path("events/<uuid:event_id>/", views.event_detail, name="event-detail"),
    path("events/<uuid:event_id>/redeliver", views.event_redeliver, name="event-redeliver"),
    path("triggers/<uuid:trigger_id>/target/test", views.trigger_target_test, name="trigger-target-test"),
    path(
        "triggers/<uuid:trigger_id>/redeliver-failed", views.trigger_redeliver_failed, name="trigger-redeliver-failed"
    ),
    path("signing-secret/rotate", views.SigningSecretRotateView.as_view(), name="signing-secret-rotate"),
]
