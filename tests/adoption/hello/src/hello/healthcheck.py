"""Exit 0 when the local service answers /healthz (the image's HEALTHCHECK): a plain socket,
so no proxy variable reroutes it and it costs little CPU; where HELLO_HOST/HELLO_PORT say."""

import os
import socket
import sys

PREFIX = f"{__package__.upper()}_"
# The :: socket takes IPv4 too; ::1 may be missing (IPv6 disabled in the container).
LOOPBACK = {"": "127.0.0.1", "0.0.0.0": "127.0.0.1", "::": "127.0.0.1"}  # noqa: S104


def main() -> int:
    host = os.environ.get(f"{PREFIX}HOST", "127.0.0.1").strip("[] ")
    host = LOOPBACK.get(host, host)
    port = os.environ.get(f"{PREFIX}PORT", "8000")
    try:
        with socket.create_connection((host.encode("ascii"), int(port)), timeout=2) as conn:
            conn.sendall(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            status = conn.recv(64).split(b"\r\n")[0]
    except (OSError, ValueError) as error:
        print(f"healthcheck: {host} port {port}: {error}", file=sys.stderr)
        return 1
    if status.split()[1:2] != [b"200"]:
        print(f"healthcheck: {host} port {port} answered {status!r}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
