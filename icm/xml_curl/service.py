"""Answer one mod_xml_curl fetch: parse FreeSWITCH's form fields, look up CallCenterDB, build XML.

FreeSWITCH POSTs `section` (directory, dialplan, configuration, …) plus the request's
parameters: for the directory `user`, `domain`, `action` (sip_auth, user_call, …); for the
dialplan the channel's headers (`Hunt-Context`, `Caller-Destination-Number`, …).
Anything this project does not serve gets the "not found" document, so FreeSWITCH falls back to
its local XML.
"""

import logging
from collections.abc import Mapping
from urllib.parse import parse_qsl

from django.conf import settings

from agents.models import Agent
from icm.models import Extension, InboundRoute

from . import documents

logger = logging.getLogger(__name__)

# Every section FreeSWITCH may ask for (switch_xml.c); anything else is a malformed request.
KNOWN_SECTIONS = frozenset(
    {"configuration", "directory", "dialplan", "languages", "chatplan", "phrases"}
)
INBOUND_CONTEXT = "public"
# A dialplan fetch carries every channel variable; leave room above Django's form default.
MAX_FIELDS = 5000


class MalformedRequest(ValueError):
    """The request cannot be a FreeSWITCH fetch; the message is safe to send back."""


def parse_form(body: bytes) -> dict[str, str]:
    """Decode an application/x-www-form-urlencoded body strictly as UTF-8 (last value wins)."""
    try:
        text = body.decode("utf-8")
        pairs = parse_qsl(
            text,
            keep_blank_values=True,
            encoding="utf-8",
            errors="strict",
            max_num_fields=MAX_FIELDS,
        )
    except UnicodeDecodeError as exc:
        raise MalformedRequest("request body is not valid UTF-8 form data") from exc
    except ValueError as exc:
        raise MalformedRequest(f"too many form fields (more than {MAX_FIELDS})") from exc
    return dict(pairs)


def respond(fields: Mapping[str, str]) -> bytes:
    """Return the XML document answering one fetch; raise MalformedRequest when it is not one."""
    section = fields.get("section", "").strip()
    if not section:
        raise MalformedRequest("missing 'section' field")
    if section not in KNOWN_SECTIONS:
        raise MalformedRequest(f"unknown section {section!r}")
    if section == "directory":
        return directory(fields)
    if section == "dialplan":
        return dialplan(fields)
    return documents.not_found()


def directory(fields: Mapping[str, str]) -> bytes:
    """The SIP user `user`@`domain` when it is a known, enabled extension; else not found."""
    user = (fields.get("user") or fields.get("sip_auth_username") or "").strip()
    domain = (fields.get("domain") or fields.get("sip_auth_realm") or "").strip()
    if not user or not domain:
        # Domain-wide lookups (purpose=gateways, network-list, …) are left to the local XML.
        return documents.not_found()
    extension = (
        Extension.objects.select_related("site")
        .filter(number=user, site__sip_domain__iexact=domain, enabled=True)
        .first()
    )
    if extension is None:
        logger.info("xml_curl: directory user %s@%s not found", user, domain)
        return documents.not_found()
    return documents.directory_user(
        directory_user_for(extension, domain), cache_ms=settings.XML_CURL_USER_CACHE_MS
    )


def directory_user_for(extension: Extension, domain: str) -> documents.DirectoryUser:
    """Directory entry of `extension`: password, caller ID, its own variables, its agents."""
    variables: dict[str, str] = {
        "user_context": extension.context,
        "effective_caller_id_name": extension.display_name or extension.number,
        "effective_caller_id_number": extension.caller_id_number or extension.number,
    }
    variables.update({str(k): _variable_value(v) for k, v in extension.variables.items()})
    variables["ipbx_site"] = extension.site.code
    agent_ids = list(
        Agent.objects.filter(extension=extension, active=True)
        .order_by("login_id")
        .values_list("login_id", flat=True)
    )
    if agent_ids:
        variables["ipbx_agent_id"] = ",".join(agent_ids)
    return documents.DirectoryUser(
        domain=domain, user_id=extension.number, password=extension.password, variables=variables
    )


def _variable_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def dialplan(fields: Mapping[str, str]) -> bytes:
    """In the public context, hand a routed DNIS to icm over the outbound socket; else not found."""
    context = fields.get("Hunt-Context") or fields.get("Caller-Context") or ""
    destination = (
        fields.get("Hunt-Destination-Number") or fields.get("Caller-Destination-Number") or ""
    ).strip()
    if context != INBOUND_CONTEXT or not destination:
        return documents.not_found()
    route = (
        InboundRoute.objects.select_related("site", "flow", "queue", "closed_flow")
        .filter(dnis=destination, enabled=True)
        .order_by("priority", "pk")
        .first()
    )
    if route is None:
        logger.info("xml_curl: no inbound route for DNIS %s", destination)
        return documents.not_found()
    return documents.inbound_dialplan(inbound_extension_for(route))


def inbound_extension_for(route: InboundRoute) -> documents.InboundExtension:
    """The public-context extension of `route`: ipbx_* variables, then the socket to icm."""
    variables = {"ipbx_route_id": str(route.pk), "ipbx_site": route.site.code}
    if route.flow is not None:
        variables["ipbx_flow"] = route.flow.name
    if route.queue is not None:
        variables["ipbx_queue"] = route.queue.name
    if route.schedule_id is not None:
        variables["ipbx_schedule_id"] = str(route.schedule_id)
    if route.closed_flow is not None:
        variables["ipbx_closed_flow"] = route.closed_flow.name
    return documents.InboundExtension(
        name=f"ipbx_route_{route.pk}",
        destination_number=route.dnis,
        variables=variables,
        socket_address=f"{settings.ICM_OUTBOUND_HOST}:{settings.ICM_OUTBOUND_PORT}",
        context=INBOUND_CONTEXT,
    )
