"""FreeSWITCH XML documents (lxml.etree): directory user, inbound dialplan, and "not found".

The builders take plain values, not models, so they are easy to test and reuse.
"""

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from lxml import etree

DOCUMENT_TYPE = "freeswitch/xml"

# FreeSWITCH's stock dial-string: how `user/1001@domain` reaches the registered phone.
DEFAULT_DIAL_STRING = (
    "{^^:sip_invite_domain=${dialed_domain}:presence_id=${dialed_user}@${dialed_domain}}"
    "${sofia_contact(*/${dialed_user}@${dialed_domain})}"
)


@dataclass(frozen=True)
class DirectoryUser:
    """What FreeSWITCH needs to authenticate and reach one SIP user."""

    domain: str
    user_id: str
    password: str = ""
    a1_hash: str = ""
    variables: Mapping[str, str] = field(default_factory=dict)
    params: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class InboundExtension:
    """A public-context extension that hands the call to icm over an outbound socket."""

    name: str
    destination_number: str
    variables: Mapping[str, str]
    socket_address: str
    context: str = "public"


def _document(section: str, description: str = "") -> tuple[etree._Element, etree._Element]:
    root = etree.Element("document", type=DOCUMENT_TYPE)
    attrs = {"name": section}
    if description:
        attrs["description"] = description
    return root, etree.SubElement(root, "section", attrs)


def _serialize(root: etree._Element) -> bytes:
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def _add_pairs(parent: etree._Element, tag: str, pairs: Iterable[tuple[str, str]]) -> None:
    for name, value in pairs:
        etree.SubElement(parent, tag, name=name, value=value)


def not_found() -> bytes:
    """The document that tells FreeSWITCH to try its next binding or its local XML."""
    root, section = _document("result")
    etree.SubElement(section, "result", status="not found")
    return _serialize(root)


def directory_user(
    user: DirectoryUser, dial_string: str = DEFAULT_DIAL_STRING, cache_ms: int = 0
) -> bytes:
    """A directory section with one domain holding one user (params and variables).

    `cache_ms` > 0 marks the user `cacheable` for that long, < 0 until flushed: FreeSWITCH
    then keeps the entry instead of fetching it again on every `user/<ext>` originate (an
    agent offer); icm flushes it when the extension changes (`xml_flush_cache`).
    """
    root, section = _document("directory")
    domain = etree.SubElement(section, "domain", name=user.domain)
    domain_params = etree.SubElement(domain, "params")
    _add_pairs(domain_params, "param", [("dial-string", dial_string)])
    user_el = etree.SubElement(domain, "user", id=user.user_id)
    if cache_ms:
        user_el.set("cacheable", str(int(cache_ms)) if cache_ms > 0 else "true")
    params = etree.SubElement(user_el, "params")
    if user.a1_hash:
        _add_pairs(params, "param", [("a1-hash", user.a1_hash)])
    else:
        _add_pairs(params, "param", [("password", user.password)])
    _add_pairs(params, "param", user.params.items())
    variables = etree.SubElement(user_el, "variables")
    _add_pairs(variables, "variable", user.variables.items())
    return _serialize(root)


SOCKET_TRIES = 21  # one try at icm's socket and 20 more, SOCKET_RETRY_MS apart (acd.reentry)
SOCKET_RETRY_MS = 1500
APOLOGY = "We are sorry, we cannot take your call now. Please call again later. Goodbye."


def inbound_dialplan(extension: InboundExtension) -> bytes:
    """A dialplan section whose only extension sets ipbx_* variables and runs `socket … async full`.

    It answers nothing itself: icm answers (or not) once it owns the call. When icm cannot be
    reached (down, or it died holding the caller) the caller tries again, then is told sorry.
    """
    root, section = _document("dialplan", "IPBX inbound routes")
    context = etree.SubElement(section, "context", name=extension.context)
    ext = etree.SubElement(context, "extension", name=extension.name)
    condition = etree.SubElement(
        ext,
        "condition",
        field="destination_number",
        expression=f"^{re.escape(extension.destination_number)}$",
    )
    for name, value in extension.variables.items():
        etree.SubElement(condition, "action", application="set", data=f"{name}={value}")
    socket = f"{extension.socket_address} async full"
    etree.SubElement(condition, "action", application="socket", data=socket)
    # icm's crash keeps its callers (docs/acd.md "An icm crash"): the same retries at its
    # socket and the same apology as freeswitch_conf/dialplan/public.xml's ipbx_to_icm
    for _ in range(SOCKET_TRIES - 1):
        etree.SubElement(condition, "action", application="sleep", data=str(SOCKET_RETRY_MS))
        etree.SubElement(condition, "action", application="socket", data=socket)
    etree.SubElement(condition, "action", application="answer")
    etree.SubElement(condition, "action", application="speak", data=f"flite|kal|{APOLOGY}")
    etree.SubElement(condition, "action", application="hangup", data="NORMAL_TEMPORARY_FAILURE")
    return _serialize(root)
