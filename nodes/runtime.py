"""How every node process starts and stops (one `main()` shape for all nodes).

`run_node(MyNode)` keeps DDS on loopback, initialises rclpy, spins the node on a
multi-threaded executor (so a service callback may wait on a future another callback
completes), and on Ctrl-C, SIGTERM or external shutdown destroys the node and shuts
rclpy down cleanly, exiting 0.
"""

from __future__ import annotations

import signal
import sys
from collections.abc import Callable

from service_desk_robot import ros_env


def run_node(factory: Callable[[], object], *, threads: int = 4, args: list[str] | None = None) -> int:
    ros_env.apply_loopback_defaults()
    import rclpy
    from rclpy.executors import ExternalShutdownException, MultiThreadedExecutor

    rclpy.init(args=sys.argv if args is None else args)
    # SIGTERM (what launchers send after SIGINT) ends the node the same clean way.
    signal.signal(signal.SIGTERM, lambda *_: rclpy.try_shutdown())
    node = None
    try:
        node = factory()
        executor = MultiThreadedExecutor(num_threads=threads)
        executor.add_node(node)
        executor.spin()
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        if node is not None:
            close = getattr(node, "close", None)
            if callable(close):
                close()
            node.destroy_node()
        rclpy.try_shutdown()
    return 0
