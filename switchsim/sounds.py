"""Which sound files exist: ``--sounds-dir`` (FreeSWITCH's sound prefix) and ``--moh-dir``.

Owns the file lookup of switch_ivr_play_file / switch_core_file_open as far as the
simulation needs it: a relative path resolves under the channel's (or the global)
``sound_prefix`` variable, else under ``--sounds-dir``; a path without an extension is tried
as ``<path>.<codec>`` then ``<path>.wav``; ``file_string://a!b`` plays the parts that exist
(mod_dptools' next_file skips the others; a ``say:`` part is a file there, so it is missing).
Streams that are not files (tone_stream://, silence_stream://, say:, URLs) always "exist".
``local_stream://NAME`` exists only when mod_local_stream created that stream: with
``--moh-dir``, the stream ``moh`` exists while that directory holds audio files (no files: no
stream; an unknown name falls back to ``default``, which the project's config does not
define). Without ``--sounds-dir`` / ``--moh-dir`` every file and stream exists (switchsim's
behaviour before).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from switchsim.channel import Channel
    from switchsim.switch import Switch

AUDIO_EXTENSIONS = frozenset(
    "wav mp3 ogg flac au aif aiff raw r8 r16 r32 r48 ul al pcmu pcma gsm sln l16".split()
)


def _has_audio(directory: Path) -> bool:
    try:
        names = os.listdir(directory)
    except OSError:
        return False
    return any(
        name.rpartition(".")[2].lower() in AUDIO_EXTENSIONS and (directory / name).is_file()
        for name in names
    )


def local_stream_exists(sw: Switch, name: str) -> bool:
    """mod_local_stream's get_source (the stream's name is before any ``/<rate>``)."""
    moh_dir = sw.config.moh_dir
    if moh_dir is None:
        return True
    return name.split("/")[0] == "moh" and _has_audio(moh_dir)


def _prefix(sw: Switch, ch: Channel | None) -> str:
    prefix = (ch.vars.get("sound_prefix") if ch is not None else None) or sw.globals.get(
        "sound_prefix"
    )
    return prefix or str(sw.config.sounds_dir)


def file_exists(sw: Switch, ch: Channel | None, spec: str) -> bool:
    """Could FreeSWITCH open this sound spec for playing?"""
    spec = spec.strip()
    if spec.startswith("local_stream://"):
        return local_stream_exists(sw, spec[len("local_stream://") :])
    if sw.config.sounds_dir is None:
        return True
    if spec.startswith("file_string://"):
        # switch_core_file's file_string opens each part as a file: `say:` is only understood
        # as a whole argument, inside file_string it is a (missing) relative path, as a real
        # switch shows ("Can't open file …/sounds/say:…"); `tts://engine|voice|text` works
        parts = spec[len("file_string://") :].split("!")
        return any(
            _path_exists(sw, ch, p) if p.startswith("say:") else file_exists(sw, ch, p)
            for p in parts
        )
    while spec.startswith("{") and "}" in spec:  # {vars}file
        spec = spec[spec.index("}") + 1 :].lstrip()
    if not spec or "://" in spec or spec.startswith("say:") or spec == "silence":
        return True
    return _path_exists(sw, ch, spec)


def _path_exists(sw: Switch, ch: Channel | None, spec: str) -> bool:
    path = spec if os.path.isabs(spec) else os.path.join(_prefix(sw, ch), spec)
    if re.search(r"\.[^./]+$", path):
        return os.path.isfile(path)
    codec = ch.codec[0] if ch is not None else "PCMU"
    return os.path.isfile(f"{path}.{codec}") or os.path.isfile(f"{path}.wav")
