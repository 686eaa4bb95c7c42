"""A TCP ESC/POS printer on 127.0.0.1 for the simulator and tests, with a control channel.

Printer port (like a real network printer's 9100): accepts connections, interprets ESC/POS
(decoder.py), answers DLE EOT status queries at once, and saves each job - the bytes from
ESC @ to the cut - as `job-NNNN.bin` (raw bytes), `job-NNNN.png` (the page decoded from the
raster commands received) and `job-NNNN.json` (status, sizes, errors) in the output folder.

A job's status: `printed` (complete, paper present), `no_paper` (received while the paper
was out: nothing printed), `paper_ran_out` (paper ran out part way), `incomplete` (the
connection ended before the cut, e.g. a reboot mid-job).

Control port (text lines over TCP, one reply line each, "ok ..." or "error ..."):

    paper ok|low|out        the paper sensor state
    offline                 power off: drop connections, refuse new ones
    online                  power on again
    reboot [SECONDS]        offline for SECONDS (default 0.5), then online
    drop BYTES [SECONDS]    reboot mid-job: after BYTES more bytes received, drop the
                            connection and reboot for SECONDS (default 0.5)
    runout ROWS             paper runs out after ROWS more printed raster rows
    silent on|off           stop / resume answering status queries (a sensorless printer)
    status                  one JSON object: paper, online, jobs, printed
    jobs                    one JSON list: every job's summary

`FakePrinter` is also usable in-process (tests): the same operations as methods.
Threading: one accept thread per listening port, one thread per client connection; shared
state behind one lock.
"""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from service_desk_robot.sim.fake_printer.decoder import Command, EscposParser, PageBuilder

log = logging.getLogger(__name__)

# DLE EOT n replies: fixed bits 0x12, plus the flags that apply.
_STATUS_FIXED = 0x12
_PAPER_REPLY = {"ok": 0x12, "low": 0x1E, "out": 0x7E}


@dataclass
class JobRecord:
    index: int
    status: str
    bytes: int
    rows: int
    rasters: int
    errors: list[str]
    text: str
    received_at: float
    bin_path: str
    png_path: str


class _Listener:
    """One listening socket with an accept thread; closable and reopenable on the same port."""

    def __init__(self, port: int, handler, name: str) -> None:
        self.port = port
        self._handler = handler
        self._name = name
        self._sock: socket.socket | None = None
        self._thread: threading.Thread | None = None

    def open(self) -> None:
        if self._sock is not None:
            return
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", self.port))
        sock.listen(8)
        self.port = sock.getsockname()[1]
        self._sock = sock
        self._thread = threading.Thread(target=self._accept, args=(sock,), name=self._name, daemon=True)
        self._thread.start()

    def close(self) -> None:
        sock, self._sock = self._sock, None
        if sock is None:
            return
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
        sock.close()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(2)

    def _accept(self, sock: socket.socket) -> None:
        while True:
            try:
                client, _ = sock.accept()
            except OSError:
                return  # closed
            threading.Thread(target=self._handler, args=(client,), daemon=True).start()


class FakePrinter:
    def __init__(
        self,
        port: int = 0,
        control_port: int | None = None,
        out_dir: Path | None = None,
        width_dots: int = 576,
    ) -> None:
        self.width_dots = width_dots
        self.out_dir = Path(out_dir) if out_dir else None
        self._lock = threading.Lock()
        self._paper = "ok"
        self._online = False
        self._silent = False
        self._drop_after: tuple[int, float] | None = None
        self._runout_rows: int | None = None
        self._clients: set[socket.socket] = set()
        self._jobs: list[JobRecord] = []
        self._printer = _Listener(port, self._serve_printer, "fake-printer")
        self._control = (
            _Listener(control_port, self._serve_control, "fake-printer-ctl")
            if control_port is not None
            else None
        )
        self._reboot_timer: threading.Timer | None = None

    # ----- lifecycle -----

    @property
    def port(self) -> int:
        return self._printer.port

    @property
    def control_port(self) -> int | None:
        return self._control.port if self._control else None

    def start(self) -> FakePrinter:
        if self.out_dir:
            self.out_dir.mkdir(parents=True, exist_ok=True)
        self.set_online()
        if self._control:
            self._control.open()
        return self

    def stop(self) -> None:
        if self._reboot_timer:
            self._reboot_timer.cancel()
        self.set_offline()
        if self._control:
            self._control.close()

    # ----- operations (also reachable through the control port) -----

    def set_paper(self, state: str) -> None:
        if state not in _PAPER_REPLY:
            raise ValueError(f"paper state {state!r}: use ok, low or out")
        with self._lock:
            self._paper = state
        log.info(f"fake printer: paper {state}")

    def set_offline(self) -> None:
        with self._lock:
            self._online = False
            clients, self._clients = set(self._clients), set()
        self._printer.close()
        for client in clients:
            with contextlib.suppress(OSError):
                client.shutdown(socket.SHUT_RDWR)
            client.close()

    def set_online(self) -> None:
        self._printer.open()
        with self._lock:
            self._online = True

    def reboot(self, seconds: float = 0.5) -> None:
        self.set_offline()
        self._reboot_timer = threading.Timer(seconds, self.set_online)
        self._reboot_timer.daemon = True
        self._reboot_timer.start()

    def drop_next_job_after(self, n_bytes: int, reboot_s: float = 0.5) -> None:
        with self._lock:
            self._drop_after = (n_bytes, reboot_s)

    def run_out_after(self, rows: int) -> None:
        with self._lock:
            self._runout_rows = rows

    def set_silent(self, silent: bool) -> None:
        with self._lock:
            self._silent = silent

    def jobs(self) -> list[JobRecord]:
        with self._lock:
            return list(self._jobs)

    def printed_jobs(self) -> list[JobRecord]:
        return [j for j in self.jobs() if j.status == "printed"]

    def status(self) -> dict[str, object]:
        with self._lock:
            return {
                "paper": self._paper,
                "online": self._online,
                "jobs": len(self._jobs),
                "printed": sum(j.status == "printed" for j in self._jobs),
                "port": self.port,
            }

    # ----- printer port -----

    def _status_reply(self, n: int) -> bytes:
        with self._lock:
            paper, silent = self._paper, self._silent
        if silent:
            return b""
        if n == 4:
            return bytes([_PAPER_REPLY[paper]])
        out = paper == "out"
        if n == 1:  # printer status: bit 3 = offline
            return bytes([_STATUS_FIXED | (0x08 if out else 0)])
        if n == 2:  # offline cause: bit 5 = stopped by paper end
            return bytes([_STATUS_FIXED | (0x20 if out else 0)])
        return bytes([_STATUS_FIXED])

    def _serve_printer(self, client: socket.socket) -> None:
        with self._lock:
            if not self._online:
                client.close()
                return
            self._clients.add(client)
        parser = EscposParser()
        job = _Job(self.width_dots)
        try:
            while True:
                try:
                    chunk = client.recv(65536)
                except OSError:
                    break
                if not chunk:
                    break
                drop = self._take_drop(len(chunk))
                if drop is not None:
                    chunk = chunk[: drop[0]]
                for command in parser.feed(chunk):
                    if command.name == "status":
                        reply = self._status_reply(command.args[0])
                        if reply:
                            with contextlib.suppress(OSError):
                                client.sendall(reply)
                        continue
                    if job.add(command, self):
                        self._finish(job, "printed")
                        job = _Job(self.width_dots)
                if drop is not None:
                    log.info(f"fake printer: rebooting mid-job after {job.size + parser.pending_bytes} bytes")
                    with contextlib.suppress(OSError):
                        client.shutdown(socket.SHUT_RDWR)
                    self.reboot(drop[1])
                    break
        finally:
            with self._lock:
                self._clients.discard(client)
            with contextlib.suppress(OSError):
                client.close()
            if job.size or parser.pending_bytes:
                self._finish(job, "incomplete")

    def _take_drop(self, n_bytes: int) -> tuple[int, float] | None:
        """Count bytes towards an armed drop; (bytes to keep of this chunk, reboot s) when it fires."""
        with self._lock:
            if self._drop_after is None:
                return None
            remaining, reboot_s = self._drop_after
            if n_bytes < remaining:
                self._drop_after = (remaining - n_bytes, reboot_s)
                return None
            self._drop_after = None
        return remaining, reboot_s

    def _finish(self, job: _Job, status: str) -> None:
        if status == "printed" and job.ran_out:
            status = "paper_ran_out"
        elif status == "printed" and job.no_paper:
            status = "no_paper"
        page = job.page.page()
        with self._lock:
            index = len(self._jobs) + 1
        bin_path = png_path = ""
        if self.out_dir:
            stem = self.out_dir / f"job-{index:04d}"
            bin_path, png_path = f"{stem}.bin", f"{stem}.png"
            Path(bin_path).write_bytes(bytes(job.raw))
            if page.image.height:
                page.image.save(png_path)
            else:
                png_path = ""
        record = JobRecord(
            index,
            status,
            job.size,
            page.image.height,
            len(page.rasters),
            page.errors,
            page.text,
            time.time(),
            bin_path,
            png_path,
        )
        if self.out_dir:
            Path(f"{stem}.json").write_text(json.dumps(asdict(record), indent=2) + "\n")
        with self._lock:
            self._jobs.append(record)
        log.info(f"fake printer: job {index} {status} ({job.size} bytes)")

    # ----- control port -----

    def _serve_control(self, client: socket.socket) -> None:
        with client, client.makefile("rwb") as stream:
            for line in stream:
                reply = self.command(line.decode("utf-8", "replace").strip())
                stream.write(reply.encode() + b"\n")
                stream.flush()

    def command(self, line: str) -> str:
        """Run one control command; returns the reply line."""
        words = line.split()
        if not words:
            return "error empty command"
        verb, args = words[0].lower(), words[1:]
        try:
            if verb == "paper" and len(args) == 1:
                self.set_paper(args[0].lower())
            elif verb == "offline" and not args:
                self.set_offline()
            elif verb == "online" and not args:
                self.set_online()
            elif verb == "reboot" and len(args) <= 1:
                self.reboot(float(args[0]) if args else 0.5)
            elif verb == "drop" and 1 <= len(args) <= 2:
                self.drop_next_job_after(int(args[0]), float(args[1]) if len(args) > 1 else 0.5)
            elif verb == "runout" and len(args) == 1:
                self.run_out_after(int(args[0]))
            elif verb == "silent" and len(args) == 1 and args[0] in ("on", "off"):
                self.set_silent(args[0] == "on")
            elif verb == "status" and not args:
                return "ok " + json.dumps(self.status())
            elif verb == "jobs" and not args:
                return "ok " + json.dumps([asdict(j) for j in self.jobs()])
            else:
                return f"error unknown command {line!r}; see the fake printer's docs"
        except ValueError as error:
            return f"error {error}"
        return "ok"


class _Job:
    """Bytes and page of the job being received."""

    def __init__(self, width_dots: int) -> None:
        self.raw = bytearray()
        self.page = PageBuilder(width_dots)
        self.no_paper = False
        self.ran_out = False

    @property
    def size(self) -> int:
        return len(self.raw)

    def add(self, command: Command, printer: FakePrinter) -> bool:
        """Record a command; True when it ends the job (cut)."""
        self.raw += command.raw
        with printer._lock:
            out = printer._paper == "out"
        if out:
            self.no_paper = self.no_paper or not self.ran_out
            if command.name == "raster":
                return False  # nothing prints without paper
        rows_before = self.page.rows
        self.page.apply(command)
        if command.name == "raster":
            with printer._lock:
                if printer._runout_rows is not None:
                    printer._runout_rows -= self.page.rows - rows_before
                    if printer._runout_rows <= 0:
                        printer._runout_rows = None
                        printer._paper = "out"
                        self.ran_out = True
        return command.name == "cut"


def send_control(port: int, line: str, timeout_s: float = 2.0) -> str:
    """Send one control command to a running fake printer; returns its reply line."""
    with (
        socket.create_connection(("127.0.0.1", port), timeout=timeout_s) as sock,
        sock.makefile("rwb") as stream,
    ):
        stream.write(line.encode() + b"\n")
        stream.flush()
        return stream.readline().decode().strip()
