"""Outbound ESL: the dialplan ``socket host:port [async] [full]`` application.

Owns connecting out to the application server (icm), running the session's ESL connection
(``connect`` → CHANNEL_DATA reply, then full ESL), parking the channel so ``sendmsg``
apps run in it, and the end of the session: the ``linger`` notice after hang-up, the final
``disconnect`` notice, and what the channel does when the socket goes away first
(`_server_lost`, from mod_event_socket.c's listener_run and socket_function). A server that
cannot be reached at all ends the app at once ("Socket Error!") and the dialplan goes on.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from switchsim.channel import Channel, truthy
from switchsim.esl_conn import EslConnection
from switchsim.session import park_loop
from switchsim.switch import Switch
from switchsim.wire import linger_notice

log = logging.getLogger(__name__)
CONNECT_TIMEOUT = 5.0


# how long after `connect` the socket app parks the channel (the server's next few commands
# are usually in by then, as in the captures)
PARK_AFTER_CONNECT = 0.05


async def socket_app(server: Any, sw: Switch, ch: Channel, arg: str) -> None:
    words = arg.split()
    if not words or ":" not in words[0]:
        log.warning("%s: socket: bad argument %r", ch.name, arg)
        return
    host, _, port_s = words[0].rpartition(":")
    try:
        port = int(port_s)
    except ValueError:
        log.warning("%s: socket: bad port in %r", ch.name, arg)
        return
    flags = {w.lower() for w in words[1:]}
    from switchsim.server import held  # the server imports this module

    await held(server, "hold_sockets_until", ch)  # sim_hold_sockets: the way out is slow
    try:
        async with asyncio.timeout(CONNECT_TIMEOUT):
            reader, writer = await asyncio.open_connection(host, port, limit=64 * 1024)
    except (OSError, TimeoutError) as exc:
        log.warning("%s: socket %s:%s failed: %s", ch.name, host, port, exc)
        return
    ch.vars["socket_host"] = host
    conn = EslConnection(server, reader, writer, session=ch)
    conn.async_mode = "async" in flags
    conn.full = "full" in flags
    conn.connected = asyncio.Event()  # type: ignore[attr-defined]
    loop = asyncio.get_running_loop()
    ch.outbound_done = loop.create_future()
    ch.outbound_conn = conn
    server.connections.add(conn)
    server.switch.bus.subscribe(conn)
    task = asyncio.create_task(_serve(server, sw, ch, conn))
    ch.background = task
    # mod_event_socket's socket app parks the channel only once the application server has
    # sent `connect` (LFLAG_CONNECTED); the park's CHANNEL_PARK then races the server's first
    # commands: a server that subscribes right after `connect` sees it (outbound-ivr.txt)
    while ch.is_up and not conn.closed and not conn.connected.is_set():
        try:
            async with asyncio.timeout(0.5):
                await conn.connected.wait()
        except TimeoutError:
            continue
    await asyncio.sleep(PARK_AFTER_CONNECT)
    if ch.is_up:
        await park_loop(sw, ch)
    ch.socket_lost = False
    # the socket app is over (uuid_bridge / transfer pulled the channel out of its park, or
    # the server was lost): as in mod_event_socket, the socket may stay as a listener; its
    # closing then matters only with `resume` (`_server_lost`)
    conn.app_over = True  # type: ignore[attr-defined]
    if conn.running and ch.is_up:
        return


def _server_lost(sw: Switch, ch: Channel, conn: EslConnection) -> None:
    """The end of mod_event_socket's listener_run while the channel is up. With `resume` (the
    command, or the `socket_resume` variable read at that moment) the channel is set to
    CS_RESET, so switch_channel_ready() is false: what it runs stops (endless queue music
    too), the socket app's park ends and socket_function sets CS_EXECUTE: the dialplan goes on
    after `socket`. Without it, only CF_CONTROLLED is cleared: the park ends once the running
    application is over, and the dialplan goes on too (it usually has nothing left: "executed
    the last dialplan instruction, hanging up", switch_core_standard_on_execute).

    A channel already out of the app (uuid_bridge pulled it into a bridge, or it was parked
    after one) and still resumed is reset as well: that ends its bridge, and a channel a
    uuid_bridge took has no dialplan left (its caller profile was stepped): it is hung up."""
    resume = conn.resume or truthy(ch.vars.get("socket_resume"))
    # the channel's flags and state are the channel's: a lost socket whose app is over (a
    # transfer back to icm started a new one) still resets or frees the app running now
    current = ch.outbound_conn if ch.outbound_conn is not None else conn
    in_app = not getattr(current, "app_over", False)
    log.info("%s: socket server lost (resume %s, in the app %s)", ch.name, resume, in_app)
    if in_app:
        if resume:
            ch.break_flag = True
            # socket_function's switch_ivr_parse_all_events runs what is still queued while
            # the channel is not ready (CS_RESET): each app ends at once
            ch.private.clear()
        else:
            ch.socket_lost = True
        ch.wake_up()
    elif resume and ch.transfer_to is None:
        log.warning("%s: socket server lost with resume outside the socket app: reset", ch.name)
        sw.hangup(ch, "NORMAL_CLEARING")


async def _serve(server: Any, sw: Switch, ch: Channel, conn: EslConnection) -> None:
    """Run the outbound connection and end it the way FreeSWITCH does."""
    reader_task = asyncio.create_task(conn.run())
    reported = asyncio.create_task(ch.reported.wait())
    try:
        done, _ = await asyncio.wait({reader_task, reported}, return_when=asyncio.FIRST_COMPLETED)
        if reader_task in done:
            # the application server went away (or said exit) before the call ended
            if ch.is_up:
                _server_lost(sw, ch, conn)
            return
        if conn.linger and not conn.closed:
            conn.send(linger_notice(ch.uuid, ch.name, conn.linger_time))
            timeout = None if conn.linger_time < 0 else float(conn.linger_time)
            try:
                async with asyncio.timeout(timeout if timeout is not None else 600):
                    await asyncio.shield(reader_task)
            except TimeoutError:
                pass
        if not conn.closed:
            conn.close_with_notice()
    finally:
        reported.cancel()
        if not reader_task.done():
            await asyncio.sleep(0.05)
            reader_task.cancel()
        server.connections.discard(conn)
        server.switch.bus.unsubscribe(conn)
        if ch.outbound_done is not None and not ch.outbound_done.done():
            ch.outbound_done.set_result(None)
