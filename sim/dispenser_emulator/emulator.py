"""The emulated board on a pseudo-terminal, with line faults and a text control channel.

`DispenserEmulator` opens a pty pair (os.openpty), puts it in raw mode, optionally points
a stable symlink at the slave (`link`) and runs a reader thread: bytes from the host go
through a `FrameDecoder` into the `Board`; the board's replies go back through `_send`,
where line faults are applied (no reply, garbled frames, noise, split writes). `unplug()`
closes the pty and removes the symlink (the host sees EIO, like a USB cable pulled);
`plug()` opens a new pty and points the symlink at it.

`ControlServer` takes one text command per line on 127.0.0.1 (see COMMANDS / docs).

Threading: the reader thread, motor thread and control threads share `_lock` for the
pty descriptors and fault settings; the board has its own lock.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import random
import select
import socketserver
import threading
import time
import tty
from collections.abc import Callable
from pathlib import Path

from service_desk_robot.robot.dispenser.protocol import STX, ErrorCode, FrameDecoder
from service_desk_robot.sim.dispenser_emulator.board import Board

_log = logging.getLogger(__name__)

READ_CHUNK = 4096
SELECT_S = 0.05  # reader thread wake-up period (to notice unplug / close)
SPLIT_DELAY_S = 0.002  # pause between the pieces of a split frame


class DispenserEmulator:
    def __init__(
        self,
        items: list[str],
        stock: list[int],
        *,
        item_time_s: float = 0.5,
        link: Path | str | None = None,
        seed: int | None = None,
        on_event: Callable[[dict[str, object]], None] | None = None,
    ) -> None:
        self.board = Board(items, stock, self._send, item_time_s=item_time_s)
        self.link = Path(link) if link else None
        self.slave_path = ""
        self._on_event = on_event
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self._master: int | None = None
        self._slave: int | None = None
        self._decoder = FrameDecoder()
        self._stop = threading.Event()
        self._reader: threading.Thread | None = None
        self._replug_timer: threading.Timer | None = None
        # line faults
        self.mute = False  # board hung: requests are read and ignored
        self.garble_frames = 0  # corrupt this many outgoing frames; -1 = all
        self.noise = False  # random bytes (start bytes among them) before every frame
        self.split = False  # write frames in small pieces: the host sees partial frames

    # --- life cycle -------------------------------------------------------------------

    @property
    def port(self) -> str:
        """The path a host opens: the stable symlink if any, else the current slave."""
        return str(self.link) if self.link else self.slave_path

    @property
    def plugged(self) -> bool:
        return self._master is not None

    def start(self) -> DispenserEmulator:
        self.plug()
        self._reader = threading.Thread(target=self._read_loop, name="emulator-reader", daemon=True)
        self._reader.start()
        return self

    def close(self) -> None:
        self._stop.set()
        if self._replug_timer is not None:
            self._replug_timer.cancel()
        if self._reader is not None:
            self._reader.join(timeout=2.0)
        self.board.stop()
        self.unplug()

    def plug(self) -> str:
        with self._lock:
            if self._master is not None:
                return self.slave_path
            master, slave = os.openpty()
            tty.setraw(slave)  # no echo, no line editing: a byte is a byte
            os.set_blocking(master, False)
            self._master, self._slave = master, slave
            self.slave_path = os.ttyname(slave)
            self._decoder = FrameDecoder()
            if self.link is not None:
                self.link.parent.mkdir(parents=True, exist_ok=True)
                temporary = self.link.with_name(f".{self.link.name}.{os.getpid()}")
                with contextlib.suppress(FileNotFoundError):
                    temporary.unlink()
                temporary.symlink_to(self.slave_path)
                temporary.replace(self.link)  # atomic: a host never sees a half-made link
        self._event({"event": "plugged", "port": self.port, "slave": self.slave_path})
        return self.slave_path

    def unplug(self, return_after_s: float | None = None) -> None:
        with self._lock:
            master, slave = self._master, self._slave
            self._master = self._slave = None
            if self.link is not None and self.link.is_symlink():
                self.link.unlink()
        for fd in (master, slave):
            if fd is not None:
                with contextlib.suppress(OSError):
                    os.close(fd)
        if master is not None:
            self._event({"event": "unplugged"})
        if return_after_s is not None and not self._stop.is_set():
            self._replug_timer = threading.Timer(return_after_s, self.plug)
            self._replug_timer.daemon = True
            self._replug_timer.start()

    def set_listener(self, on_event: Callable[[dict[str, object]], None] | None) -> None:
        """Who hears `plugged` / `unplugged` events (e.g. the CLI printing JSON lines)."""
        self._on_event = on_event

    def _event(self, event: dict[str, object]) -> None:
        _log.info(f"dispenser emulator: {event}")
        if self._on_event is not None:
            self._on_event(event)

    # --- the line -------------------------------------------------------------------

    def _read_loop(self) -> None:
        while not self._stop.is_set():
            master = self._master
            if master is None:
                time.sleep(SELECT_S)
                continue
            try:
                ready, _, _ = select.select([master], [], [], SELECT_S)
                if not ready:
                    continue
                data = os.read(master, READ_CHUNK)
            except (OSError, ValueError):
                continue  # unplugged under our feet: the next loop sees it
            frames = self._decoder.feed(data)
            corrupt, self._decoder.corrupt = self._decoder.corrupt, []
            if self.mute:
                continue
            for bad in corrupt:
                self.board.bad_checksum(bad.seq)
            for frame in frames:
                self.board.handle(frame)

    def _send(self, data: bytes) -> None:
        with self._lock:
            if self.mute or self._master is None:
                return
            if self.garble_frames:
                data = self._garble(data)
                if self.garble_frames > 0:
                    self.garble_frames -= 1
            if self.noise:
                junk = bytes(
                    self._rng.choice((STX, self._rng.randrange(256))) for _ in range(self._rng.randint(1, 6))
                )
                data = junk + data
            pieces = [data[i : i + 3] for i in range(0, len(data), 3)] if self.split else [data]
            master = self._master
        for index, piece in enumerate(pieces):
            if index:
                time.sleep(SPLIT_DELAY_S)
            try:
                os.write(master, piece)
            except (BlockingIOError, OSError):
                return  # nobody reading and the pty buffer is full, or unplugged: the bytes are lost

    def _garble(self, data: bytes) -> bytes:
        corrupted = bytearray(data)
        index = self._rng.randrange(1, len(corrupted))  # keep the start byte: force a checksum failure
        corrupted[index] ^= 1 << self._rng.randrange(8)
        return bytes(corrupted)

    # --- control channel --------------------------------------------------------------

    def status(self) -> dict[str, object]:
        return {
            **self.board.snapshot(),
            "plugged": self.plugged,
            "port": self.port,
            "slave": self.slave_path,
            "mute": self.mute,
            "garble": self.garble_frames,
            "noise": self.noise,
            "split": self.split,
        }

    def command(self, line: str) -> str:
        """Run one control command; return 'ok ...' or 'error ...' (one line)."""
        words = line.split()
        if not words:
            return "error empty command"
        name, args = words[0].lower(), words[1:]
        try:
            handler = COMMANDS[name][0]
        except KeyError:
            return f"error unknown command {name!r}; try 'help'"
        try:
            result = handler(self, args)
        except (KeyError, ValueError, IndexError) as error:
            return f"error {name}: {error}"
        return "ok" if result is None else f"ok {result}"


def _on_off(args: list[str]) -> bool:
    if not args or args[0] not in ("on", "off"):
        raise ValueError("expected on or off")
    return args[0] == "on"


def _cmd_garble(emulator: DispenserEmulator, args: list[str]) -> None:
    if not args:
        raise ValueError("expected a number of frames, on or off")
    emulator.garble_frames = {"on": -1, "off": 0}.get(args[0]) if args[0] in ("on", "off") else int(args[0])


def _cmd_door(emulator: DispenserEmulator, args: list[str]) -> None:
    if not args or args[0] not in ("open", "close"):
        raise ValueError("usage: door open|close")
    emulator.board.set_door(args[0] == "open")


def _cmd_unplug(emulator: DispenserEmulator, args: list[str]) -> None:
    emulator.unplug(float(args[0]) if args else None)


COMMANDS: dict[str, tuple[Callable[[DispenserEmulator, list[str]], object], str]] = {
    "help": (lambda e, a: " | ".join(f"{k}: {v[1]}" for k, v in COMMANDS.items()), "list commands"),
    "status": (lambda e, a: json.dumps(e.status()), "board and line state as JSON"),
    "jam": (lambda e, a: e.board.set_fault(ErrorCode.JAM), "mechanism jams (latched until clear)"),
    "motor_timeout": (
        lambda e, a: e.board.set_fault(ErrorCode.MOTOR_TIMEOUT),
        "motor stalls (latched until clear)",
    ),
    "clear": (lambda e, a: e.board.set_fault(ErrorCode.OK), "technician clears a jam or stall"),
    "door": (_cmd_door, "door open|close"),
    "empty": (lambda e, a: e.board.set_stock(e.board.slot_of(a[0]), 0), "empty ITEM: stock of ITEM to 0"),
    "stock": (lambda e, a: e.board.set_stock(e.board.slot_of(a[0]), int(a[1])), "stock ITEM N"),
    "item_time": (lambda e, a: setattr(e.board, "item_time_s", float(a[0])), "item_time SECONDS per item"),
    "mute": (lambda e, a: setattr(e, "mute", _on_off(a)), "mute on|off: board ignores requests (no reply)"),
    "garble": (_cmd_garble, "garble N|on|off: corrupt the next N reply frames (or all)"),
    "noise": (lambda e, a: setattr(e, "noise", _on_off(a)), "noise on|off: junk bytes before every frame"),
    "split": (lambda e, a: setattr(e, "split", _on_off(a)), "split on|off: frames arrive in 3-byte pieces"),
    "unplug": (_cmd_unplug, "unplug [SECONDS]: port disappears (returns after SECONDS if given)"),
    "plug": (lambda e, a: e.plug(), "port returns"),
}


class _Handler(socketserver.StreamRequestHandler):
    def handle(self) -> None:
        emulator: DispenserEmulator = self.server.emulator  # type: ignore[attr-defined]
        for raw in self.rfile:
            line = raw.decode("utf-8", "replace").strip()
            if line:
                self.wfile.write((emulator.command(line) + "\n").encode())


class ControlServer(socketserver.ThreadingTCPServer):
    """Text control channel: one command per line, one reply line per command."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, emulator: DispenserEmulator, port: int = 0, host: str = "127.0.0.1") -> None:
        super().__init__((host, port), _Handler)
        self.emulator = emulator
        self._thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)

    @property
    def port(self) -> int:
        return self.server_address[1]

    def start(self) -> ControlServer:
        self._thread.start()
        return self

    def close(self) -> None:
        self.shutdown()
        self.server_close()


def send_control(port: int, line: str, host: str = "127.0.0.1", timeout_s: float = 5.0) -> str:
    """Send one control command and return the reply line (for tests and the lobby sim)."""
    import socket

    with socket.create_connection((host, port), timeout=timeout_s) as sock:
        sock.sendall(line.encode() + b"\n")
        reply = b""
        while not reply.endswith(b"\n"):
            chunk = sock.recv(4096)
            if not chunk:
                break
            reply += chunk
    return reply.decode().strip()
