"""Service-desk robot: the CLI, the ROS environment and the launch runner.

Capabilities live in the subpackages mapped from the repository's folders:
`service_desk_robot.robot` (robot/), `.speech`, `.printer`, `.nodes`, `.sim`.
"""
