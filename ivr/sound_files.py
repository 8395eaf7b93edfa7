"""Which audio files a flow plays, and whether the switch can reach each one (publishing
refuses a flow with a file the switch would answer "FILE NOT FOUND" for).

A node's `file` is one of:
 * `prompt:<name>`: an uploaded prompt (ivr.prompts), a file in IVR_PROMPTS_DIR;
 * a path relative to the IPBX sounds directory (`ivr/welcome.wav`): shipped in sounds/
   (IVR_SOUNDS_DIR); the switch resolves relative paths under its `sound_prefix`, which
   freeswitch_conf sets to the same directory (ipbx_sounds_dir);
 * an absolute path: only accepted when this host sees the file (a shared directory);
 * a stream or URL (`tone_stream://`, `silence_stream://`, `local_stream://`, `http://` …)
   or `say:` text: not a file, not checked; `file_string://a!b` is checked part by part.
A path holding an `{expression}` is only known on the call and is not checked.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path, PurePosixPath
from typing import Any

from django.conf import settings

from ivr.engine.prompts import items, node_prompt_items
from ivr.engine.validation import Problem
from ivr.prompts import PREFIX

FILE_STRING = "file_string://"
_PROMPT_KEYS = ("invalid_prompt", "timeout_prompt")


def files_in(graph: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    """(node id, file) for every file a flow's nodes play, in every language."""
    for node_id, node in sorted((graph.get("nodes") or {}).items()):
        if not isinstance(node, Mapping):
            continue
        try:
            specs = node_prompt_items(node)
            for key in _PROMPT_KEYS:
                specs += items(node.get(key))
        except ValueError:
            continue  # validation reports bad prompt specs
        for spec in specs:
            files = spec.get("file")
            for file in files.values() if isinstance(files, Mapping) else [files]:
                if isinstance(file, str) and file:
                    for part in _parts(file):
                        yield str(node_id), part


def _parts(file: str) -> list[str]:
    if file.startswith(FILE_STRING):
        return [part for part in file[len(FILE_STRING) :].split("!") if part]
    return [file]


def is_file(file: str) -> bool:
    """False for streams, URLs, `say:` text and paths only known on the call."""
    return not ("://" in file or file.startswith("say:") or "{" in file)


def why_unreachable(file: str, prompts: set[str] | None = None) -> str:
    """Why the switch cannot play `file` ("" when it can, or when it is no file).
    `prompts`: the names of uploaded prompts (read from the database when None)."""
    if not is_file(file):
        return ""
    if file.startswith(PREFIX):
        name = file[len(PREFIX) :]
        if prompts is None:
            from ivr.models import Prompt

            prompts = set(Prompt.objects.filter(name=name).values_list("name", flat=True))
        if name not in prompts:
            return f"there is no uploaded prompt named {name!r}"
        if not (Path(settings.IVR_PROMPTS_DIR) / f"{name}.wav").is_file():
            return f"the uploaded prompt {name!r} has no file in IVR_PROMPTS_DIR"
        return ""
    path = PurePosixPath(file)
    if ".." in path.parts:
        return f"file {file!r}: '..' is not allowed in a prompt path"
    if path.is_absolute():
        if Path(file).is_file():
            return ""
        return (
            f"file {file!r} does not exist here: name shipped sounds by a path relative "
            "to the sounds directory, or upload the prompt"
        )
    local = Path(settings.IVR_SOUNDS_DIR) / path
    # without an extension FreeSWITCH tries <path>.<codec>, then <path>.wav
    if not (local.is_file() or (not path.suffix and local.with_name(f"{path.name}.wav").is_file())):
        return (
            f"file {file!r} is not in the sounds directory {settings.IVR_SOUNDS_DIR} "
            "(the switch would play FILE NOT FOUND): add it there or upload it as a prompt"
        )
    return ""


def unreachable_files(graph: Mapping[str, Any]) -> list[Problem]:
    """A Problem (naming the node and the file) for every file the switch cannot play."""
    wanted = [(node, file) for node, file in files_in(graph) if is_file(file)]
    names = {file[len(PREFIX) :] for _, file in wanted if file.startswith(PREFIX)}
    prompts: set[str] = set()
    if names:
        from ivr.models import Prompt

        prompts = set(Prompt.objects.filter(name__in=names).values_list("name", flat=True))
    problems = []
    for node, file in wanted:
        why = why_unreachable(file, prompts)
        if why:
            problems.append(Problem(node, why))
    return problems
