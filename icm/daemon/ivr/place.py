"""A waiting caller's place in its queue, kept on its own channel (issue 21).

While a caller waits in a queue, its channel carries `ipbx_waiting`: the queue, when it first
entered it, its priority and skills, its customer and the data attached to the call (base64
of JSON: nothing in it can be read as an argument or expanded). If icm dies, the switch keeps
the call (the dialplan after the `socket` app brings it back to icm's socket); the new icm's
session reads the mark and puts the caller back in the same queue with the same arrival time,
so it keeps its place and hears no greeting again. The mark is removed when the caller leaves
the queue other than to an agent (a flow, voicemail, a transfer): a caller lost anywhere else
in the IVR starts its flow again from the beginning.
"""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Mapping
from typing import Any

from icm.domain.acd.model import Contact

log = logging.getLogger(__name__)

WAITING_MARK = "ipbx_waiting"
MAX_MARK = 8192  # bytes of JSON; a flow's data over this is not kept


def place_mark(contact: Contact) -> str:
    """The channel variable's value for `contact` (base64 of JSON)."""
    mark: dict[str, Any] = {
        "queue": contact.queue,
        "at": contact.enqueued_at,
        "priority": contact.priority,
        "skills": contact.required_skills,
        "customer": contact.customer_id,
        "last_agent": contact.last_agent_id,
        "attached": contact.attached,
    }
    data = json.dumps(mark, separators=(",", ":"), default=str).encode()
    if len(data) > MAX_MARK:  # the flow's answers are what may be large: dropped
        mark["attached"] = {k: v for k, v in contact.attached.items() if k != "ivr"}
        data = json.dumps(mark, separators=(",", ":"), default=str).encode()
    if len(data) > MAX_MARK:
        mark["attached"] = {"call_uuid": contact.attached.get("call_uuid", "")}
        data = json.dumps(mark, separators=(",", ":"), default=str).encode()
    return base64.b64encode(data).decode()


def returning_contact(uuid: str, ani: str, variables: Mapping[str, str]) -> Contact | None:
    """The contact of a caller back from a lost icm session, at its old place (None when the
    channel carries no mark, or one that cannot be read)."""
    raw = variables.get(WAITING_MARK) or ""
    if not raw:
        return None
    try:
        mark = json.loads(base64.b64decode(raw, validate=True))
        return Contact(
            contact_id=uuid,
            queue=str(mark["queue"]),
            enqueued_at=float(mark["at"]),
            priority=int(mark.get("priority") or 0),
            required_skills={str(k): int(v) for k, v in (mark.get("skills") or {}).items()},
            ani=ani,
            customer_id=str(mark.get("customer") or ""),
            last_agent_id=str(mark.get("last_agent") or ""),
            attached={**dict(mark.get("attached") or {}), "returned": True},
        )
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        log.warning("call %s: unreadable %s (%s): the flow starts again", uuid, WAITING_MARK, exc)
        return None
