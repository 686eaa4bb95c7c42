"""A faithful stand-in for the ward office server: FastAPI + SQLite under /api/v1.

`config` reads the catalogue and server settings, `store` holds the books and rules,
`app` is the HTTP API, `runner` serves it (in a thread for tests and the lobby
simulation, or in the foreground for `service-desk-robot ward-office-server`).
"""
