"""Connections to a real (or fake) ESC/POS printer through python-escpos, and its paper sensor.

`PrinterConnection` owns one python-escpos device object (Network, Serial, Usb or File, chosen
by `BackendConfig.kind`), opens it lazily, writes job bytes, and asks the paper sensor with the
real-time status query DLE EOT 4. Every failure of the device, the socket, pyserial or pyusb is
mapped onto PrinterOfflineError (and the device is closed, so the next call reconnects from
scratch: a printer that rebooted needs a new TCP connection or a reopened port).

Paper sensor replies (DLE EOT 4, one byte, fixed bits 0x12): bits 0x0C = roll near end
(LOW), bits 0x60 = roll end (OUT). A printer that never answers (many serial and file
printers) reads as UNKNOWN: printing goes ahead, as it would without a sensor.

Not thread-safe: one owner (the printing worker of printer/service.py) calls it.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from enum import IntEnum

from escpos.exceptions import Error as EscposError

from service_desk_robot.printer.errors import PrinterConfigError, PrinterOfflineError

log = logging.getLogger(__name__)

DLE_EOT_PAPER = b"\x10\x04\x04"  # real-time paper sensor status query
_FIXED_MASK, _FIXED_BITS = 0x93, 0x12  # bits that are always 0/1 in a status byte
_NEAR_END, _PAPER_END = 0x0C, 0x60
KINDS = ("network", "serial", "usb", "file")


class PaperState(IntEnum):
    """Values match service_desk_interfaces/msg/PrinterStatus PAPER_*."""

    UNKNOWN = 0
    OK = 1
    LOW = 2
    OUT = 3


def parse_paper_status(reply: bytes) -> PaperState:
    """The paper state in a DLE EOT 4 reply (last byte wins), UNKNOWN if there is none."""
    if not reply:
        return PaperState.UNKNOWN
    status = reply[-1]
    if status & _FIXED_MASK != _FIXED_BITS:
        return PaperState.UNKNOWN
    if status & _PAPER_END:
        return PaperState.OUT
    if status & _NEAR_END:
        return PaperState.LOW
    return PaperState.OK


@dataclass(frozen=True)
class BackendConfig:
    kind: str = "network"  # network | serial | usb | file
    host: str = "127.0.0.1"
    port: int = 9100
    device: str = ""  # serial device, e.g. /dev/ttyUSB0
    baud: int = 115200
    usb_vendor_id: int = 0
    usb_product_id: int = 0
    path: str = ""  # file backend: a file or a device node such as /dev/usb/lp0
    timeout_s: float = 3.0  # connect / write timeout
    status_timeout_s: float = 0.5  # how long to wait for a paper status reply
    status_query: bool = True  # False for printers that ignore DLE EOT (paper always UNKNOWN)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise PrinterConfigError(f"printer backend {self.kind!r} unknown; use one of {KINDS}")
        if self.kind == "network" and not (self.host and 0 < self.port < 65536):
            raise PrinterConfigError("network printer needs host and a port in 1..65535")
        if self.kind == "serial" and not self.device:
            raise PrinterConfigError("serial printer needs a device, e.g. /dev/ttyUSB0")
        if self.kind == "usb" and not (self.usb_vendor_id and self.usb_product_id):
            raise PrinterConfigError("USB printer needs usb_vendor_id and usb_product_id")
        if self.kind == "file" and not self.path:
            raise PrinterConfigError("file printer needs a path")

    @property
    def hardware_id(self) -> str:
        if self.kind == "network":
            return f"tcp:{self.host}:{self.port}"
        if self.kind == "serial":
            return f"serial:{self.device}@{self.baud}"
        if self.kind == "usb":
            return f"usb:{self.usb_vendor_id:04x}:{self.usb_product_id:04x}"
        return f"file:{self.path}"


class PrinterConnection:
    def __init__(self, config: BackendConfig, profile: object) -> None:
        self.config = config
        self._profile = profile
        self._printer = None  # the open python-escpos device object, or None

    @property
    def hardware_id(self) -> str:
        return self.config.hardware_id

    @property
    def connected(self) -> bool:
        return self._printer is not None

    def _make(self) -> object:
        from escpos import printer as escpos_printer

        c = self.config
        if c.kind == "network":
            return escpos_printer.Network(host=c.host, port=c.port, timeout=c.timeout_s)
        if c.kind == "serial":
            return escpos_printer.Serial(devfile=c.device, baudrate=c.baud, timeout=c.timeout_s)
        if c.kind == "usb":
            if not escpos_printer.Usb.is_usable():
                # The printer stays offline with this reason until pyusb is installed.
                raise PrinterOfflineError(
                    f"{self.hardware_id}: USB printing needs pyusb and libusb installed"
                )
            timeout_ms = int(c.timeout_s * 1000)  # pyusb takes milliseconds
            return escpos_printer.Usb(
                idVendor=c.usb_vendor_id, idProduct=c.usb_product_id, timeout=timeout_ms
            )
        return escpos_printer.File(devfile=c.path)

    def connect(self) -> None:
        if self._printer is not None:
            return
        device = self._make()
        device.profile = self._profile
        try:
            device.open()
        except (EscposError, OSError, ValueError) as error:
            raise PrinterOfflineError(f"{self.hardware_id}: cannot connect: {error}") from error
        self._printer = device
        log.info(f"printer connected: {self.hardware_id}")

    def close(self) -> None:
        printer, self._printer = self._printer, None
        if printer is None:
            return
        try:
            printer.close()
        except Exception as error:  # noqa: BLE001 - closing a broken device must never raise
            log.debug(f"closing {self.hardware_id}: {error!r}")

    def _fail(self, what: str, error: BaseException) -> PrinterOfflineError:
        self.close()
        return PrinterOfflineError(f"{self.hardware_id}: {what}: {error}")

    def write(self, data: bytes) -> None:
        """Send bytes; on any failure the connection is closed and PrinterOfflineError raised."""
        self.connect()
        try:
            self._printer._raw(data)
        except Exception as error:
            raise self._fail("write failed", error) from error

    def paper(self) -> PaperState:
        """Ask the paper sensor. Also proves the link works: a dead TCP peer raises PrinterOfflineError."""
        self.connect()
        if not self.config.status_query or self.config.kind == "file":
            return PaperState.UNKNOWN
        try:
            self._drain()
            self._printer._raw(DLE_EOT_PAPER)
            reply = self._read_reply()
        except PrinterOfflineError:
            self.close()  # a dead connection: the next call reconnects from scratch
            raise
        except Exception as error:
            raise self._fail("status query failed", error) from error
        return parse_paper_status(reply)

    def _drain(self) -> None:
        """Drop stale replies (a late answer to an earlier query must not be read as this one)."""
        device = self._printer.device
        if self.config.kind == "network":
            device.setblocking(False)
            try:
                while True:
                    chunk = device.recv(64)
                    if not chunk:
                        raise PrinterOfflineError(f"{self.hardware_id}: connection closed by the printer")
            except BlockingIOError:
                pass
            finally:
                if self._printer is not None:
                    device.settimeout(self.config.timeout_s)
        elif self.config.kind == "serial":
            device.reset_input_buffer()

    def _read_reply(self) -> bytes:
        device = self._printer.device
        timeout = self.config.status_timeout_s
        if self.config.kind == "network":
            device.settimeout(timeout)
            try:
                reply = device.recv(16)
            except TimeoutError:
                return b""  # connected but silent: no sensor answer
            finally:
                device.settimeout(self.config.timeout_s)
            if not reply:
                raise self._fail("status query", ConnectionResetError("connection closed by the printer"))
            return reply
        if self.config.kind == "serial":
            previous = device.timeout
            device.timeout = timeout
            try:
                return device.read(1)
            finally:
                device.timeout = previous
        # USB: pyusb read with its own timeout in ms.
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            data = bytes(device.read(self._printer.in_ep, 16, int(timeout * 1000)))
            if data:
                return data
        return b""
