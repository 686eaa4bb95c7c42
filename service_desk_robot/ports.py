"""Free TCP ports on 127.0.0.1, for the simulated world's servers and for tests.

All ports are held open together while they are chosen, so one call never returns the
same port twice. They are free when returned; a server that binds them a moment later
may still lose one to another program, which is acceptable on a development machine.
"""

from __future__ import annotations

import socket


def free_loopback_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()
