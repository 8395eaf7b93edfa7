"""Call generator for benchmarks: `sim_call`s at a fixed rate on its own ESL connection, in
its own process, so the process measured does not also generate the load."""

from __future__ import annotations

import argparse
import socket
import time


def _read_frame(file) -> tuple[dict[str, str], str]:
    headers: dict[str, str] = {}
    while True:
        line = file.readline().decode().rstrip("\n")
        if not line:
            if headers:
                break
            continue
        key, _, value = line.partition(": ")
        headers[key] = value
    length = int(headers.get("Content-Length", "0"))
    return headers, file.read(length).decode() if length else ""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--password", default="ClueCon")
    parser.add_argument("--rate", type=float, required=True)
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--dnis", required=True)
    parser.add_argument("--options", default="talk=0.3")
    parser.add_argument("--ani-prefix", default="55", help="each caller is <prefix><n:07d>")
    args = parser.parse_args()
    sock = socket.create_connection(("127.0.0.1", args.port))
    file = sock.makefile("rb")
    _read_frame(file)
    sock.sendall(f"auth {args.password}\n\n".encode())
    _read_frame(file)
    started = time.monotonic()
    for n in range(args.count):
        call = f"sim_call {args.ani_prefix}{n:07d} {args.dnis} {args.options}"
        sock.sendall(f"bgapi {call}\n\n".encode())
        _read_frame(file)
        lag = started + (n + 1) / args.rate - time.monotonic()
        if lag > 0:
            time.sleep(lag)
    sock.sendall(b"exit\n\n")


if __name__ == "__main__":
    main()
