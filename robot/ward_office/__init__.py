"""The robot's side of the ward office link, without ROS.

`client` talks HTTP to the ward office server (timeouts, retries for idempotent calls,
circuit breaker), `outbox` keeps writes that must not be lost until they are delivered,
`errors` is the exception tree both raise, `models` the parsed replies.
"""
