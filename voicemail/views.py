"""The mailbox page over HTTP (IVR-7): `/voicemail/` (list, play, mark heard, delete,
forward), `GET /api/voicemail/mailboxes/`, `GET /api/voicemail/messages/` (`?mailbox=`,
`?heard=1` to include heard ones), `GET /voicemail/messages/<id>/audio` (the player; every
listen logged), `POST /api/voicemail/messages/<id>/heard/`, `…/delete/`, `…/forward/`
(`{"target": "agent:<id>" | "queue:<name>"}`). Role-scoped by voicemail.access."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from django.contrib.auth.decorators import login_required
from django.db.models import Q
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.csrf import ensure_csrf_cookie
from drf_spectacular.utils import extend_schema
from rest_framework.decorators import api_view
from rest_framework.request import Request
from rest_framework.response import Response

from ipbx_project.api_schema import OBJECT, errors, query
from voicemail import access, actions, filing
from voicemail.models import VoicemailMessage

LIMIT = 200


@login_required
@ensure_csrf_cookie
def mailbox_page(request: HttpRequest) -> HttpResponse:
    return render(request, "voicemail/mailbox.html", {})


@extend_schema(responses={200: OBJECT})
@api_view(["GET"])
def mailboxes_api(request: Request) -> Response:
    rows = []
    for box in access.mailboxes(request.user).order_by("kind", "id"):
        new, old = filing.counts(box)
        rows.append({"mailbox": box.owner, "kind": box.kind, "new": new, "old": old})
    return Response({"mailboxes": rows})


@extend_schema(
    parameters=[
        query("mailbox", "Only this mailbox (agent:<id>, queue:<name> …)"),
        query("heard", "1: heard messages too"),
    ],
    responses={200: OBJECT, **errors(400)},
)
@api_view(["GET"])
def messages_api(request: Request) -> Response:
    rows = access.messages(request.user)
    owner = request.query_params.get("mailbox", "")
    if owner:
        try:
            kind, name = filing.parse_owner(owner)
        except filing.MailboxNotFound as exc:
            return Response({"detail": str(exc)}, status=400)
        named = Q(mailbox__agent__login_id=name) | Q(mailbox__queue__name=name)
        rows = rows.filter(named | Q(mailbox__department=name))
        rows = rows.filter(mailbox__kind=kind) if kind else rows
    if request.query_params.get("heard") != "1":
        rows = rows.filter(heard_at__isnull=True)
    return Response({"messages": [filing.message_dict(m) for m in rows[:LIMIT]]})


def audio(request: HttpRequest, message_id: int) -> HttpResponse:
    """The message's WAV for the page's and the desktop's player (each request logged)."""
    if not request.user.is_authenticated:
        return HttpResponse("sign in first", status=401)
    try:
        message = actions.listened(request.user, message_id, request.META.get("REMOTE_ADDR"))
    except access.VoicemailRefused as exc:
        return HttpResponse(str(exc), status=403)
    except LookupError as exc:
        raise Http404(str(exc)) from exc
    path = Path(message.path)
    if not message.path or not path.is_file():
        raise Http404("the message's file is gone")
    return FileResponse(path.open("rb"), content_type="audio/wav")


def _answer(run: Callable[[], VoicemailMessage]) -> Response:
    try:
        message = run()
    except access.VoicemailRefused as exc:
        return Response({"detail": str(exc)}, status=403)
    except actions.ForwardRefused as exc:
        return Response({"detail": str(exc)}, status=400)
    except LookupError as exc:
        return Response({"detail": str(exc)}, status=404)
    return Response(filing.message_dict(message))


@extend_schema(request=None, responses={200: OBJECT, **errors(403, 404)})
@api_view(["POST"])
def heard_api(request: Request, message_id: int) -> Response:
    address = request.META.get("REMOTE_ADDR")
    return _answer(lambda: actions.mark_heard(request.user, message_id, address))


@extend_schema(request=None, responses={200: OBJECT, **errors(403, 404)})
@api_view(["POST"])
def delete_api(request: Request, message_id: int) -> Response:
    address = request.META.get("REMOTE_ADDR")
    return _answer(lambda: actions.delete(request.user, message_id, address))


@extend_schema(request=OBJECT, responses={200: OBJECT, **errors(400, 403, 404)})
@api_view(["POST"])
def forward_api(request: Request, message_id: int) -> Response:
    body = request.data if isinstance(request.data, dict) else {}
    target = body.get("target")
    if not isinstance(target, str) or not target:
        return Response({"detail": "target: agent:<id> or queue:<name>"}, status=400)
    address = request.META.get("REMOTE_ADDR")
    return _answer(lambda: actions.forward(request.user, message_id, target, address))
