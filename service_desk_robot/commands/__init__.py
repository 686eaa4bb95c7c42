"""Subcommands of `service-desk-robot`, one module each (see service_desk_robot.cli)."""
