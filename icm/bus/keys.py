"""Redis key and channel names of the bus (one place, so every side agrees)."""

EVENTS_CHANNEL = "ipbx:events"


def seq_key(switch: str) -> str:
    """Per-switch sequence number of published state events."""
    return f"ipbx:{switch}:seq"


def calls_key(switch: str) -> str:
    """Hash call_uuid → call JSON: the live snapshot of one switch."""
    return f"ipbx:{switch}:calls"


def agents_key(switch: str) -> str:
    """Hash agent id → agent state JSON (the ACD's live view)."""
    return f"ipbx:{switch}:agents"


def queues_key(switch: str) -> str:
    """JSON of every queue's live figures (waiting, longest wait, agents), refreshed by icm."""
    return f"ipbx:{switch}:queues"


def alarms_key(switch: str) -> str:
    """JSON list of the alarms active now (the wallboard's alarm bar)."""
    return f"ipbx:{switch}:alarms"


def gateways_key(switch: str) -> str:
    """JSON of the switch's gateways: name → {state, ping, healthy, since}."""
    return f"ipbx:{switch}:gateways"


def status_key(switch: str) -> str:
    """Hash with the switch connection status (connected, since, detail)."""
    return f"ipbx:{switch}:status"


def epoch_key(switch: str) -> str:
    """Token written by icm's last snapshot reset; missing means Redis lost the snapshot."""
    return f"ipbx:{switch}:epoch"


def switches_key() -> str:
    """Set of switch names that an icm has published for."""
    return "ipbx:switches"


def commands_key(switch: str) -> str:
    """List of pending commands for the icm driving `switch`."""
    return f"ipbx:{switch}:commands"


def reply_key(command_id: str) -> str:
    """List where icm pushes the reply to one command."""
    return f"ipbx:reply:{command_id}"
