"""Entry point: ``python -m switchsim [options]`` (see ``--help``).

Owns process start-up: logging set-up, signal handling (SIGTERM/SIGINT → clean exit) and
running the :class:`~switchsim.server.Server` on an asyncio loop.
"""

from __future__ import annotations

import asyncio
import logging
import random
import signal
import sys

from switchsim.config import parse_args
from switchsim.dialplan import DialplanError
from switchsim.server import Server

log = logging.getLogger("switchsim")


async def amain(argv: list[str] | None = None) -> int:
    config = parse_args(argv)
    logging.basicConfig(
        level=getattr(logging, config.log_level, logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    if config.seed is not None:
        random.seed(config.seed)
    try:
        server = Server(config)
    except (DialplanError, OSError, ValueError) as exc:
        log.error("cannot start: %s", exc)
        return 2
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        await server.start()
    except OSError as exc:
        log.error("cannot listen on %s:%s: %s", config.esl_host, config.esl_port, exc)
        return 2
    await stop.wait()
    await server.stop()
    return 0


def main(argv: list[str] | None = None) -> int:
    return asyncio.run(amain(argv))


if __name__ == "__main__":
    sys.exit(main())
