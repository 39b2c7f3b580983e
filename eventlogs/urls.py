from __future__ import annotations

from django.urls import path

from eventlogs import views

urlpatterns = [
    path("events/", views.event_list, name="event-list"),
]
