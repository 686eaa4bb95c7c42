"""Stand-ins for the world: ward office server, fake printer, dispenser emulator, lobby.

The robot reaches these only through the same interfaces as the real things
(HTTP, TCP ESC/POS, a serial line, camera images).
"""
