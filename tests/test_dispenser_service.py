"""The dispenser core against the emulated board on a real pty: client, exactly-once
service, journal and limits; every fault ends in a stable error code and nothing is
ever dispensed twice."""

from __future__ import annotations

import threading

import pytest
import serial
from support import wait_until

from service_desk_robot.robot.dispenser import errors
from service_desk_robot.robot.dispenser.client import DispenserClient
from service_desk_robot.robot.dispenser.journal import DONE, SENT, Journal
from service_desk_robot.robot.dispenser.limits import VisitorLimits
from service_desk_robot.robot.dispenser.protocol import (
    Command,
    ErrorCode,
    Frame,
    FrameDecoder,
    encode,
    unpack_error,
)
from service_desk_robot.robot.dispenser.service import DispenserConfig, DispenserService, open_serial
from service_desk_robot.sim.dispenser_emulator import DispenserEmulator

WATER, CANDY = 0, 1


@pytest.fixture
def emulator(tmp_path):
    emulator = DispenserEmulator(
        ["water", "candy"], [10, 10], item_time_s=0.02, link=tmp_path / "tty", seed=1
    )
    emulator.start()
    yield emulator
    emulator.close()


def _config(port: str) -> DispenserConfig:
    return DispenserConfig(
        port=port,
        capacity={"water": 20, "candy": 30},
        limits=VisitorLimits({"water": 1, "candy": 2}),
        reply_timeout_s=0.1,
        retries=2,
        item_timeout_s=1.0,
        status_period_s=0.2,
        reconnect_period_s=0.05,
    )


@pytest.fixture
def journal(tmp_path):
    journal = Journal(tmp_path / "journal.sqlite3")
    yield journal
    journal.close()


def _start(port: str, journal: Journal) -> DispenserService:
    service = DispenserService(_config(port), journal)
    service.start()
    wait_until(lambda: service.state.online, timeout_s=5, message="dispenser online")
    return service


@pytest.fixture
def service(emulator, journal):
    service = _start(emulator.port, journal)
    yield service
    service.close()


def _after_first_item(emulator: DispenserEmulator, action) -> None:
    """Run `action` on the board once, right after the first item of the next job, before
    the host hears of it: the next item sees its effect whatever the host's timing."""

    def hook(dispensed: int) -> None:
        if dispensed == 1:
            emulator.board.after_item = None
            action()

    emulator.board.after_item = hook


# --- happy path and exactly-once ----------------------------------------------------------


def test_dispense_reports_progress_and_is_journalled(service, emulator, journal):
    progress = []
    outcome = service.dispense("r1", "v1", "candy", 2, on_progress=lambda d, n: progress.append((d, n)))
    assert outcome.success, outcome
    assert (outcome.error_code, outcome.dispensed, outcome.count) == ("", 2, 2)
    assert progress == [(1, 2)]  # the last item is reported by DONE, i.e. the result
    assert emulator.board.dispensed_total == [0, 2]
    assert journal.get("r1").state == DONE
    wait_until(lambda: service.state.stock == {"water": 10, "candy": 8}, message="stock refreshed")


def test_a_served_request_id_never_dispenses_again(service, emulator):
    assert service.dispense("r1", "v1", "candy", 2).success
    again = service.dispense("r1", "v1", "candy", 2)
    assert (again.success, again.error_code, again.dispensed) == (False, "ALREADY_SERVED", 2)
    assert emulator.board.dispensed_total == [0, 2]


def test_per_visitor_limits_come_from_config_and_count_across_requests(service):
    assert service.dispense("r1", "v1", "water", 1).success
    refused = service.dispense("r2", "v1", "water", 1)
    assert refused.error_code == "LIMIT_REACHED"
    assert "0 left" in refused.message
    assert service.dispense("r3", "v1", "candy", 3).error_code == "LIMIT_REACHED"
    assert service.dispense("r4", "v2", "water", 1).success


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (("r", "v", "coffee", 1), "UNKNOWN_ITEM"),
        (("", "v", "water", 1), "BAD_REQUEST"),
        (("r", "", "water", 1), "BAD_REQUEST"),
        (("r", "v", "water", 0), "BAD_REQUEST"),
        (("r", "v", "water", 256), "BAD_REQUEST"),
    ],
)
def test_bad_requests_are_refused_before_the_board(service, emulator, args, code):
    outcome = service.dispense(*args)
    assert (outcome.success, outcome.error_code) == (False, code)
    assert emulator.board.dispensed_total == [0, 0]


def test_a_second_dispense_while_one_runs_is_busy(service, emulator):
    emulator.board.item_time_s = 0.3
    results = []
    worker = threading.Thread(target=lambda: results.append(service.dispense("r1", "v1", "candy", 2)))
    worker.start()
    wait_until(lambda: service.state.busy, message="first dispense running")
    assert service.dispense("r2", "v2", "water", 1).error_code == "BUSY"
    worker.join(5)
    assert results[0].success


# --- board faults -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("inject", "code"),
    [
        ("jam", "JAM"),
        ("motor_timeout", "MOTOR_TIMEOUT"),
        ("door open", "DOOR_OPEN"),
        ("empty candy", "EMPTY"),
    ],
)
def test_a_board_refusal_aborts_and_leaves_the_request_id_usable(service, emulator, journal, inject, code):
    assert emulator.command(inject) == "ok"
    outcome = service.dispense("r1", "v1", "candy", 1)
    assert (outcome.success, outcome.error_code, outcome.dispensed) == (False, code, 0)
    assert code in outcome.message
    assert journal.get("r1") is None  # the board did nothing: the reservation is released
    for fix in ("clear", "door close", "stock candy 5"):
        emulator.command(fix)
    assert service.dispense("r1", "v1", "candy", 1).success
    assert emulator.board.dispensed_total == [0, 1]


@pytest.mark.parametrize(
    ("inject", "code"), [("jam", "JAM"), ("empty candy", "EMPTY"), ("door open", "DOOR_OPEN")]
)
def test_a_fault_mid_dispense_reports_what_came_out(service, emulator, journal, inject, code):
    _after_first_item(emulator, lambda: emulator.command(inject))
    outcome = service.dispense("r1", "v1", "candy", 2)
    assert (outcome.error_code, outcome.dispensed) == (code, 1)
    entry = journal.get("r1")
    assert (entry.state, entry.dispensed, entry.error_code) == (DONE, 1, code)
    assert service.dispense("r1", "v1", "candy", 2).error_code == "ALREADY_SERVED"
    assert emulator.board.dispensed_total == [0, 1]
    wait_until(lambda: service.state.fault == code or code == "EMPTY", message="fault in state")


def test_cancel_stops_after_the_current_item(service, emulator):
    emulator.board.item_time_s = 0.3  # the host has this long to send CANCEL
    cancel = threading.Event()
    _after_first_item(emulator, cancel.set)
    outcome = service.dispense("r1", "v1", "candy", 2, cancel_requested=cancel.is_set)
    assert (outcome.error_code, outcome.dispensed) == ("CANCELED", 1)
    assert emulator.board.dispensed_total == [0, 1]


# --- line faults --------------------------------------------------------------------------


def test_no_reply_aborts_and_a_retry_dispenses_exactly_once(service, emulator, journal):
    emulator.command("mute on")
    outcome = service.dispense("r1", "v1", "water", 1)
    assert outcome.error_code == "NO_REPLY"
    assert journal.get("r1").state == SENT  # outcome unknown to the host: kept for the retry
    emulator.command("mute off")
    wait_until(lambda: service.state.online, message="back online")
    assert service.dispense("r1", "v1", "water", 1).success
    assert service.dispense("r1", "v1", "water", 1).error_code == "ALREADY_SERVED"
    assert emulator.board.dispensed_total == [1, 0]


def test_garbled_replies_abort_with_garbled(service, emulator):
    emulator.command("garble on")
    outcome = service.dispense("r1", "v1", "water", 1)
    assert outcome.error_code == "GARBLED"
    assert "garbled" in outcome.message
    emulator.command("garble off")
    # The board did get the request, only its replies were lost: the retry learns that.
    retry = service.dispense("r1", "v1", "water", 1)
    assert (retry.error_code, retry.dispensed) == ("ALREADY_SERVED", 1)
    assert emulator.board.dispensed_total == [1, 0]


def test_noise_and_partial_frames_on_the_line_are_harmless(service, emulator):
    emulator.command("noise on")
    emulator.command("split on")
    emulator.command("garble 2")  # two replies lost: the client resends or asks for the job
    assert service.dispense("r1", "v1", "candy", 2).success
    assert service.dispense("r2", "v1", "water", 1).success
    assert emulator.board.dispensed_total == [1, 2]


def test_port_lost_mid_dispense_then_back_resumes_without_a_second_dispense(service, emulator, journal):
    _after_first_item(emulator, emulator.unplug)
    outcome = service.dispense("r1", "v1", "candy", 2)
    assert outcome.error_code == "OFFLINE", outcome
    wait_until(lambda: not service.state.online, message="offline")
    assert service.dispense("r2", "v2", "water", 1).error_code == "OFFLINE"
    emulator.plug()
    wait_until(lambda: service.state.online, message="reconnected")
    assert emulator.board.wait_idle(5)
    replay = service.dispense("r1", "v1", "candy", 2)  # whether the row was settled or not yet
    assert (replay.error_code, replay.dispensed) == ("ALREADY_SERVED", 2)  # the job went on unplugged
    assert emulator.board.dispensed_total == [0, 2]
    assert journal.get("r1").state == DONE


def test_a_missing_port_is_offline_and_reported(journal, tmp_path):
    service = DispenserService(_config(str(tmp_path / "no-such-tty")), journal)
    service.start()
    try:
        wait_until(lambda: service.state.last_error, message="open attempt")
        assert (service.state.online, service.state.fault) == (False, "OFFLINE")
        assert "cannot open" in service.state.last_error
        assert service.dispense("r1", "v1", "water", 1).error_code == "OFFLINE"
    finally:
        service.close()


# --- restarts -----------------------------------------------------------------------------


def test_a_row_left_in_flight_by_a_crash_is_settled_on_reconnect(emulator, journal):
    first = DispenserService(_config(emulator.port), journal)
    first.start()
    wait_until(lambda: first.state.online)
    _after_first_item(emulator, emulator.unplug)
    outcome = first.dispense("r1", "v1", "candy", 2)
    assert outcome.error_code == "OFFLINE"
    first.close()  # the node dies; the job runs on
    assert emulator.board.wait_idle(5)
    emulator.plug()
    second = _start(emulator.port, journal)
    try:
        wait_until(lambda: journal.get("r1").state == DONE, message="row settled")
        assert journal.get("r1").dispensed == 2
        assert second.dispense("r1", "v1", "candy", 2).error_code == "ALREADY_SERVED"
        assert emulator.board.dispensed_total == [0, 2]
    finally:
        second.close()


def test_a_job_in_flight_when_the_board_restarted_is_never_resent(tmp_path, journal):
    link = tmp_path / "tty"
    board = DispenserEmulator(["water", "candy"], [10, 10], item_time_s=0.02, link=link).start()
    service = _start(str(link), journal)
    try:
        board.command("mute on")
        assert service.dispense("r1", "v1", "water", 1).error_code == "NO_REPLY"
        board.close()
        board = DispenserEmulator(["water", "candy"], [10, 10], item_time_s=0.02, link=link).start()
        wait_until(lambda: service.state.online and service.state.boot_id == board.board.boot_id)
        outcome = service.dispense("r1", "v1", "water", 1)
        assert outcome.error_code == "ALREADY_SERVED"
        assert board.board.dispensed_total == [0, 0]
    finally:
        service.close()
        board.close()


def test_refill_restores_capacity_and_clears_faults(service, emulator):
    assert service.dispense("r1", "v1", "candy", 2).success
    emulator.command("jam")
    wait_until(lambda: service.state.fault == "JAM", message="jam seen by the status poll")
    outcome = service.refill()
    assert outcome.success, outcome
    assert service.state.stock == {"water": 20, "candy": 30}
    assert service.state.fault == ""


# --- client details -----------------------------------------------------------------------


def test_client_over_loop_ignores_its_own_echo_and_reports_no_reply():
    client = DispenserClient(serial.serial_for_url("loop://", timeout=0.05), reply_timeout_s=0.05, retries=1)
    try:
        with pytest.raises(errors.NoReplyError):
            client.status()
        assert client.ignored_frames == 2  # both attempts came back as requests, not replies
    finally:
        client.close()


def test_unknown_command_is_refused_by_the_board(emulator):
    client = DispenserClient(open_serial(emulator.port, 115200), reply_timeout_s=0.2)
    try:
        with pytest.raises(errors.UnknownCommandError) as caught:
            client.request(0x55, expect=(Command.ACK,))
        assert caught.value.refused
    finally:
        client.close()


def test_board_answers_a_corrupt_request_with_bad_checksum(emulator):
    port = serial.serial_for_url(emulator.port, timeout=0.5)
    try:
        frame = bytearray(encode(Frame(0x0102, Command.STATUS)))
        frame[-1] ^= 0xFF
        port.write(bytes(frame))
        decoder, replies = FrameDecoder(), []
        wait_until(lambda: replies.extend(decoder.feed(port.read(1))) or replies, message="error reply")
        assert replies[0].command == Command.ERROR
        assert replies[0].seq == 0x0102
        assert unpack_error(replies[0].payload)[0] == ErrorCode.BAD_CHECKSUM
    finally:
        port.close()


# --- journal ------------------------------------------------------------------------------


def test_journal_survives_reopening_and_never_reuses_a_job_id(tmp_path):
    path = tmp_path / "j.sqlite3"
    journal = Journal(path)
    first = journal.reserve("a", "v", "water", 1, boot_id=7, now_s=100.0)
    journal.release("a")
    second = journal.reserve("b", "v", "water", 1, boot_id=7, now_s=101.0)
    journal.finish("b", 1, "", "ok", now_s=102.0)
    journal.close()
    journal = Journal(path)
    try:
        assert second.job_id > first.job_id
        assert journal.get("b").state == DONE
        assert journal.reserve("c", "v", "candy", 2, boot_id=7, now_s=103.0).job_id > second.job_id
        assert [e.request_id for e in journal.in_flight()] == ["c"]
        with pytest.raises(errors.AlreadyServedError):
            journal.reserve("b", "v", "water", 1, boot_id=7, now_s=104.0)
    finally:
        journal.close()


def test_limits_count_in_flight_rows_in_full_and_respect_the_window(tmp_path):
    journal = Journal(tmp_path / "j.sqlite3")
    limits = VisitorLimits({"candy": 2}, window_s=3600)
    try:
        journal.reserve("a", "v", "candy", 2, boot_id=1, now_s=0.0)
        with pytest.raises(errors.LimitReachedError):
            limits.check(journal, "v", "candy", 1, now_s=10.0)
        journal.finish("a", 1, "JAM", "jam", now_s=11.0)  # only one came out
        limits.check(journal, "v", "candy", 1, now_s=12.0)
        limits.check(journal, "v", "candy", 2, now_s=3601.0)  # the earlier request is out of the window
        limits.check(journal, "v", "water", 99, now_s=12.0)  # no limit for water
    finally:
        journal.close()


def test_an_unusable_journal_path_is_a_journal_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(errors.JournalError):
        Journal(blocker / "journal.sqlite3")
