"""End to end in real headless Chromium: the visitor screen drives the real dialogue node,
which gets a number from the simulated ward office server (through the ward office
bridge) and prints it on the fake TCP printer (through the ticket_printer node), and
hands out water from the dispenser node driving the emulated dispenser board.

Screenshots go to reports/screen/ (e2e-*.png).
"""

from __future__ import annotations

import json
import re
import sqlite3
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from browser_support import LARGE, SMALL, chromium, expect, open_page, screen_labels, screenshot_folder
from rclpy.parameter import Parameter
from support import VENV_BIN, free_tcp_port, stop_process, wait_until

from service_desk_robot.nodes.dialogue import DialogueNode
from service_desk_robot.nodes.dispenser import DispenserNode
from service_desk_robot.nodes.screen import ScreenNode
from service_desk_robot.nodes.ticket_printer import TicketPrinterNode
from service_desk_robot.nodes.ward_office_bridge import WardOfficeBridge
from service_desk_robot.sim.dispenser_emulator import send_control
from service_desk_robot.sim.fake_printer.server import FakePrinter
from service_desk_robot.sim.ward_office.config import load_config
from service_desk_robot.sim.ward_office.runner import ServerThread

pytestmark = [pytest.mark.ros, pytest.mark.slow]
TOKEN = "e2e-staff-token"
TICKET_NUMBER = re.compile(r"^A\d{3}$")


@dataclass
class Robot:
    url: str
    printer: FakePrinter
    previews: Path
    db: Path
    board_control_port: int

    def board(self) -> dict:
        """The emulated dispenser board's own account (stock, items handed out)."""
        return json.loads(send_control(self.board_control_port, "status").removeprefix("ok "))

    def feedback(self) -> list[tuple[int, str]]:
        with sqlite3.connect(self.db) as db:
            return db.execute("SELECT rating, comment FROM feedback ORDER BY id").fetchall()


@pytest.fixture(scope="module")
def labels(repo) -> dict:
    return screen_labels(repo)


@pytest.fixture(scope="module")
def shots(repo) -> Path:
    return screenshot_folder(repo)


@pytest.fixture(scope="module")
def robot(rclpy_context, tmp_path_factory) -> Iterator[Robot]:
    """The robot's ticket path, started once for the module (the tests leave the paper in)."""
    from rclpy.executors import MultiThreadedExecutor

    tmp_path = tmp_path_factory.mktemp("robot")
    server = ServerThread(load_config(), tmp_path / "office.sqlite3", free_tcp_port()).start()
    printer = FakePrinter(free_tcp_port(), out_dir=tmp_path / "jobs").start()
    bridge = WardOfficeBridge(
        parameter_overrides=[
            Parameter("server_url", value=server.url),
            Parameter("outbox_dir", value=str(tmp_path / "outbox")),
        ]
    )
    ticket_printer = TicketPrinterNode(
        parameter_overrides=[
            Parameter("port", value=printer.port),
            # The printer notices paper out at its next status poll: poll fast here.
            Parameter("poll_interval_s", value=0.3),
            Parameter("spool_path", value=str(tmp_path / "spool.json")),
            Parameter("preview_dir", value=str(tmp_path / "previews")),
        ]
    )
    board = subprocess.Popen(
        [
            VENV_BIN / "service-desk-robot",
            "dispenser-emulator",
            "--link",
            str(tmp_path / "dispenser-tty"),
            "--item-time",
            "0.05",
            "--stock",
            "water=10",
            "--stock",
            "candy=10",
        ],
        stdout=subprocess.PIPE,
        stderr=(tmp_path / "emulator.log").open("w"),
        text=True,
    )
    board_control_port = json.loads(board.stdout.readline())["control_port"]
    dispenser = DispenserNode(
        parameter_overrides=[
            Parameter("port", value=str(tmp_path / "dispenser-tty")),
            Parameter("journal_path", value=str(tmp_path / "dispenser-journal.sqlite3")),
            Parameter("status_period_s", value=0.3),
        ]
    )
    dialogue = DialogueNode()
    port = free_tcp_port()
    screen = ScreenNode(
        parameter_overrides=[Parameter("port", value=port), Parameter("staff_token", value=TOKEN)]
    )
    nodes = (bridge, ticket_printer, dispenser, dialogue, screen)
    executor = MultiThreadedExecutor(num_threads=4)
    for node in nodes:
        executor.add_node(node)
    spinner = threading.Thread(target=executor.spin, daemon=True)
    spinner.start()
    try:
        wait_until(
            lambda: not {"ward office", "printer", "dispenser"} & set(dialogue.missing_peers()),
            15.0,
            message="dialogue sees the bridge, the printer and the dispenser",
        )
        yield Robot(
            f"http://127.0.0.1:{port}",
            printer,
            tmp_path / "previews",
            tmp_path / "office.sqlite3",
            board_control_port,
        )
    finally:
        executor.shutdown(timeout_sec=2)
        for node in nodes:
            close = getattr(node, "close", None)
            if callable(close):
                close()
            node.destroy_node()
        printer.stop()
        server.stop()
        stop_process(board)


@pytest.fixture(scope="module")
def browser(tmp_path_factory) -> Iterator[object]:
    with chromium(tmp_path_factory.mktemp("chromium-profile")) as context:
        yield context


@pytest.fixture
def new_page(browser) -> Iterator[callable]:
    """Open pages in the shared browser; each test's pages are closed after it."""
    opened = []

    def open_new():
        opened.append(browser.new_page())
        return opened[-1]

    yield open_new
    for page in opened:
        page.close()


def take_a_number(page, service: str) -> str:
    shown = page.locator("#ticket-number")
    before = shown.inner_text() if shown.is_visible() else ""  # an earlier ticket of the session
    page.click("[data-need=queue_number]")
    page.click(f"[data-choice={service}]")
    expect(shown).to_have_text(TICKET_NUMBER, timeout=15000)
    if before:
        expect(shown).not_to_have_text(before, timeout=15000)
    return shown.inner_text()


def test_a_tapped_number_is_printed_and_shown(robot, new_page, shots):
    page = new_page()
    open_page(page, robot.url + "/", LARGE)
    expect(page.locator("#queue-rows tr")).to_have_count(5, timeout=10000)  # live queue from the server

    printed_before = len(robot.printer.printed_jobs())
    number = take_a_number(page, "civil_status")
    wait_until(lambda: len(robot.printer.printed_jobs()) > printed_before, 10.0, message="the ticket printed")
    wait_until(lambda: list(robot.previews.glob(f"*_{number}.png")), 5.0, message=f"preview of {number}")
    expect(page.locator("#ticket-warning")).to_be_hidden()
    expect(page.locator("#subtitle")).not_to_be_empty()
    page.screenshot(path=str(shots / "e2e-ticket-1280x800.png"))
    page.set_viewport_size(SMALL)
    expect(page.locator("#ticket-number")).to_be_in_viewport()
    page.screenshot(path=str(shots / "e2e-ticket-800x480.png"))


def test_paper_out_shows_on_the_console_and_the_number_on_screen(robot, new_page, labels, shots):
    staff = new_page()
    open_page(staff, robot.url + "/staff", LARGE)
    staff.fill("#token", TOKEN)
    staff.click("#sign-in")
    expect(staff.locator("#printer-paper")).to_have_text(labels["vi"]["staff"]["paper_ok"], timeout=10000)

    robot.printer.set_paper("out")
    # 2 s from the printer's status poll (0.3 s here) to the console.
    expect(staff.locator("#printer-paper")).to_have_text(labels["vi"]["staff"]["paper_out"], timeout=2300)
    staff.screenshot(path=str(shots / "e2e-staff-paper-out-1280x800.png"))

    page = new_page()
    open_page(page, robot.url + "/", SMALL)
    number = take_a_number(page, "civil_status")
    expect(page.locator("#ticket-warning")).to_be_visible(timeout=10000)
    expect(page.locator("#ticket-number")).to_be_in_viewport()
    page.screenshot(path=str(shots / "e2e-visitor-paper-out-800x480.png"))
    printed_before = len(robot.printer.printed_jobs())

    staff.bring_to_front()
    expect(staff.locator("#pending li.number")).to_have_text([number], timeout=5000)
    robot.printer.set_paper("ok")
    staff.click("[data-action=reprint]")
    expect(staff.locator("#pending li.number")).to_have_count(0, timeout=10000)
    wait_until(
        lambda: len(robot.printer.printed_jobs()) > printed_before,
        10.0,
        message="kept ticket printed after refill",
    )
    staff.screenshot(path=str(shots / "e2e-staff-reprinted-1280x800.png"))


def test_feedback_with_a_comment_reaches_the_ward_office(robot, new_page):
    """The rating and the comment are two turns of the dialogue; the comment waits for
    the dialogue's question and arrives whole at the server."""
    page = new_page()
    open_page(page, robot.url + "/", SMALL)
    page.click("[data-need=feedback]")
    page.click("[data-rating='5']")
    page.fill("#feedback-comment", "Cán bộ nhiệt tình")
    page.click("#feedback-send")
    assert wait_until(robot.feedback, 10.0, message="feedback stored by the server") == [
        (5, "Cán bộ nhiệt tình")
    ]


def test_application_status_typed_on_the_keypad_is_answered(robot, new_page, shots):
    page = new_page()
    open_page(page, robot.url + "/", SMALL)
    page.click("[data-need=application_status]")
    letters = False
    for symbol in "HS-2024-000123":
        if symbol.isalpha() or symbol == "-":
            if not letters:
                page.click("#keypad-toggle")
                letters = True
        elif letters:
            page.click("#keypad-toggle")
            letters = False
        page.click(f"[data-key='{symbol}']")
    expect(page.locator("#keypad-code")).to_have_text("HS-2024-000123")
    page.click("#keypad-send")
    # The demo application HS-2024-000123 is a birth registration, ready today.
    expect(page.locator(".talk")).to_contain_text("Đăng ký khai sinh", timeout=10000)
    page.screenshot(path=str(shots / "e2e-application-status-800x480.png"))


def test_water_is_handed_out_and_the_staff_refill_it(robot, new_page, labels, shots, repo):
    staff = new_page()
    open_page(staff, robot.url + "/staff", LARGE)
    staff.fill("#token", TOKEN)
    staff.click("#sign-in")
    water = staff.locator("#stock [data-item=water] b")
    expect(water).to_have_text("10", timeout=10000)

    page = new_page()
    open_page(page, robot.url + "/", SMALL)
    page.click("[data-need=water]")
    wait_until(lambda: robot.board()["dispensed"].get("water") == 1, 15.0, message="one bottle handed out")

    staff.bring_to_front()
    expect(water).to_have_text("9", timeout=5000)
    expect(staff.locator("#count-drinks")).to_have_text("1", timeout=5000)
    staff.click("[data-action=refill_dispenser]")
    expect(staff.locator("#action-result")).to_have_text(labels["vi"]["staff"]["action_done"], timeout=5000)
    dispenser = yaml.safe_load((repo / "config/dispenser.yaml").read_text(encoding="utf-8"))
    params = dispenser["dispenser"]["ros__parameters"]
    capacity = dict(zip(params["items"], params["capacity"], strict=True))
    expect(water).to_have_text(str(capacity["water"]), timeout=5000)  # stock back to capacity
    staff.screenshot(path=str(shots / "e2e-staff-dispenser-1280x800.png"))
