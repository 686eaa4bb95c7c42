"""The robot's domain core: dialogue, intents, sessions, ward office client, outbox, config.

No ROS imports here: everything is testable with plain pytest. Nodes in `nodes/` wire it.
"""
