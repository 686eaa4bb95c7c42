"""Conversation scripts against the dialogue core: every intent and failure path, in
Vietnamese, Vietnamese without diacritics, English and mixed; visitors who leave
mid-flow, two visitors in a row, barge-in, idle timeout, nonsense.

GIVEN a seat (fake clock, counter ids, speech that finishes at once unless a test says
otherwise) WHEN a visitor speaks and the fake services answer THEN the robot says,
requests and publishes what a visitor and the screen need.
"""

from __future__ import annotations

import pytest
from dialogue_harness import Seat

from service_desk_robot.robot.dialogue.messages import (
    CheckInBooking,
    Dispense,
    GreetingPaused,
    Heard,
    IssueTicket,
    LookUpApplication,
    PrintTicket,
    Say,
    SpeakingChanged,
    StopSpeaking,
    SubmitFeedback,
    Tick,
    TicketResult,
    VisitorEngaged,
    VisitorLeft,
)


@pytest.fixture
def seat() -> Seat:
    seat = Seat()
    seat.send(VisitorEngaged("f1"))
    return seat


# -- greeting and language -------------------------------------------------------------


def test_greets_once_per_visitor_in_vietnamese():
    seat = Seat()
    seat.send(VisitorEngaged("f1"))
    assert "Xin chào" in seat.said()
    assert seat.language() == "vi"
    assert seat.state.state == "LISTENING"
    assert seat.state.visitor_id == "f1"
    seat.send(VisitorLeft("f1"))
    seat.send(VisitorEngaged("f1"))  # the same track again: no second greeting
    assert seat.said() == ""
    assert seat.state.visitor_id == "f1"


def test_switches_to_english_and_back(seat: Seat):
    assert "queue number" in seat.hear("hello, what can you do?").lower()
    assert seat.language() == "en"
    assert seat.state.language == "en"
    seat.hear("cho tôi xin nước")
    assert seat.language() == "vi"
    seat.hear("cho toi xin keo")  # unaccented Vietnamese stays Vietnamese
    assert seat.language() == "vi"


def test_default_language_english(repo):
    from service_desk_robot.robot.dialogue.config import DialogueConfig

    seat = Seat(DialogueConfig.load(repo / "config", default_language="en"))
    seat.send(VisitorEngaged("f1"))
    assert seat.language() == "en"
    assert seat.said().startswith("Hello")


# -- queue numbers ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("first", "answer", "service", "language"),
    [
        ("Tôi muốn lấy số thứ tự", "hộ tịch", "civil_status", "vi"),
        ("toi muon lay so", "so 2", "certification", "vi"),
        ("I need a queue number", "3", "land_construction", "en"),
        ("lấy số please", "social affairs", "social_affairs", "en"),
    ],
)
def test_queue_number_asks_which_service_then_prints(seat: Seat, first, answer, service, language):
    asked = seat.hear(first)
    assert seat.state.state == "CHOOSING_SERVICE"
    assert "1" in asked
    assert seat.config.services["civil_status"].name[seat.language()] in asked
    seat.hear(answer)
    request = seat.request(IssueTicket)
    assert request is not None
    assert request.service_code == service
    assert not request.priority
    assert request.language == language
    assert seat.state.state == "ISSUING_TICKET"
    seat.answer_ticket(number="B007", ahead=2)
    assert seat.request(PrintTicket).ticket.number == "B007"
    assert seat.state.state == "PRINTING"
    said = seat.answer_print()
    digits = seat.config.phrases.word("digits", language)
    assert f"{digits[0]}, {digits[0]}, {digits[7]}" in said  # B007 read digit by digit
    assert "2" in said
    assert "16" in said
    [ticket] = seat.acts("ticket")
    assert ticket.ticket_number == "B007"
    assert ticket.printed
    assert ticket.people_ahead == 2
    assert seat.state.ticket_number == "B007"
    assert not seat.state.ticket_not_printed
    assert seat.state.last_action == "ticket B007 printed"


def test_queue_number_with_the_service_named_goes_straight_to_the_server(seat: Seat):
    seat.hear("lay so lam khai sinh cho con")
    assert seat.request(IssueTicket).service_code == "civil_status"


def test_nobody_ahead(seat: Seat):
    seat.hear("lấy số chứng thực")
    seat.answer_ticket(ahead=0)
    assert "gọi ngay" in seat.answer_print()


def test_priority_is_offered_and_marked(seat: Seat):
    asked = seat.hear("lấy số")
    assert "ưu tiên" in asked  # the offer
    said = seat.hear("tôi 80 tuổi, được ưu tiên không")
    assert "75" in said
    assert seat.state.state == "CHOOSING_SERVICE"
    seat.hear("hộ tịch")
    assert seat.request(IssueTicket).priority
    seat.answer_ticket()
    assert "xác nhận chế độ ưu tiên" in seat.answer_print()


def test_priority_in_english_with_service(seat: Seat):
    seat.hear("I'm pregnant, can I get a priority number for certified copies")
    request = seat.request(IssueTicket)
    assert request.priority
    assert request.service_code == "certification"


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("SERVER_UNREACHABLE", "quầy số 1"),
        ("LIMIT_REACHED", "tối đa 2 số"),
        ("UNKNOWN_SERVICE", "không có ở đây"),
        ("INTERNAL", "chưa lấy được số"),
    ],
)
def test_ticket_failures_become_words(seat: Seat, code, expected):
    seat.hear("lấy số chứng thực")
    said = seat.answer_ticket(ok=False, code=code)
    assert expected in said
    [error] = seat.acts("error")
    assert error.code == code
    assert error.text
    assert seat.request(PrintTicket) is None
    if code == "UNKNOWN_SERVICE":
        assert seat.state.state == "CHOOSING_SERVICE"


def test_server_unreachable_in_english_names_the_fallback_counter(seat: Seat):
    seat.hear("queue number for certification please")
    assert "counter 1" in seat.answer_ticket(ok=False, code="SERVER_UNREACHABLE")


def test_paper_out_speaks_the_number_and_shows_it(seat: Seat):
    seat.hear("lấy số hộ tịch")
    seat.answer_ticket(number="A042")
    said = seat.answer_print(ok=False, code="PAPER_OUT")
    assert "hết giấy" in said
    assert "a, không, bốn, hai" in said
    [ticket] = seat.acts("ticket")
    assert not ticket.printed
    assert [e.code for e in seat.acts("error")] == ["PAPER_OUT"]
    assert seat.state.ticket_number == "A042"
    assert seat.state.ticket_not_printed
    assert "kept for reprint" in seat.state.last_action


def test_printer_offline(seat: Seat):
    seat.hear("I want a number for certification")
    seat.answer_ticket(number="B001")
    said = seat.answer_print(ok=False, code="PRINTER_OFFLINE")
    assert "printer is not working" in said
    assert "B, zero, zero, one" in said
    assert seat.state.ticket_not_printed


def test_a_second_number_while_one_is_issued_waits(seat: Seat):
    seat.hear("lấy số chứng thực")
    assert "chờ một chút" in seat.hear("lấy số hộ tịch")
    assert seat.request(IssueTicket) is None


def test_police_procedures_get_no_number(seat: Seat):
    said = seat.hear("lấy số làm căn cước")
    assert "công an phường" in said
    assert seat.request(IssueTicket) is None
    said = seat.hear("I want a number for my driving licence")
    assert "Traffic Police" in said
    assert seat.request(IssueTicket) is None


# -- online booking check-in -------------------------------------------------------------


def test_check_in_asks_for_the_code(seat: Seat):
    assert "mã đặt lịch" in seat.hear("tôi đã đặt lịch trên iHanoi")
    assert seat.state.state == "ASKING_BOOKING_CODE"
    seat.hear("mã là K7M2QX")
    request = seat.request(CheckInBooking)
    assert request.booking_code == "K7M2QX"
    assert seat.state.state == "CHECKING_IN"
    seat.answer_ticket(number="A101", booking_code="K7M2QX")
    said = seat.answer_print()
    assert "a, một, không, một" in said


def test_check_in_with_a_letters_only_code_in_the_same_sentence(seat: Seat):
    seat.hear("Tôi đã đặt lịch trên iHanoi, mã đặt lịch là WBHYCV")
    assert seat.request(CheckInBooking).booking_code == "WBHYCV"


def test_check_in_code_without_digits_is_taken_when_asked(seat: Seat):
    seat.hear("I have a booking")
    seat.hear("ABCDEF")
    assert seat.request(CheckInBooking).booking_code == "ABCDEF"


@pytest.mark.parametrize(
    ("code", "expected", "state"),
    [
        ("BOOKING_NOT_TODAY", "không phải cho hôm nay", "LISTENING"),
        ("UNKNOWN_CODE", "không tìm thấy", "ASKING_BOOKING_CODE"),
        ("ALREADY_CHECKED_IN", "đã được check-in", "LISTENING"),
        ("SERVER_UNREACHABLE", "quầy số 1", "LISTENING"),
    ],
)
def test_check_in_failures(seat: Seat, code, expected, state):
    seat.hear("check in mã K7M2QX")
    said = seat.answer_ticket(ok=False, code=code)
    assert expected in said
    assert seat.state.state == state
    assert seat.acts("error")[0].code == code
    if code != "SERVER_UNREACHABLE":
        assert "K, bảy, em mờ, hai" in said or "ca, bảy, em mờ, hai" in said


def test_unknown_booking_code_can_be_said_again(seat: Seat):
    seat.hear("check in mã K7M2QX")
    seat.answer_ticket(ok=False, code="UNKNOWN_CODE")
    seat.hear("K7M2QZ")
    assert seat.request(CheckInBooking).booking_code == "K7M2QZ"


# -- water and candy ---------------------------------------------------------------------


def test_candy_in_vietnamese_with_a_count(seat: Seat):
    assert "kẹo" in seat.hear("cho cháu 2 cái kẹo")
    request = seat.request(Dispense)
    assert (request.item, request.count, request.visitor_id) == ("candy", 2, "f1")
    assert seat.state.state == "DISPENSING"
    assert "khay" in seat.answer_dispense()
    [act] = seat.acts("dispense")
    assert act.ok
    assert act.item == "candy"
    assert act.count == 2


def test_water_in_english(seat: Seat):
    seat.hear("can I have some water")
    assert seat.request(Dispense).item == "water"
    assert "tray" in seat.answer_dispense()


def test_candy_in_english(seat: Seat):
    seat.hear("can I have some candy")
    assert seat.request(Dispense).item == "candy"
    assert "tray" in seat.answer_dispense()


def test_water_and_candy_together(seat: Seat):
    seat.hear("cho xin nuoc va keo")
    items = sorted(e.item for e in seat.turn if isinstance(e, Dispense))
    assert items == ["candy", "water"]


def test_too_many_items_are_capped_to_the_dispenser_limit(seat: Seat):
    said = seat.hear("two bottles of water")  # the board gives one water per visitor
    assert "at most 1" in said
    assert seat.request(Dispense).count == 1
    seat.hear("five candies")
    assert seat.request(Dispense).count == 2


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("EMPTY", "đã hết"),
        ("JAM", "bị kẹt"),
        ("MOTOR_TIMEOUT", "bị kẹt"),
        ("DOOR_OPEN", "bảo trì"),
        ("LIMIT_REACHED", "đã nhận"),
        ("OFFLINE", "không hoạt động"),
    ],
)
def test_dispense_failures(seat: Seat, code, expected):
    seat.hear("cho tôi xin nước")
    assert expected in seat.answer_dispense(ok=False, code=code, dispensed=0)
    [act] = seat.acts("dispense")
    assert not act.ok
    assert act.code == code


def test_dispense_partial(seat: Seat):
    seat.hear("two candies")
    assert "1 of 2" in seat.answer_dispense(ok=False, code="JAM", dispensed=1)


# -- procedures --------------------------------------------------------------------------


def test_fee_is_said_with_the_date_it_was_checked(seat: Seat):
    said = seat.hear("phí kết hôn bao nhiêu")
    assert "11/2026" in said
    assert "Miễn phí" in said
    assert "xác nhận lại tại quầy" in said  # the marriage fee is [I]


def test_verified_facts_are_not_hedged(seat: Seat):
    said = seat.hear("khai sinh mất bao lâu")
    assert "Trong ngày" in said
    assert "xác nhận lại" not in said


def test_unverified_facts_are_hedged_in_english(seat: Seat):
    said = seat.hear("how long does a food safety certificate take")
    assert "not verified" in said
    assert "check it at the counter" in said


@pytest.mark.parametrize("pid", ["residence_registration", "id_card", "driving_licence"])
def test_every_fee_answer_carries_its_check_date(seat: Seat, pid):
    said = seat.hear("", intent="procedure", argument=f"{pid}/fee", language="en")
    assert "as last checked in 11/2026" in said


def test_procedure_summary_offers_a_number(seat: Seat):
    said = seat.hear("đăng ký khai sinh")
    assert "Bộ phận Một cửa" in said
    assert "quầy 1 hoặc 2" in said
    assert seat.state.state == "OFFERING_TICKET"
    seat.hear("có ạ")
    assert seat.request(IssueTicket).service_code == "civil_status"


def test_procedure_offer_declined(seat: Seat):
    seat.hear("marriage registration")
    assert "All right" in seat.hear("no thanks")
    assert seat.request(IssueTicket) is None
    assert seat.state.state == "LISTENING"


def test_procedure_aspect_first_then_procedure(seat: Seat):
    assert "thủ tục nào" in seat.hear("cần mang giấy tờ gì")
    said = seat.hear("kết hôn")
    assert "Tờ khai chung" in said


def test_follow_up_question_keeps_the_procedure(seat: Seat):
    seat.hear("tell me about the construction permit")
    said = seat.hear("and the documents?")
    assert "2 sets" in said
    assert "certified copies" in said


def test_police_procedure_where(seat: Seat):
    said = seat.hear("lam can cuoc o dau")
    assert "công an phường" in said


# -- application status ------------------------------------------------------------------


def test_status_asks_for_the_receipt_code(seat: Seat):
    seat.hear("tra cứu hồ sơ")
    assert seat.state.state == "ASKING_RECEIPT_CODE"
    seat.hear("HS 2024 000123")
    assert seat.request(LookUpApplication).receipt_code == "HS-2024-000123"
    said = seat.answer_status(
        status="PROCESSING", procedure_name={"vi": "khai sinh", "en": "birth"}, due_date="2026-12-03"
    )
    assert "đang được giải quyết" in said
    assert "3/12/2026" in said
    assert "iHanoi" in said


def test_status_ready_overdue_and_unknown(seat: Seat):
    seat.hear("check my application HS-2024-000124")
    said = seat.answer_status(status="READY", procedure_name={"en": "marriage"}, overdue=True)
    assert "is ready" in said
    assert "overdue" in said
    seat.hear("application status HS-2024-999999")
    said = seat.answer_status(ok=False, code="UNKNOWN_CODE")
    assert "cannot find" in said
    assert seat.state.state == "ASKING_RECEIPT_CODE"
    seat.hear("HS-2024-000125")
    said = seat.answer_status(ok=False, code="SERVER_UNREACHABLE")
    assert "counter 1" in said
    assert seat.acts("error")[0].code == "SERVER_UNREACHABLE"


# -- feedback ----------------------------------------------------------------------------


def test_feedback_rating_then_comment(seat: Seat):
    assert "từ 1 đến 5" in seat.hear("tôi muốn góp ý")
    assert "9" not in seat.hear("9")
    assert seat.state.state == "ASKING_RATING"
    seat.hear("năm")
    assert seat.state.state == "ASKING_COMMENT"
    seat.hear("nhân viên rất nhiệt tình")  # names staff, but it is a comment
    request = seat.request(SubmitFeedback)
    assert (request.rating, request.comment) == (5, "nhân viên rất nhiệt tình")
    assert "Cảm ơn" in seat.answer_feedback(queued=True)


def test_a_button_tapped_instead_of_a_comment_is_a_new_request(seat: Seat):
    seat.hear("", intent="feedback", argument="4")
    assert seat.state.state == "ASKING_COMMENT"
    seat.hear("Cho tôi xin nước", intent="water")
    request = seat.request(SubmitFeedback)
    assert (request.rating, request.comment) == (4, "")  # the button's words are no comment
    assert seat.request(Dispense).item == "water"


def test_feedback_in_one_go_without_comment(seat: Seat):
    seat.hear("I'd rate you 4")
    seat.hear("no")
    request = seat.request(SubmitFeedback)
    assert (request.rating, request.comment, request.language) == (4, "", "en")
    assert "could not save" in seat.answer_feedback(ok=False, code="INVALID_RATING")
    assert seat.acts("error")[0].code == "INVALID_RATING"


# -- help, repeat, staff, goodbye, misunderstanding ---------------------------------------


def test_repeat_help_staff(seat: Seat):
    first = seat.hear("menu")
    assert seat.hear("nói lại") == first
    assert "quầy số 1" in seat.hear("tôi muốn gặp nhân viên")
    assert seat.state.last_action == "staff requested"


def test_goodbye_ends_the_session(seat: Seat):
    assert "Have a nice day" in seat.hear("that's all, bye")
    assert seat.state.state == "IDLE"
    assert seat.state.visitor_id == ""


def test_clarify_then_menu_then_staff(seat: Seat):
    assert "nói lại" in seat.hear("bla bla")
    assert "Quý khách có thể nói" in seat.hear("blu blu")
    assert "nhân viên" in seat.hear("bli bli")
    seat.hear("lấy số chứng thực")  # understood: the count starts again
    seat.hear("zzz")
    assert "nói lại" in seat.said()


def test_clarify_in_a_question_repeats_the_question(seat: Seat):
    seat.hear("lấy số")
    seat.hear("ừm à")
    said = seat.hear("hmm")
    assert "lĩnh vực nào" in said


def test_nonsense_and_empty_input(seat: Seat):
    assert seat.send(Heard("   ")) == []
    assert "nói lại" in seat.hear("🙂🙂🙂")


# -- sessions ----------------------------------------------------------------------------


def test_visitor_leaves_mid_flow_and_late_results_are_ignored(seat: Seat):
    seat.hear("lấy số chứng thực")
    pending = seat.request(IssueTicket)
    said = seat.send(VisitorLeft("f1"))
    assert "Cảm ơn" in seat.said(said)
    assert seat.state.state == "IDLE"
    late = seat.send(TicketResult(pending.request_id, True, "", seat.ticket()))
    assert not any(isinstance(e, (Say, PrintTicket)) for e in late)


def test_someone_else_leaving_changes_nothing(seat: Seat):
    assert seat.send(VisitorLeft("f9")) == []
    assert seat.state.visitor_id == "f1"


def test_two_visitors_in_a_row(seat: Seat):
    seat.hear("I want a number for certification")
    seat.answer_ticket(number="B003")
    seat.answer_print(ok=False, code="PAPER_OUT")
    seat.send(VisitorLeft("f1"))
    seat.send(VisitorEngaged("f2"))
    assert "Xin chào" in seat.said()
    assert seat.language() == "vi"
    state = seat.state
    assert (state.visitor_id, state.ticket_number, state.ticket_not_printed) == ("f2", "", False)


def test_second_visitor_waits_while_the_first_is_served(seat: Seat):
    assert seat.send(VisitorEngaged("f2")) == []
    assert seat.state.visitor_id == "f1"


def test_barge_in_stops_the_robot(seat: Seat):
    seat.finish_speech = False
    seat.hear("menu")
    effects = seat.send(Heard("lấy số chứng thực"))
    assert isinstance(effects[0], StopSpeaking)
    assert seat.request(IssueTicket) is not None


def test_speaking_topic_also_means_barge_in(seat: Seat):
    seat.send(SpeakingChanged(True))
    assert isinstance(seat.send(Heard("help"))[0], StopSpeaking)
    seat.send(SpeakingChanged(False))
    assert not any(isinstance(e, StopSpeaking) for e in seat.send(Heard("help")))


def test_idle_timeout_says_goodbye(seat: Seat):
    seat.hear("hello")
    seat.now += 30
    assert seat.send(Tick()) == []
    seat.now += 31
    seat.send(Tick())
    assert "gọi tôi" in seat.said() or "talk to me again" in seat.said()
    assert seat.state.state == "IDLE"


def test_no_idle_timeout_while_waiting_for_a_device(seat: Seat):
    seat.hear("cho tôi xin nước")
    seat.now += 600
    seat.send(Tick())
    assert seat.state.state == "DISPENSING"


def test_greeting_paused_by_staff():
    seat = Seat()
    seat.send(GreetingPaused(True))
    assert seat.state.greeting_paused
    assert seat.said(seat.send(VisitorEngaged("f1"))) == ""
    assert "nước" in seat.hear("cho tôi xin nước")  # a visitor who speaks is still served


def test_typed_visitor_without_camera_is_served_then_adopted():
    seat = Seat()
    seat.hear("lấy số chứng thực")
    assert seat.state.visitor_id.startswith("anonymous-")
    seat.send(VisitorEngaged("f5"))
    assert seat.state.visitor_id == "f5"
    assert seat.said() == ""


# -- touch input -------------------------------------------------------------------------


def test_touch_input_skips_understanding(seat: Seat):
    seat.hear("", intent="queue_number", argument="certification")
    assert seat.request(IssueTicket).service_code == "certification"


def test_touch_language_and_rating(seat: Seat):
    seat.hear("", intent="feedback", argument="3", language="en")
    assert seat.state.state == "ASKING_COMMENT"
    assert seat.language() == "en"


def test_unknown_touch_intent_is_a_misunderstanding(seat: Seat):
    assert "nói lại" in seat.hear("", intent="teleport")


def test_state_lists_the_options_for_the_screen(seat: Seat):
    assert "queue_number" in seat.state.options
    seat.hear("lấy số")
    assert "queue_number:civil_status" in seat.state.options
    seat.hear("bye")
    assert seat.published_states()[-1].state == "IDLE"


# -- mixed language and robustness -------------------------------------------------------


def test_mixed_language_conversation(seat: Seat):
    seat.hear("I want lấy số")  # Vietnamese words: answered in Vietnamese
    assert seat.language() == "vi"
    assert seat.state.state == "CHOOSING_SERVICE"
    seat.hear("certified copies please")  # the answer in English switches the language
    request = seat.request(IssueTicket)
    assert request.service_code == "certification"
    assert request.language == "en"
    seat.answer_ticket(number="B010")
    assert "Your number is B, zero, one, zero" in seat.answer_print()
    said = seat.hear("how much lệ phí kết hôn")
    assert "11/2026" in said
    assert seat.language() == "vi"


def test_random_input_never_breaks_the_conversation():
    import random

    rng = random.Random(7)
    alphabet = "aăâbcdđeêghiklmnoôơpqrstuưvxyAĐ0123456789 ,.?!-_/\\'\"😀\t"
    seat = Seat()
    seat.send(VisitorEngaged("f1"))
    for _ in range(300):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 60)))
        seat.send(Heard(text, language=rng.choice(["", "vi", "en", "xx"])))
        for effect in seat.turn:
            if isinstance(effect, IssueTicket):
                seat.answer_ticket(ok=False, code="SERVER_UNREACHABLE")
            elif isinstance(effect, Dispense):
                seat.answer_dispense(ok=False, code="EMPTY", dispensed=0)
            elif isinstance(effect, LookUpApplication):
                seat.answer_status(ok=False, code="UNKNOWN_CODE")
            elif isinstance(effect, CheckInBooking):
                seat.answer_ticket(ok=False, code="UNKNOWN_CODE")
            elif isinstance(effect, SubmitFeedback):
                seat.answer_feedback()
        if seat.state.state == "IDLE":
            seat.send(VisitorEngaged(f"f{rng.randint(2, 10**6)}"))
    assert seat.state.language in ("vi", "en")
    assert seat.send(Heard("x" * 10_000))  # a very long line is still answered
