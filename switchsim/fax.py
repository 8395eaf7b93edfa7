"""mod_spandsp's fax applications (``txfax <tiff>``, ``rxfax <tiff>``): T.30 sessions between
two fax ends, their CUSTOM ``spandsp::*`` events, the ``fax_*`` channel variables and the
TIFF files sent and received.

Owns what mod_spandsp_fax.c shows of a fax (capture fax.txt, a 2-page fax between the legs of
one loopback call): per side one ``spandsp::{tx,rx}faxnegociateresult`` (phase B: 14400 bit/s,
ECM on, T.38 off, both station ids from ``fax_ident``), one ``…pageresult`` per page (phase D:
8040x7700 pixels/metre, T.85(L0)) and one ``…result`` at the end (phase E: fax-success,
fax-result-code / -text). Event headers use dashes, the channel variables underscores.

The two ends of a fax are the channels that hear each other: loopback partners or bridge
partners, one running ``txfax`` and the other ``rxfax``; or a trunk leg whose far end is a fax
machine (``sim_far_end … fax``: it receives what ``txfax`` sends, and sends ``rxfax``
``${sim_fax_pages}`` pages, default 1). The timeline is the captured one (negotiation 5-7 s,
about 3.4 s per page, 19 s for two pages) times ``--fax-time-scale``. As captured, the
receiver finishes first; the sender's ``…result`` comes 40 ms later, after the receiving leg
has hung up, and still reports success.

Failures as mod_spandsp and spandsp report them: ``txfax`` of a missing file ends at once with
``Application-Response: Cannot send non-existant fax file`` (no event, no variable); a file
that is not a TIFF ends with result 41; nobody to talk to: result 2 (txfax, T0 = 60 s) or 3
(rxfax, T1 = 35 s); a hang-up or interruption before the document is complete: result 49.
``rxfax`` writes a real multi-page TIFF (1728 px wide, 204x196 dpi, PackBits) of the pages it
received; relative paths go under ``--recordings-dir``.
"""

from __future__ import annotations

import asyncio
import logging
import struct
import time
from dataclasses import dataclass
from pathlib import Path

from switchsim.channel import Channel, falsy, truthy
from switchsim.recording import resolve_path
from switchsim.switch import Switch

log = logging.getLogger(__name__)

W_PHASE_B = ("mod_spandsp_fax.c", "phase_b_handler", 386)
W_PHASE_D = ("mod_spandsp_fax.c", "phase_d_handler", 521)
W_PHASE_E = ("mod_spandsp_fax.c", "phase_e_handler", 676)

# spandsp's T30_ERR_* codes and t30_completion_code_to_str texts
OK, T0_EXPIRED, T1_EXPIRED, RX_DCNWHY, FILEERROR, CALLDROPPED = 0, 2, 3, 35, 41, 49
RESULT_TEXT = {
    OK: "OK",
    T0_EXPIRED: "Timed out waiting for initial communication",
    T1_EXPIRED: "Timed out waiting for the first message",
    RX_DCNWHY: "Unexpected DCN while waiting for DCS or DIS",
    FILEERROR: "TIFF/F file cannot be opened",
    CALLDROPPED: "The call dropped prematurely",
}
NO_FILE = "Cannot send non-existant fax file"
NO_TX_NAME = "Fax TX filename not set"
DEFAULT_IDENT = "SpanDSP Fax Ident"  # mod_spandsp's default ``ident``

# the captured timeline, in seconds from the moment both ends listen (fax.txt)
TX_NEGOTIATED = 5.2
RX_NEGOTIATED = 7.3
FIRST_PAGE = 3.0  # after the receiver's negotiation, before the first page's PAGE
PAGE = 3.4  # one page (the receiver's pageresult; the sender's follows TX_PAGE_LAG later)
TX_PAGE_LAG = 1.2
RX_RESULT_LAG = 1.15  # the sender's last pageresult → the receiver's result
DCN = 0.04  # the receiver's result → the sender's (not scaled: it is the DCN's length)
T0 = 60.0  # spandsp: the caller (txfax) waits this long for the far end to answer in T.30
T1 = 35.0  # the answerer (rxfax)

BIT_RATE = "14400"
LINE_RESOLUTION = "8040x7700"  # T.4 fine mode in pixels/metre
WIDTH, LENGTH, XDPI, YDPI = 1728, 2200, 204, 196
ENCODING, ENCODING_NAME = "32", "T.85(L0)"
IMAGE_SIZES = (684, 716)  # bytes of the captured pages; later pages as the last

_running: dict[str, FaxEnd] = {}  # channel uuid → its fax application's end


@dataclass(eq=False)
class FaxEnd:
    """One side of a fax: a channel's txfax / rxfax (ch None: a fax machine far end)."""

    mode: str  # "tx" | "rx"
    ch: Channel | None
    path: str
    ident: str
    ecm: bool = True
    pages_in_file: int = 0  # txfax: pages of the TIFF (0: not a TIFF)
    pixel_size: str = f"{WIDTH}x{LENGTH}"
    file_resolution: str = LINE_RESOLUTION
    pages: int = 0  # pages transferred so far
    negotiated: bool = False
    peer: FaxEnd | None = None
    result: int | None = None
    complete: bool = False  # the receiver confirmed the last page (MCF)


# -- TIFF -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class TiffInfo:
    pages: int
    width: int
    length: int
    resolution: str  # pixels/metre, as spandsp reports fax_file_image_resolution


def tiff_info(path: Path) -> TiffInfo | None:
    """Pages (the IFD chain), size and resolution of a TIFF; None if it is not one."""
    try:
        data = path.read_bytes()
    except OSError:
        return None
    if data[:4] not in (b"II*\x00", b"MM\x00*"):
        return None
    e = "<" if data[:2] == b"II" else ">"
    tags: dict[int, int | tuple[int, int]] = {}
    pages, offset, seen = 0, struct.unpack(e + "I", data[4:8])[0], set()
    while offset and offset not in seen and offset + 2 <= len(data):
        seen.add(offset)
        (count,) = struct.unpack(e + "H", data[offset : offset + 2])
        end = offset + 2 + 12 * count
        if end + 4 > len(data):
            return None
        for i in range(count if pages == 0 else 0):
            tag, kind, _n, value = struct.unpack(e + "HHII", data[offset + 2 + 12 * i : end][:12])
            if kind == 3:  # SHORT: in the first half of the value field
                value = struct.unpack(e + "H", data[offset + 10 + 12 * i : offset + 12 + 12 * i])[0]
            if kind == 5 and value + 8 <= len(data):  # RATIONAL: at an offset
                tags[tag] = struct.unpack(e + "II", data[value : value + 8])
            else:
                tags[tag] = value
        pages += 1
        (offset,) = struct.unpack(e + "I", data[end : end + 4])
    unit = tags.get(296, 2)
    per_metre = {2: 1 / 0.0254, 3: 100.0}.get(unit if isinstance(unit, int) else 2, 1 / 0.0254)

    def res(tag: int, default: int) -> int:
        v = tags.get(tag)
        dpi = v[0] / v[1] if isinstance(v, tuple) and v[1] else default
        return int(dpi * per_metre)

    width, length = tags.get(256, WIDTH), tags.get(257, LENGTH)
    return TiffInfo(
        pages,
        width if isinstance(width, int) else WIDTH,
        length if isinstance(length, int) else LENGTH,
        f"{res(282, XDPI)}x{res(283, YDPI)}",
    )


def _packbits(row: bytes) -> bytes:
    """TIFF PackBits (compression 32773) of one row."""
    out = bytearray()
    i, n = 0, len(row)
    while i < n:
        run = 1
        while i + run < n and run < 128 and row[i + run] == row[i]:
            run += 1
        if run >= 2:
            out += bytes(((257 - run) & 0xFF, row[i]))
            i += run
            continue
        j = i + 1
        while j < n and j - i < 128 and not (j + 1 < n and row[j] == row[j + 1]):
            j += 1
        out.append(j - i - 1)
        out += row[i:j]
        i = j
    return bytes(out)


def _page_rows(page: int) -> bytes:
    """A fine-mode page, 1 bit per pixel (1 = black): a header bar and ``page`` marks."""
    stride = WIDTH // 8
    white = bytes(stride)
    bar = bytes(8) + b"\xff" * (stride - 16) + bytes(8)
    marks = bytearray(stride)
    for k in range(page):
        marks[8 + 4 * k : 10 + 4 * k] = b"\xff\xff"
    rows = []
    for y in range(LENGTH):
        row = bar if 40 <= y < 60 else bytes(marks) if 100 <= y < 140 else white
        rows.append(_packbits(row))
    return b"".join(rows)


def write_tiff(path: Path, pages: int) -> int:
    """Write a multi-page bilevel TIFF (TIFF-F-like: 1728 px, 204x196 dpi); its size."""
    out = bytearray(b"II*\x00\x00\x00\x00\x00")
    previous_next = 4  # where the offset of the next IFD goes
    for page in range(1, pages + 1):
        strip = _page_rows(page)
        strip_at = len(out)
        out += strip
        if len(out) % 2:
            out.append(0)
        rational_at = len(out)
        out += struct.pack("<IIII", XDPI, 1, YDPI, 1)
        entries = [
            (254, 4, 1, 2),  # NewSubfileType: a page of a multi-page document
            (256, 3, 1, WIDTH),
            (257, 3, 1, LENGTH),
            (258, 3, 1, 1),  # BitsPerSample
            (259, 3, 1, 32773),  # Compression: PackBits
            (262, 3, 1, 0),  # Photometric: WhiteIsZero
            (266, 3, 1, 1),  # FillOrder
            (273, 4, 1, strip_at),  # StripOffsets
            (274, 3, 1, 1),  # Orientation
            (277, 3, 1, 1),  # SamplesPerPixel
            (278, 3, 1, LENGTH),  # RowsPerStrip
            (279, 4, 1, len(strip)),  # StripByteCounts
            (282, 5, 1, rational_at),  # XResolution
            (283, 5, 1, rational_at + 8),  # YResolution
            (296, 3, 1, 2),  # ResolutionUnit: inch
            (297, 3, 2, 0),  # PageNumber (page-1, pages), filled below
        ]
        ifd_at = len(out)
        struct.pack_into("<I", out, previous_next, ifd_at)
        out += struct.pack("<H", len(entries))
        for tag, kind, count, value in entries:
            if tag == 297:
                out += struct.pack("<HHIHH", tag, kind, count, page - 1, pages)
            elif kind == 3:
                out += struct.pack("<HHIHH", tag, kind, count, value, 0)
            else:
                out += struct.pack("<HHII", tag, kind, count, value)
        previous_next = len(out)
        out += b"\x00\x00\x00\x00"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(bytes(out))
    return len(out)


# -- events and variables -------------------------------------------------------------------
def _set(ch: Channel, name: str, value: str) -> None:
    """switch_channel_set_variable: a new value goes to the end (as FreeSWITCH lists them)."""
    ch.vars.pop(name, None)
    ch.set_var(name, value)


def _fire(sw: Switch, end: FaxEnd, kind: str, where: tuple[str, str, int], extra: list) -> None:
    ch = end.ch
    assert ch is not None
    subclass = f"spandsp::{end.mode}fax{kind}"
    # switch_event_add_header_string adds nothing for an empty value (remote ids unknown)
    headers = ch.data_headers() + [(k, v) for k, v in extra if v != ""]
    sw.bus.emit("CUSTOM", where, headers, None, subclass)


def _remote_ident(end: FaxEnd) -> str:
    return end.peer.ident if end.peer is not None and end.peer.negotiated else ""


def _negotiated(sw: Switch, end: FaxEnd) -> None:
    """phase_b_handler: the modems trained."""
    end.negotiated = True
    ch = end.ch
    if ch is None or end.result is not None:
        return
    ecm = "on" if end.ecm and (end.peer is None or end.peer.ecm) else "off"
    values = [("transfer_rate", BIT_RATE)]
    if end.mode == "tx":
        # t30_stats.pages_in_file is still 0 in phase B (captured)
        values.append(("document_total_pages", "0"))
    values += [
        ("ecm_used", ecm),
        ("t38_status", "off"),
        ("local_station_id", end.ident),
        ("remote_station_id", end.peer.ident if end.peer else ""),
    ]
    for k, v in values:
        _set(ch, f"fax_{k}", v)
    extra = [("uuid", ch.uuid)] + [
        (f"fax-{k.replace('_', '-')}", v) for k, v in values if k != "document_total_pages"
    ]
    if end.mode == "tx":
        extra.append(("fax-document-total-pages", "0"))
    _fire(sw, end, "negociateresult", W_PHASE_B, extra)


def _image_size(page: int) -> str:
    return str(IMAGE_SIZES[min(page, len(IMAGE_SIZES)) - 1])


def _page(sw: Switch, end: FaxEnd, page: int) -> None:
    """phase_d_handler: one page went through."""
    end.pages = page
    ch = end.ch
    if ch is None or end.result is not None:
        return
    values = [
        ("image_resolution", LINE_RESOLUTION),
        ("file_image_resolution", end.file_resolution),
        ("image_pixel_size", end.pixel_size),
        ("file_image_pixel_size", end.pixel_size),
        ("image_size", _image_size(page)),
        ("bad_rows", "0"),
        ("longest_bad_row_run", "0"),
        ("encoding", ENCODING),
        ("encoding_name", ENCODING_NAME),
        ("document_transferred_pages", str(page)),
    ]
    total = [("document_total_pages", str(end.pages_in_file))] if end.mode == "tx" else []
    for k, v in values + total:
        _set(ch, f"fax_{k}", v)
    v = dict(values)
    extra = [("uuid", ch.uuid), ("fax-document-transferred-pages", str(page))]
    if total:
        extra.append(("fax-document-total-pages", total[0][1]))
    extra += [
        ("fax-image-resolution", v["image_resolution"]),
        ("fax-file-image-resolution", v["file_image_resolution"]),
        ("fax-image-size", v["image_size"]),
        ("fax-image-pixel-size", v["image_pixel_size"]),
        ("fax-file-image-pixel-size", v["file_image_pixel_size"]),
        ("fax-bad-rows", "0"),
        ("fax-longest-bad-row-run", "0"),
        ("fax-encoding", ENCODING),
        ("fax-encoding-name", ENCODING_NAME),
    ]
    _fire(sw, end, "pageresult", W_PHASE_D, extra)


def finish(sw: Switch, end: FaxEnd, code: int) -> None:
    """phase_e_handler: the fax is over for this end (once); rxfax writes what it got."""
    if end.result is not None:
        return
    end.result = code
    ch = end.ch
    if end.mode == "rx" and end.pages and ch is not None:
        target = resolve_path(sw, end.path)
        try:
            size = write_tiff(target, end.pages)
            log.info(
                "%s: received %d fax page(s) into %s (%d bytes)", ch.name, end.pages, target, size
            )
        except OSError as exc:
            log.warning("%s: cannot write %s: %s", ch.name, target, exc)
    if ch is None:
        return
    ecm = "on" if end.negotiated and end.ecm and (end.peer is None or end.peer.ecm) else "off"
    total = end.pages_in_file if end.mode == "tx" else end.pages
    values = [
        ("success", "1" if code == OK else "0"),
        ("result_code", str(code)),
        ("result_text", RESULT_TEXT[code]),
        ("ecm_used", ecm),
        ("t38_status", "off"),
        ("local_station_id", end.ident),
        ("remote_station_id", _remote_ident(end)),
        ("document_transferred_pages", str(end.pages)),
        ("document_total_pages", str(total)),
        ("image_resolution", LINE_RESOLUTION if end.pages else "0x0"),
        # the receiver's image_size is back to 0 once the document is written (captured)
        ("image_size", _image_size(end.pages) if end.pages and end.mode == "tx" else "0"),
        ("bad_rows", "0"),
        ("transfer_rate", BIT_RATE if end.negotiated else "0"),
    ]
    for k, v in values:
        if v != "":
            _set(ch, f"fax_{k}", v)
    order = ("success", "result_code", "result_text", "document_transferred_pages")
    order += ("document_total_pages", "image_resolution", "image_size", "bad_rows")
    order += ("transfer_rate", "ecm_used", "t38_status", "local_station_id", "remote_station_id")
    v = dict(values)
    _fire(sw, end, "result", W_PHASE_E, [(f"fax-{k.replace('_', '-')}", v[k]) for k in order])
    ch.wake_up()


# -- the session between two ends -----------------------------------------------------------
def _alive(*ends: FaxEnd) -> bool:
    return all(e.result is None and (e.ch is None or e.ch.is_up) for e in ends)


async def _drive(sw: Switch, tx: FaxEnd, rx: FaxEnd) -> None:
    """T.30 between ``tx`` and ``rx``, on the captured timeline scaled by --fax-time-scale."""
    scale = sw.config.fax_time_scale
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    pages = tx.pages_in_file
    steps: list[tuple[float, object]] = []
    if pages == 0:  # not a TIFF: the sender cannot open it and disconnects
        steps.append(
            (TX_NEGOTIATED, lambda: (finish(sw, tx, FILEERROR), finish(sw, rx, RX_DCNWHY)))
        )
    else:
        steps += [(TX_NEGOTIATED, lambda: _negotiated(sw, tx))]
        steps += [(RX_NEGOTIATED, lambda: _negotiated(sw, rx))]
        at = RX_NEGOTIATED + FIRST_PAGE
        for page in range(1, pages + 1):
            at += PAGE
            steps.append((at, lambda p=page: _page(sw, rx, p)))
            steps.append((at + TX_PAGE_LAG, lambda p=page: _page(sw, tx, p)))
        steps.append((at + TX_PAGE_LAG + RX_RESULT_LAG, lambda: _complete(rx, tx)))
    for at, step in steps:
        await asyncio.sleep(max(0.0, t0 + at * scale - loop.time()))
        if not _alive(tx, rx):
            break
        step()  # type: ignore[operator]
    if tx.complete:
        finish(sw, rx, OK)
        # the sender's phase E comes with its DCN, after the receiver has gone (captured)
        await asyncio.sleep(DCN)
        finish(sw, tx, OK)
        return
    for end in (tx, rx):
        finish(sw, end, CALLDROPPED)


def _complete(rx: FaxEnd, tx: FaxEnd) -> None:
    rx.complete = tx.complete = True


def _link(sw: Switch, a: FaxEnd, b: FaxEnd) -> None:
    a.peer, b.peer = b, a
    tx, rx = (a, b) if a.mode == "tx" else (b, a)
    task = asyncio.create_task(_drive(sw, tx, rx), name="fax")
    _tasks.add(task)
    task.add_done_callback(_tasks.discard)
    for end in (a, b):
        if end.ch is not None:
            end.ch.wake_up()


_tasks: set[asyncio.Task[None]] = set()


def _try_link(sw: Switch, end: FaxEnd) -> None:
    """Find the fax end this one hears: its loopback or bridge partner's fax application, or
    a fax machine at the far end of a trunk leg."""
    ch = end.ch
    assert ch is not None
    partner = ch.loopback_peer or ch.bridge_peer
    if partner is not None:
        other = _running.get(partner.uuid)
        if other is not None and other.peer is None and other.mode != end.mode:
            _link(sw, end, other)
        return
    if ch.vars.get("sim_far_end") == "fax":
        machine = FaxEnd(
            "rx" if end.mode == "tx" else "tx", None, "", ch.vars.get("sim_fax_ident", "")
        )
        if machine.mode == "tx":
            try:
                machine.pages_in_file = max(1, int(ch.vars.get("sim_fax_pages", "1")))
            except ValueError:
                machine.pages_in_file = 1
        _link(sw, end, machine)


def _start(sw: Switch, ch: Channel, mode: str, path: str) -> FaxEnd:
    """spanfax_init: the end, and the variables it sets before any signal is exchanged."""
    ident = ch.vars.get("fax_ident", DEFAULT_IDENT)
    end = FaxEnd(mode, ch, path, ident, ecm=not falsy(ch.vars.get("fax_use_ecm")))
    _set(ch, "fax_v17_disabled", "1" if truthy(ch.vars.get("fax_disable_v17")) else "0")
    _set(ch, "fax_ecm_requested", "1" if end.ecm else "0")
    _set(ch, "fax_filename", path)
    # spandsp works in L16: the channel's read codec becomes L16 (a CODEC event on FreeSWITCH)
    ch.vars.setdefault("read_codec", "L16")
    ch.vars.setdefault("read_rate", "8000")
    return end


async def _run(sw: Switch, ch: Channel, end: FaxEnd) -> None:
    from switchsim.session import wait_until

    _running[ch.uuid] = end
    try:
        _try_link(sw, end)
        timeout = (T0 if end.mode == "tx" else T1) * sw.config.fax_time_scale
        linked = await wait_until(ch, lambda: end.peer is not None, timeout)
        if linked is None:
            finish(sw, end, T0_EXPIRED if end.mode == "tx" else T1_EXPIRED)
        elif linked:
            await wait_until(ch, lambda: end.result is not None, None)
        if end.result is None:
            # hung up or interrupted: a loopback partner's hang-up is this leg's hang-up too
            # (its CHANNEL_HANGUP comes before the result, as captured)
            if ch.is_up and ch.pending_hangup:
                sw.hangup(ch, ch.pending_hangup)
            finish(sw, end, OK if end.complete else CALLDROPPED)
    finally:
        _running.pop(ch.uuid, None)


# -- applications ---------------------------------------------------------------------------
async def app_txfax(sw: Switch, ch: Channel, arg: str) -> str | None:
    path = arg.strip()
    if not path:
        log.error("%s: Fax TX filename not set.", ch.name)
        return NO_TX_NAME
    file = Path(path)
    if not file.exists():
        log.error("%s: Cannot send non-existant fax file [%s]", ch.name, path)
        return NO_FILE
    end = _start(sw, ch, "tx", path)
    info = tiff_info(file)
    if info is not None:
        end.pages_in_file = info.pages
        end.pixel_size = f"{info.width}x{info.length}"
        end.file_resolution = info.resolution
    await _run(sw, ch, end)
    return None


async def app_rxfax(sw: Switch, ch: Channel, arg: str) -> str | None:
    path = arg.strip()
    if not path:
        # mod_spandsp: <spool>/<prefix>-<sessions>-<time>.tif
        spool = ch.vars.get("fax_spool") or str(sw.config.recordings_dir)
        prefix = ch.vars.get("fax_prefix", "fax")
        path = f"{spool}/{prefix}-{sw.session_counter}-{time.time_ns() // 1000}.tif"
    await _run(sw, ch, _start(sw, ch, "rx", path))
    return None
