"""Emulated dispenser board (water and candy) on a pseudo-terminal, with injectable faults."""

from service_desk_robot.sim.dispenser_emulator.board import Board
from service_desk_robot.sim.dispenser_emulator.emulator import ControlServer, DispenserEmulator, send_control

__all__ = ["Board", "ControlServer", "DispenserEmulator", "send_control"]
