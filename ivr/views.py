"""HTML pages of the IVR: the flow list and the graphical flow editor (IVR-5)."""

from django.contrib.auth.decorators import login_required, permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from ivr.models import Flow


@login_required
@permission_required("ivr.view_flow", raise_exception=True)
def flow_list(request: HttpRequest) -> HttpResponse:
    flows = Flow.objects.select_related("published_version").order_by("name")
    return render(request, "ivr/flow_list.html", {"flows": flows})


@login_required
@permission_required("ivr.view_flow", raise_exception=True)
def flow_editor(request: HttpRequest, name: str) -> HttpResponse:
    flow = get_object_or_404(Flow, name=name)
    return render(request, "ivr/flow_editor.html", {"flow": flow})
