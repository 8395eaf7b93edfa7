"""Who hears whom: every channel's audio paths, computed from the switch's state.

Owns the media-path model (switchsim carries no audio; this says where it would go) and the
media bugs that change it: :class:`AudioBug` (``uuid_audio``) and :class:`Eavesdrop` (the
``eavesdrop`` app, :mod:`switchsim.eavesdrop`). :func:`audio_paths` is pure: it reads the
channels and conference rooms and changes nothing. ``sim_audio`` and ``sim_conference`` show
its result.

The model follows FreeSWITCH's media path: switch_core_session_read_frame (switch_core_io.c)
runs every bug's READ_REPLACE first, in the order the bugs were attached, then gives every
READ_STREAM bug the resulting frame; switch_core_session_write_frame (switch_core_media.c)
runs each bug's WRITE_STREAM then WRITE_REPLACE, bug after bug; eavesdrop_callback and
session_audio_callback (switch_ivr_async.c) are the bugs.

* A channel's **voice** (what is read from it) is its own endpoint, then its bugs in order:
  ``uuid_audio <uuid> start read mute N`` with N != 0 replaces the frame with silence (N = 1
  zeros, N > 1 comfort noise at that divisor: no speech either way), so whatever an earlier
  bug mixed in is gone as well; an eavesdropper in MUX_READ mode mixes its own voice in.
* What is **written** to a channel: its bridge partner's voice; in a conference the voices
  of the members the room mixes for it (:meth:`switchsim.conference.Room.heard_by`); for an
  eavesdropper, what its bug on the target captures. Then the channel's bugs in order: an
  eavesdropper with BRIDGE_WRITE captures the frame so far, one in MUX_WRITE mode mixes its
  voice in, ``uuid_audio … write mute N`` (N != 0) silences the frame. A channel **hears**
  what is written to it.
* An **eavesdropper** hears, with BRIDGE_READ, the target's voice after all read bugs minus
  its own whisper (switch_unmerge_sln) and, with BRIDGE_WRITE, what is written to the target
  up to its own bug.
* **Hold** (uuid_hold: CF_HOLD and CF_SUSPEND, the bridge stops passing audio both ways, hold
  music is broadcast to the partner): a held channel hears nothing and sends nothing; its
  bridge partner hears hold music (:attr:`Heard.music`) instead of it.
* Loopback pairs are not followed: each leg counts as an endpoint of its own. Prompts and
  other media an application plays are not modelled.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from switchsim.channel import Channel

if TYPE_CHECKING:
    from switchsim.conference import Member, Room

MUSIC = "<hold music>"  # the token for music on hold among the uuids a channel hears


@dataclass(eq=False)
class AudioBug:
    """uuid_audio's media bug (switch_session_audio_t); its levels live in ``Channel.audio``."""

    bug_target: str  # the command that created it, "mute" or "level" (Media-Bug-Target)
    function: str = "audio"


@dataclass(eq=False)
class Eavesdrop:
    """One eavesdrop media bug on ``target`` (struct eavesdrop_pvt and its ED_* flags)."""

    eavesdropper: Channel
    target: Channel
    mux_read: bool = False  # ED_MUX_READ: whisper into what is read from the target
    mux_write: bool = False  # ED_MUX_WRITE: whisper into what is written to the target
    bridge_read: bool = True  # ED_BRIDGE_READ: hear what is read from the target
    bridge_write: bool = True  # ED_BRIDGE_WRITE: hear what is written to the target
    dtmf: bool = True  # ED_DTMF: the eavesdropper's digits switch modes
    function: str = "eavesdrop"

    @property
    def bug_target(self) -> str:
        return self.target.uuid

    def as_json(self) -> dict[str, Any]:
        return {
            "target": self.target.uuid,
            "mux_read": self.mux_read,
            "mux_write": self.mux_write,
            "bridge_read": self.bridge_read,
            "bridge_write": self.bridge_write,
            "dtmf": self.dtmf,
        }


@dataclass(frozen=True)
class Heard:
    """What one channel hears: channel uuids (sorted) and whether hold music."""

    uuids: tuple[str, ...] = ()
    music: bool = False


NOTHING = Heard()
_Frame = frozenset[str]
_EMPTY: _Frame = frozenset()


def audio_paths(
    channels: Iterable[Channel],
    rooms: Iterable[Room] = (),
    only: Iterable[Channel] | None = None,
) -> dict[str, Heard]:
    """What every live channel (or each of ``only`` that is up) hears, by uuid; a channel
    that is not up hears nothing and is left out."""
    model = _Model(channels, rooms)
    wanted = model.up.values() if only is None else [ch for ch in only if model.live(ch)]
    return {ch.uuid: model.heard(ch) for ch in wanted}


def heard_by(channels: Iterable[Channel], rooms: Iterable[Room], ch: Channel) -> Heard:
    """What one channel hears (only the paths that lead to it are evaluated)."""
    model = _Model(channels, rooms)
    return model.heard(ch) if model.live(ch) else NOTHING


class _Model:
    """One evaluation, following the paths from the channel asked about. A frame asked for
    again while it is being computed (eavesdroppers eavesdropping on each other) counts as
    silence there: the loop is cut where it closes."""

    def __init__(self, channels: Iterable[Channel], rooms: Iterable[Room]) -> None:
        self.up = {ch.uuid: ch for ch in channels if ch.is_up}
        self.members: dict[str, tuple[Room, Member]] = {}
        for room in rooms:
            for m in room.members:
                self.members[m.ch.uuid] = (room, m)
        self._busy: set[tuple[str, str]] = set()

    def live(self, ch: Channel | None) -> bool:
        return ch is not None and self.up.get(ch.uuid) is ch

    def heard(self, ch: Channel) -> Heard:
        frame = self.written(ch)[0]
        uuids = tuple(sorted(u for u in frame if u not in (MUSIC, ch.uuid)))
        return Heard(uuids, MUSIC in frame)

    def voice(self, ch: Channel, skip: Eavesdrop | None = None) -> _Frame:
        """What is read from ``ch`` once every READ_REPLACE bug has run; without what
        ``skip`` mixed in (switch_unmerge_sln: what that eavesdropper gets back)."""
        key = ("voice", ch.uuid)
        if key in self._busy or not self.live(ch):
            return _EMPTY
        self._busy.add(key)
        frame: set[str] = set() if ch.held else {ch.uuid}
        for bug in ch.bugs:
            if isinstance(bug, AudioBug):
                if ch.audio.get("read_mute"):
                    frame = set()
            elif bug is not skip and isinstance(bug, Eavesdrop) and bug.mux_read:
                if self.live(bug.eavesdropper):
                    frame |= self.voice(bug.eavesdropper)
        self._busy.discard(key)
        return frozenset(frame)

    def written(self, ch: Channel) -> tuple[_Frame, dict[Eavesdrop, _Frame]]:
        """What is written to ``ch`` after its bugs, and what each BRIDGE_WRITE eavesdropper
        on it captured on the way."""
        key = ("written", ch.uuid)
        if key in self._busy or not self.live(ch) or ch.held:
            return _EMPTY, {}
        self._busy.add(key)
        frame = set(self.incoming(ch))
        captured: dict[Eavesdrop, _Frame] = {}
        for bug in ch.bugs:
            if isinstance(bug, AudioBug):
                if ch.audio.get("write_mute"):
                    frame = set()
            elif isinstance(bug, Eavesdrop):
                if bug.bridge_write:
                    captured[bug] = frozenset(frame)
                if bug.mux_write and self.live(bug.eavesdropper):
                    frame |= self.voice(bug.eavesdropper)
        self._busy.discard(key)
        return frozenset(frame), captured

    def incoming(self, ch: Channel) -> set[str]:
        """What reaches ``ch``'s write path: bridge partner, conference mix, eavesdrop."""
        out: set[str] = set()
        peer = ch.bridge_peer
        if peer is not None and peer is not ch and self.live(peer):
            if peer.held:
                out.add(MUSIC)
            else:
                out |= self.voice(peer)
        member = self.members.get(ch.uuid)
        if member is not None:
            room, m = member
            for other in room.heard_by(m):
                out |= self.voice(other.ch)
        ep = ch.eavesdrop
        if isinstance(ep, Eavesdrop) and self.live(ep.target) and ep in ep.target.bugs:
            out |= self.captured(ep)
        return out

    def captured(self, ep: Eavesdrop) -> set[str]:
        """What an eavesdrop bug hands its eavesdropper (the READ_PING mix of both streams)."""
        out: set[str] = set()
        if ep.bridge_read:
            out |= self.voice(ep.target, skip=ep)
        if ep.bridge_write:
            out |= self.written(ep.target)[1].get(ep, _EMPTY)
        return out
