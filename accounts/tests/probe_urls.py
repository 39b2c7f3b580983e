"""The project's URLs plus two probes that use the project-wide defaults.

The accounts app has no signed-in endpoint of its own; these probes let the tests
check what every API endpoint and page inherits from settings (JWT and session
authentication, IsAuthenticated, CSRF on unsafe methods, LoginRequiredMiddleware)
without depending on another app's views.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.urls import include, path
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView


class WhoAmIProbe(APIView):
    def get(self, request: Request) -> Response:
        return Response({"email": request.user.email})

    def post(self, request: Request) -> Response:
        return Response({"email": request.user.email})


def page_probe(request: HttpRequest) -> HttpResponse:
    return HttpResponse(f"Signed in as {request.user.email}")


urlpatterns = [
    path("api/v1/probe", WhoAmIProbe.as_view()),
    path("probe/page", page_probe),
    path("", include("sigwise.urls")),
]
