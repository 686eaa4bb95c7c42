"""Run ROS 2 XML launch files where only wheels exist (no `ros2 launch` here).

    from service_desk_robot.launching import LaunchRunner, load_launch_file

parser.py reads a file into a LaunchDescription, substitutions.py evaluates `$(...)`,
supervisor.py runs the processes, runner.py ties them together; errors.py holds the
exception tree.
"""

from service_desk_robot.launching.errors import (
    LaunchError,
    LaunchFileError,
    ProcessStartError,
    SubstitutionError,
)
from service_desk_robot.launching.parser import (
    Argument,
    LaunchDescription,
    ProcessSpec,
    load_launch_file,
    validate_launch_file,
)
from service_desk_robot.launching.runner import LaunchRunner
from service_desk_robot.launching.supervisor import ManagedProcess

__all__ = [
    "Argument",
    "LaunchDescription",
    "LaunchError",
    "LaunchFileError",
    "LaunchRunner",
    "ManagedProcess",
    "ProcessSpec",
    "ProcessStartError",
    "SubstitutionError",
    "load_launch_file",
    "validate_launch_file",
]
