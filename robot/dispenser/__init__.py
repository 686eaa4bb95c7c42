"""Water and candy dispenser: serial protocol, client, exactly-once journal, limits (no ROS)."""
