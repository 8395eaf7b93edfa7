"""HTML pages of icm."""

from django.contrib.auth.decorators import login_required, permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


@login_required
@permission_required("icm.view_call", raise_exception=True)
def live_calls(request: HttpRequest) -> HttpResponse:
    """Live calls on every switch, updated over WebSocket (ICM-2, OPS-1)."""
    return render(request, "icm/live_calls.html")
