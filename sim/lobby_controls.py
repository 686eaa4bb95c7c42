"""The lobby simulation's hands on the simulated world: faults and city-app data.

Faults go through each simulator's own control channel, exactly as a developer would
switch them by hand: the fake printer's and the dispenser emulator's text control ports,
and the ward office server's admin fault switch. Bookings are made on the server's city
app side (an admin token), as the iHanoi app would.
"""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import httpx

from service_desk_robot.sim.dispenser_emulator import send_control
from service_desk_robot.sim.scenario import Fault

PRINTER_COMMANDS = {"printer_paper_out": "paper out", "printer_paper_ok": "paper ok"}
DISPENSER_COMMANDS = {"dispenser_jam": "jam", "dispenser_clear": "clear"}


class LobbyControlError(RuntimeError):
    """A simulator refused or did not answer a control command."""


@dataclass(frozen=True)
class LobbyEndpoints:
    server_url: str
    admin_token: str
    printer_control_port: int
    dispenser_control_port: int
    office_timezone: str = "Asia/Ho_Chi_Minh"  # the server's "today" is the office's


class LobbyControls:
    def __init__(self, endpoints: LobbyEndpoints, timeout_s: float = 5.0) -> None:
        self._endpoints = endpoints
        self._http = httpx.Client(
            base_url=f"{endpoints.server_url}/api/v1",
            headers={"Authorization": f"Bearer {endpoints.admin_token}"},
            timeout=timeout_s,
        )
        self._citizen_ids = (f"0010{n:08d}" for n in itertools.count(1))

    def close(self) -> None:
        self._http.close()

    def apply(self, fault: Fault) -> str:
        """Switch one fault; returns the simulator's reply for the transcript."""
        if fault.name in PRINTER_COMMANDS:
            return self._control(self._endpoints.printer_control_port, PRINTER_COMMANDS[fault.name])
        if fault.name in DISPENSER_COMMANDS:
            return self._control(self._endpoints.dispenser_control_port, DISPENSER_COMMANDS[fault.name])
        if fault.name == "ward_office_down":
            reply = self._post("/admin/fault", {"mode": "down", "duration_s": fault.duration_s})
            return f"server down for {reply.get('remaining_s', fault.duration_s)} s"
        raise LobbyControlError(f"no control for fault '{fault.name}'")

    def book_today(self, service_code: str) -> str:
        """Make an online booking for today, as the city app would; returns its code."""
        body = {
            "service_code": service_code,
            "citizen_id": next(self._citizen_ids),
            "date": dt.datetime.now(ZoneInfo(self._endpoints.office_timezone)).date().isoformat(),
        }
        reply = self._post("/bookings", body)
        try:
            return str(reply["booking_code"])
        except KeyError as error:
            raise LobbyControlError(f"booking reply without a code: {reply}") from error

    def _control(self, port: int, line: str) -> str:
        try:
            reply = send_control(port, line)
        except OSError as error:
            raise LobbyControlError(f"control port {port} ({line!r}): {error}") from error
        if not reply.startswith("ok"):
            raise LobbyControlError(f"control port {port} refused {line!r}: {reply}")
        return reply

    def _post(self, path: str, body: dict) -> dict:
        try:
            response = self._http.post(path, json=body)
        except httpx.HTTPError as error:
            raise LobbyControlError(f"ward office server {path}: {error}") from error
        if response.status_code >= 400:
            raise LobbyControlError(f"ward office server {path}: {response.status_code} {response.text}")
        return response.json()
