"""Camera sources: image folders and video files loop, missing devices are one clear error."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from service_desk_robot.robot.vision import synthetic
from service_desk_robot.robot.vision.errors import SourceError, SourceFinishedError
from service_desk_robot.robot.vision.sources import open_source


@pytest.fixture
def folder(tmp_path):
    for i, placement in enumerate(
        [synthetic.Placement("astronaut", 320, 220, 80), synthetic.Placement("hopper", 320, 220, 80)]
    ):
        cv2.imwrite(str(tmp_path / f"{i:02d}.png"), synthetic.render([placement]))
    (tmp_path / "notes.txt").write_text("not an image")
    (tmp_path / "05-broken.jpg").write_bytes(b"not a jpeg")
    return tmp_path


def test_a_folder_plays_its_images_in_name_order_and_loops(folder):
    source = open_source(str(folder))
    frames = [source.read() for _ in range(4)]
    assert all(f.shape == (480, 640, 3) for f in frames)
    assert np.array_equal(frames[0], frames[2])  # looped past the broken file
    assert not np.array_equal(frames[0], frames[1])
    assert "folder" in source.description
    source.close()


def test_a_folder_without_loop_finishes(folder):
    source = open_source(str(folder), loop=False)
    source.read()
    source.read()
    with pytest.raises(SourceFinishedError, match="all images shown"):
        source.read()


def test_a_single_image_file_repeats(folder):
    source = open_source(str(folder / "00.png"))
    assert np.array_equal(source.read(), source.read())


def test_a_video_file_loops_and_without_loop_finishes(tmp_path):
    path = tmp_path / "visit.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 15.0, (640, 480))
    for placements in synthetic.approach("astronaut", from_m=1.5, stand_s=0.0)[:5]:
        writer.write(synthetic.render(placements))
    writer.release()
    looping = open_source(str(path))
    assert [looping.read().shape for _ in range(8)] == [(480, 640, 3)] * 8
    looping.close()
    once = open_source(str(path), loop=False)
    for _ in range(5):
        once.read()
    with pytest.raises(SourceFinishedError):
        once.read()


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("/dev/video-does-not-exist", "does not exist"),
        ("/nowhere/at/all.mp4", "neither a device, a folder nor a file"),
        ("", "no camera source configured"),
        ("57", "cannot open camera device 57"),
    ],
)
def test_sources_that_cannot_be_opened_are_one_clear_error(spec, message):
    with pytest.raises(SourceError, match=message):
        open_source(spec)


def test_an_empty_folder_and_a_file_that_is_no_video_are_errors(tmp_path):
    with pytest.raises(SourceError, match="no images"):
        open_source(str(tmp_path))
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"\x00" * 64)
    with pytest.raises(SourceError, match="cannot open video file"):
        open_source(str(junk))
