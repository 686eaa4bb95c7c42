"""A fake TCP ESC/POS printer (server.py) with its own ESC/POS interpreter (decoder.py)."""
