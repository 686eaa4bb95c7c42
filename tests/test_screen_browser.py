"""The visitor screen and the staff console in real headless Chromium (Debian's, driven
by Playwright), against the screen node and a test node faking the dialogue and printer.

Each test saves screenshots under reports/screen/ (1280x800 and 800x480 for the visitor
screen) so a person can look at them.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from browser_support import LARGE, SMALL, chromium, expect, open_page, screen_labels, screenshot_folder
from rclpy.node import Node
from rclpy.parameter import Parameter
from support import free_tcp_port, wait_until

from service_desk_interfaces.msg import (
    DialogueAct,
    DialogueState,
    PrinterStatus,
    QueueState,
    ServiceQueue,
    Utterance,
)
from service_desk_robot.nodes import qos
from service_desk_robot.nodes.screen import ScreenNode

pytestmark = pytest.mark.ros
TOKEN = "browser-test-token"
LETTERS = {"civil_status": "A", "certification": "B"}


class FakeDesk(Node):
    """The dialogue and the ticket printer as the screen sees them: a tapped
    queue_number intent gets a ticket, printed unless the printer is out of paper."""

    def __init__(self) -> None:
        super().__init__("fake_desk_for_screen")
        self._lock = threading.Lock()
        self.heard: list[Utterance] = []
        self.paper_out = False
        self.pending: list[str] = []
        self.issued = 0
        self._state = self.create_publisher(DialogueState, "/dialogue/state", qos.latched_state())
        self._acts = self.create_publisher(DialogueAct, "/dialogue/acts", qos.events())
        self._printer = self.create_publisher(PrinterStatus, "/printer/status", qos.latched_state())
        self.create_subscription(Utterance, "/speech/heard", self._on_heard, qos.events())
        self._publish_printer()
        queue = self.create_publisher(QueueState, "/queue/state", qos.latched_state())
        queue.publish(
            QueueState(
                server_reachable=True,
                data_age_s=0.4,
                services=[
                    ServiceQueue(
                        code="civil_status",
                        letter="A",
                        name_vi="Hộ tịch",
                        name_en="Civil status",
                        now_serving="A017",
                        waiting=2,
                    ),
                    ServiceQueue(
                        code="certification",
                        letter="B",
                        name_vi="Chứng thực",
                        name_en="Certification",
                        now_serving="",
                        waiting=0,
                    ),
                ],
            )
        )
        self._state.publish(DialogueState(state="IDLE", language="vi", options=["queue_number"]))

    def set_paper_out(self, out: bool) -> None:
        with self._lock:
            self.paper_out = out
        self._publish_printer()

    def publish_state(self, state: str, options: list[str]) -> None:
        self._state.publish(DialogueState(state=state, visitor_id="f9", language="vi", options=options))

    def _publish_printer(self) -> None:
        with self._lock:
            paper = PrinterStatus.PAPER_OUT if self.paper_out else PrinterStatus.PAPER_OK
            msg = PrinterStatus(online=True, paper=paper, pending_numbers=list(self.pending))
        msg.hardware_id = "tcp:127.0.0.1:9100"
        self._printer.publish(msg)

    def _on_heard(self, msg: Utterance) -> None:
        with self._lock:
            self.heard.append(msg)
            if msg.intent == "feedback":  # the dialogue then asks for a comment
                self._state.publish(DialogueState(state="ASKING_COMMENT", language="vi"))
            if msg.intent == "procedure":
                answer = f"Thủ tục {msg.argument}: mang theo giấy tờ tùy thân."
                self._acts.publish(DialogueAct(act=DialogueAct.SAY, text=answer, language="vi"))
            if msg.intent != "queue_number":
                return
            self.issued += 1
            number = f"{LETTERS[msg.argument]}{self.issued:03d}"
            printed = not self.paper_out
            if not printed:
                self.pending.append(number)
        if not printed:
            self._publish_printer()
        self._acts.publish(DialogueAct(act=DialogueAct.SAY, text=f"Số của bạn là {number}.", language="vi"))
        self._acts.publish(
            DialogueAct(
                act=DialogueAct.TICKET,
                ticket_number=number,
                service_code=msg.argument,
                people_ahead=2,
                printed=printed,
            )
        )
        self._state.publish(
            DialogueState(
                state="TICKET_ISSUED",
                visitor_id="f1",
                language="vi",
                ticket_number=number,
                ticket_not_printed=not printed,
            )
        )


@pytest.fixture(scope="module")
def labels(repo) -> dict:
    return screen_labels(repo)


@pytest.fixture(scope="module")
def shots(repo) -> Path:
    return screenshot_folder(repo)


@pytest.fixture(scope="module")
def browser(tmp_path_factory) -> Iterator[object]:
    with chromium(tmp_path_factory.mktemp("chromium-profile")) as context:
        yield context


@dataclass
class Desk:
    url: str
    fake: FakeDesk
    screen: ScreenNode

    def __iter__(self):
        return iter((self.url, self.fake))


@pytest.fixture
def desk(ros_spin) -> Desk:
    port = free_tcp_port()
    screen = ScreenNode(
        parameter_overrides=[Parameter("port", value=port), Parameter("staff_token", value=TOKEN)]
    )
    fake = FakeDesk()
    ros_spin(screen, fake)
    return Desk(f"http://127.0.0.1:{port}", fake, screen)


@pytest.fixture
def page(browser):
    opened = browser.new_page()
    yield opened
    opened.close()


def assert_fits(page) -> None:
    """Nothing scrolls and every need button is fully on screen and finger-sized."""
    fit = page.evaluate(
        """() => {
          const doc = document.documentElement;
          const buttons = [...document.querySelectorAll('[data-need]')].map((b) => b.getBoundingClientRect());
          return {
            scrolls: doc.scrollHeight > innerHeight || doc.scrollWidth > innerWidth,
            offscreen: buttons.filter((r) => r.bottom > innerHeight || r.right > innerWidth).length,
            smallest: Math.min(...buttons.map((r) => Math.min(r.width, r.height))),
          };
        }"""
    )
    assert not fit["scrolls"], fit
    assert fit["offscreen"] == 0, fit
    assert fit["smallest"] >= 44, fit


def tap_queue_number(page, service: str = "civil_status") -> None:
    page.click("[data-need=queue_number]")
    expect(page.locator("#panel")).to_be_visible()
    page.click(f"[data-choice={service}]")
    expect(page.locator("#panel")).to_be_hidden()


def test_visitor_taps_through_getting_a_number(desk, page, labels, shots):
    url, fake = desk
    open_page(page, url + "/", LARGE)
    assert_fits(page)
    expect(page.locator("h1")).to_have_text(labels["vi"]["title"])
    page.screenshot(path=str(shots / "visitor-home-1280x800.png"))

    page.click("[data-need=queue_number]")
    expect(page.locator("#panel-title")).to_have_text(labels["vi"]["panels"]["pick_service"])
    page.screenshot(path=str(shots / "visitor-pick-service-1280x800.png"))
    page.click("[data-choice=civil_status]")

    expect(page.locator("#ticket-number")).to_have_text("A001", timeout=5000)
    expect(page.locator("#subtitle")).to_have_text("Số của bạn là A001.")
    expect(page.locator("#ticket-warning")).to_be_hidden()
    heard = wait_until(lambda: fake.heard, 5.0, message="the tap on /speech/heard")[0]
    assert (heard.source, heard.intent, heard.argument) == ("screen", "queue_number", "civil_status")
    page.screenshot(path=str(shots / "visitor-ticket-1280x800.png"))

    page.set_viewport_size(SMALL)
    assert_fits(page)
    expect(page.locator("#ticket-number")).to_be_in_viewport()
    page.screenshot(path=str(shots / "visitor-ticket-800x480.png"))

    page.click("#lang-toggle")
    expect(page.locator("[data-need=queue_number]")).to_have_text(labels["en"]["buttons"]["queue_number"])
    wait_until(lambda: any(h.intent == "hello" and h.language == "en" for h in fake.heard), 5.0)
    assert_fits(page)
    page.screenshot(path=str(shots / "visitor-english-800x480.png"))


def test_paper_out_reaches_the_staff_console_and_the_number_is_shown(desk, browser, page, labels, shots):
    url, fake = desk
    staff = browser.new_page()
    try:
        open_page(staff, url + "/staff", LARGE)
        staff.fill("#token", TOKEN)
        staff.click("#sign-in")
        expect(staff.locator("#printer-paper")).to_have_text(labels["vi"]["staff"]["paper_ok"], timeout=5000)

        fake.set_paper_out(True)
        expect(staff.locator("#printer-paper")).to_have_text(labels["vi"]["staff"]["paper_out"], timeout=2000)
        staff.screenshot(path=str(shots / "staff-paper-out-1280x800.png"))

        open_page(page, url + "/", LARGE)
        tap_queue_number(page, "certification")
        expect(page.locator("#ticket-number")).to_have_text("B001", timeout=5000)
        expect(page.locator("#ticket-warning")).to_be_visible()
        expect(page.locator("body")).to_have_class("visitor urgent")
        size = page.evaluate(
            "parseFloat(getComputedStyle(document.getElementById('ticket-number')).fontSize)"
        )
        assert size >= 150, f"the number must be very large when not printed, got {size}px"
        page.screenshot(path=str(shots / "visitor-paper-out-1280x800.png"))
        page.set_viewport_size(SMALL)
        expect(page.locator("#ticket-number")).to_be_in_viewport()
        expect(page.locator("#ticket-warning")).to_be_in_viewport()
        page.screenshot(path=str(shots / "visitor-paper-out-800x480.png"))

        staff.bring_to_front()
        expect(staff.locator("#pending li.number")).to_have_text(["B001"], timeout=2000)
        staff.screenshot(path=str(shots / "staff-pending-1280x800.png"))
    finally:
        staff.close()


def test_staff_console_refuses_a_wrong_token(desk, page, labels, shots):
    url, _ = desk
    open_page(page, url + "/staff", LARGE)
    page.fill("#token", "not-the-token")
    page.click("#sign-in")
    expect(page.locator("#login-error")).to_have_text(labels["vi"]["staff"]["refused"], timeout=5000)
    expect(page.locator("#console")).to_be_hidden()
    assert page.evaluate("sessionStorage.getItem('staffToken')") is None
    page.screenshot(path=str(shots / "staff-wrong-token-1280x800.png"))


def test_every_need_has_a_button_that_reaches_the_dialogue(desk, page, shots):
    url, fake = desk
    open_page(page, url + "/", SMALL)
    expect(page.locator("#queue-rows tr")).to_have_count(2, timeout=5000)
    expect(page.locator("[data-service=civil_status] .serving")).to_have_text("A017")

    page.dblclick("[data-need=water]")  # a shaky double tap asks once
    for need in ("candy", "staff"):
        page.click(f"[data-need={need}]")

    page.click("[data-need=procedure]")
    assert_fits_panel(page)
    page.screenshot(path=str(shots / "visitor-procedures-800x480.png"))
    page.click("[data-choice=birth_registration]")
    expect(page.locator("#subtitle")).to_contain_text("birth_registration", timeout=5000)

    page.click("[data-need=check_in]")
    for key in "12":
        page.click(f"[data-key='{key}']")
    page.click("#keypad-toggle")
    assert_fits_panel(page)
    page.screenshot(path=str(shots / "visitor-keypad-letters-800x480.png"))
    page.click("[data-key=A]")
    page.click("[data-key=B]")
    page.click("#keypad-delete")
    page.click("#keypad-toggle")
    page.click("[data-key='9']")
    expect(page.locator("#keypad-code")).to_have_text("12A9")
    assert_fits_panel(page)
    page.screenshot(path=str(shots / "visitor-keypad-800x480.png"))
    page.click("#keypad-send")

    page.click("[data-need=application_status]")
    for key in "2024":
        page.click(f"[data-key='{key}']")
    page.click("#keypad-send")

    page.click("[data-need=feedback]")
    page.click("[data-rating='4']")
    page.fill("#feedback-comment", "Nhanh, cảm ơn")
    assert_fits_panel(page)
    page.screenshot(path=str(shots / "visitor-feedback-800x480.png"))
    page.click("#feedback-send")

    expected = [
        ("water", ""),
        ("candy", ""),
        ("staff", ""),
        ("procedure", "birth_registration"),
        ("check_in", "12A9"),
        ("application_status", "2024"),
        ("feedback", "4"),
        ("", ""),
    ]
    wait_until(lambda: len(fake.heard) >= len(expected), 5.0, message="every tap on /speech/heard")
    assert [(h.intent, h.argument) for h in fake.heard] == expected
    assert fake.heard[-1].text == "Nhanh, cảm ơn"  # the comment, as the dialogue asks for it
    assert {h.source for h in fake.heard} == {"screen"}


def assert_fits_panel(page) -> None:
    """The open panel needs no scrolling and its buttons are finger-sized."""
    fit = page.evaluate(
        """() => {
          const body = document.getElementById('panel-body');
          const buttons = [...document.querySelectorAll('#panel button')]
            .map((b) => b.getBoundingClientRect());
          return {
            scrolls: body.scrollHeight > body.clientHeight + 1,
            smallest: Math.min(...buttons.map((r) => Math.min(r.width, r.height))),
          };
        }"""
    )
    assert not fit["scrolls"], fit
    assert fit["smallest"] >= 40, fit


def test_the_dialogues_questions_show_their_answers(desk, page, labels, shots):
    """Asked by voice which service, the screen opens the service panel; asked yes/no,
    it shows yes/no buttons that answer with the dialogue's own intents."""
    url, fake = desk
    open_page(page, url + "/", LARGE)
    fake.publish_state("CHOOSING_SERVICE", ["queue_number:civil_status", "priority", "staff"])
    expect(page.locator("#panel-title")).to_have_text(labels["vi"]["panels"]["pick_service"], timeout=5000)
    page.click("#panel-back")

    fake.publish_state("OFFERING_TICKET", ["affirm", "deny"])
    expect(page.locator("#options [data-option]")).to_have_text(
        [labels["vi"]["options"]["affirm"], labels["vi"]["options"]["deny"]], timeout=5000
    )
    page.screenshot(path=str(shots / "visitor-yes-no-1280x800.png"))
    page.click("[data-option=affirm]")
    wait_until(lambda: any(h.intent == "affirm" for h in fake.heard), 5.0, message="affirm tap")

    fake.publish_state("ASKING_BOOKING_CODE", ["staff", "help"])
    expect(page.locator("#keypad-code")).to_be_visible(timeout=5000)


def test_a_lost_robot_connection_is_shown(desk, page, labels, shots):
    open_page(page, desk.url + "/", SMALL)
    expect(page.locator("#offline")).to_be_hidden()
    desk.screen.close()  # the web server stops: the page's event stream ends
    expect(page.locator("#offline")).to_have_text(labels["vi"]["offline"], timeout=5000)
    expect(page.locator("#offline")).to_be_visible()
    page.screenshot(path=str(shots / "visitor-offline-800x480.png"))
