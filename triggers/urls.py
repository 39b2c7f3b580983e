from __future__ import annotations

from django.urls import path

from triggers import views

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("triggers/", views.trigger_list, name="trigger-list"),
    path("triggers/new", views.trigger_new, name="trigger-new"),
    path("triggers/bulk", views.TriggerBulkView.as_view(), name="trigger-bulk"),
    path("triggers/<uuid:trigger_id>/", views.trigger_detail, name="trigger-detail"),
    path("triggers/<uuid:trigger_id>/edit", views.trigger_edit, name="trigger-edit"),
    path("triggers/<uuid:trigger_id>/delete", views.trigger_delete_confirm, name="trigger-delete"),
    path("triggers/<uuid:trigger_id>/fire", views.trigger_fire_view, name="trigger-fire"),
    path("triggers/<uuid:trigger_id>/test", views.trigger_test_view, name="trigger-test"),
    path("triggers/<uuid:trigger_id>/pause", views.trigger_pause, name="trigger-pause"),
    path("triggers/<uuid:trigger_id>/resume", views.trigger_resume, name="trigger-resume"),
    path("triggers/<uuid:trigger_id>/duplicate", views.trigger_duplicate_view, name="trigger-duplicate"),
]
