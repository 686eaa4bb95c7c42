"""Frame codec of the dispenser protocol: byte-exact frames, partial frames, noise, resync,
payloads, and the decoder fuzzed with hypothesis."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from service_desk_robot.robot.dispenser import errors
from service_desk_robot.robot.dispenser.protocol import (
    MAX_FRAME_LEN,
    MAX_PAYLOAD_LEN,
    STX,
    Command,
    DispenseRequest,
    ErrorCode,
    Frame,
    FrameDecoder,
    Hello,
    JobInfo,
    JobState,
    Status,
    crc16,
    encode,
    error_for,
    pack_error,
    unpack_error,
)


def test_crc_is_ccitt_false():
    assert crc16(b"123456789") == 0x29B1  # the catalogued check value of CRC-16/CCITT-FALSE


def test_frames_are_byte_exact():
    assert encode(Frame(1, Command.HELLO, b"\x01")) == bytes.fromhex("a5 04 0001 01 01 8c2a")
    dispense = encode(Frame(0x1234, Command.DISPENSE, DispenseRequest(job=7, slot=1, count=2).pack()))
    assert dispense == bytes.fromhex("a5 09 1234 03 00000007 01 02 567e")


def test_encode_refuses_what_cannot_be_framed():
    with pytest.raises(errors.BadRequestError):
        encode(Frame(0x10000, Command.STATUS))
    with pytest.raises(errors.BadRequestError):
        encode(Frame(1, Command.STATUS, bytes(MAX_PAYLOAD_LEN + 1)))
    assert len(encode(Frame(1, Command.STATUS, bytes(MAX_PAYLOAD_LEN)))) == MAX_FRAME_LEN


def test_a_frame_fed_byte_by_byte_comes_out_once_complete():
    data = encode(Frame(5, Command.STATUS))
    decoder = FrameDecoder()
    for byte in data[:-1]:
        assert decoder.feed(bytes([byte])) == []
    assert decoder.feed(data[-1:]) == [Frame(5, Command.STATUS)]
    assert decoder.pending == 0


def test_noise_between_frames_is_discarded_and_counted():
    a, b = Frame(1, Command.HELLO, b"\x01"), Frame(2, Command.STATUS)
    decoder = FrameDecoder()
    assert decoder.feed(b"\x00\xff junk" + encode(a) + b"\x13\x37" + encode(b)) == [a, b]
    assert decoder.discarded_bytes == 9


def test_a_false_start_with_a_huge_length_does_not_hold_a_real_frame_hostage():
    real = Frame(3, Command.ACK, b"\x04")
    decoder = FrameDecoder()
    assert decoder.feed(bytes([STX, 250, 1, 2]) + encode(real)) == [real]


def test_a_corrupt_frame_is_dropped_and_the_next_one_found():
    good = Frame(9, Command.STATUS)
    corrupt = bytearray(encode(Frame(8, Command.STATUS)))
    corrupt[3] ^= 0x40
    decoder = FrameDecoder()
    assert decoder.feed(bytes(corrupt) + encode(good)) == [good]
    assert decoder.bad_checksums == 1
    assert decoder.corrupt[-1].seq == corrupt[2] << 8 | corrupt[3]


def test_a_length_below_the_minimum_is_a_false_start():
    good = Frame(1, Command.STATUS)
    assert FrameDecoder().feed(bytes([STX, 2]) + encode(good)) == [good]


def test_payloads_round_trip():
    hello = Hello(1, 2, 0xDEADBEEF, "fw 1.0")
    assert Hello.unpack(hello.pack()) == hello
    status = Status(door_open=True, motor_running=False, fault=ErrorCode.JAM, active_job=12, stock=(3, 40))
    assert Status.unpack(status.pack()) == status
    info = JobInfo(70000, JobState.DONE, 1, 2, 1, ErrorCode.EMPTY)
    assert JobInfo.unpack(info.pack()) == info
    assert unpack_error(pack_error(ErrorCode.DOOR_OPEN, "door open")) == (ErrorCode.DOOR_OPEN, "door open")


def test_short_payloads_are_protocol_errors():
    with pytest.raises(errors.ProtocolError):
        Status.unpack(bytes([0, 0, 0, 0, 0, 0, 2, 0, 1]))  # claims 2 slots, carries 1
    with pytest.raises(errors.ProtocolError):
        JobInfo.unpack(b"\x00")


@pytest.mark.parametrize(
    ("code", "cls"),
    [
        (ErrorCode.JAM, errors.JamError),
        (ErrorCode.EMPTY, errors.EmptyError),
        (ErrorCode.DOOR_OPEN, errors.DoorOpenError),
        (ErrorCode.MOTOR_TIMEOUT, errors.MotorTimeoutError),
        (ErrorCode.UNKNOWN_COMMAND, errors.UnknownCommandError),
        (ErrorCode.BAD_CHECKSUM, errors.BadChecksumError),
        (0x77, errors.ProtocolError),
    ],
)
def test_wire_codes_map_onto_the_exception_tree(code, cls):
    error = error_for(code, "x", dispensed=1)
    assert type(error) is cls
    assert isinstance(error, errors.DispenserError)
    assert error.dispensed == 1


# --- fuzzing ----------------------------------------------------------------------------

frames = st.builds(
    Frame,
    seq=st.integers(0, 0xFFFF),
    command=st.integers(0, 0xFF),
    payload=st.binary(max_size=40),
)


def _chunks(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts})
    edges = [0, *points, len(data)]
    return [data[a:b] for a, b in itertools.pairwise(edges)]


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=600), st.lists(st.integers(0, 600), max_size=20))
def test_arbitrary_bytes_never_crash_and_the_buffer_stays_bounded(data, cuts):
    decoder = FrameDecoder()
    for chunk in _chunks(data, cuts):
        for frame in decoder.feed(chunk):
            assert encode(frame)  # whatever comes out is a frame that can be framed again
        assert decoder.pending <= MAX_FRAME_LEN


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.tuples(st.binary(max_size=12), frames), min_size=1, max_size=8),
    st.lists(st.integers(0, 2000), max_size=30),
)
def test_every_frame_survives_noise_and_arbitrary_chunking(noisy_frames, cuts):
    stream = b"".join(noise + encode(frame) for noise, frame in noisy_frames)
    sent = [frame for _, frame in noisy_frames]
    decoder = FrameDecoder()
    received = [frame for chunk in _chunks(stream, cuts) for frame in decoder.feed(chunk)]
    # Every sent frame arrives, in order (noise may, with CRC odds, add a spurious one).
    remaining = iter(received)
    assert all(any(frame == got for got in remaining) for frame in sent), (sent, received)
