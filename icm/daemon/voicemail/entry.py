"""THE way to send a caller into a mailbox from the daemon (IVR-7; for the ACD's overflow to
voicemail, R-7): `send_to_mailbox(leg, owner)` are the switch commands that hand the caller's
leg back to icm's IVR with the mailbox to record into. The IVR session that answers it
(icm.daemon.ivr.session → icm.daemon.ivr.voicemail.leave_voicemail) plays the mailbox's
greeting, the tone, records, files the message, lights the phone and emails it.

`owner` is how a flow's voicemail node names a mailbox: `agent:<login id>`,
`queue:<name>`, `department:<name>` (voicemail.filing.resolve). A caller waiting in a queue
is on an IVR session already: that session is superseded by the new one, as a transfer back
to a queue is; the ACD drops the contact from its queue itself (it is the ACD's to drop).
"""

from __future__ import annotations

from icm.domain import commands as cmd

VOICEMAIL_VARIABLE = "ipbx_voicemail"  # the mailbox a leg handed back to icm records into
# the public context's `ipbx_requeue` hands a leg back to icm's outbound socket
BACK_TO_ICM = cmd.Transfer("ipbx_requeue", "public")


def send_to_mailbox(leg: str, owner: str) -> tuple[cmd.SwitchCommand, ...]:
    """The commands (run them in order with the driver's api) that send `leg` to `owner`'s
    mailbox."""
    return (
        cmd.SetLegVariable(leg, VOICEMAIL_VARIABLE, owner),
        cmd.TransferLeg(leg, BACK_TO_ICM.destination, BACK_TO_ICM.context),
    )


def voicemail_apps(owner: str) -> tuple[cmd.App, ...]:
    """The same as applications, for a leg that runs them itself (an inline transfer or an
    outbound session's own `execute`)."""
    return (cmd.SetVar(VOICEMAIL_VARIABLE, owner), BACK_TO_ICM)
