"""`service-desk-robot env`: print the ROS environment a run gets (for a shell: eval it)."""

from __future__ import annotations

import argparse
import os
import shlex

HELP = "print the ROS environment of a run (loopback discovery, domain id, log folder)"
VARIABLES = (
    "ROS_AUTOMATIC_DISCOVERY_RANGE",
    "ROS_DOMAIN_ID",
    "ROS_LOG_DIR",
    "RMW_IMPLEMENTATION",
    "AMENT_PREFIX_PATH",
)


def configure(parser: argparse.ArgumentParser) -> None:
    del parser  # no options


def run(args: argparse.Namespace) -> int:
    del args
    for name in VARIABLES:
        print(f"export {name}={shlex.quote(os.environ.get(name, ''))}")
    return 0
