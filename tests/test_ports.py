"""Free loopback ports for the simulated world: distinct within a call, and bindable."""

import socket

from service_desk_robot.ports import free_loopback_ports


def test_one_call_gives_distinct_ports_that_can_be_bound_on_loopback():
    ports = free_loopback_ports(5)
    assert len(set(ports)) == 5
    for port in ports:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", port))
