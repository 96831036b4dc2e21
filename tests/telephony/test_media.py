from __future__ import annotations

import pytest

from telephony.media import CallAudio


def test_frames_go_out_in_order_then_silence() -> None:
    audio = CallAudio(8000)
    one, two = b"\x01" * 320, b"\x02" * 320
    audio.play([one, two])
    assert audio.pending_frames == 2
    assert audio.next_frame() == one and audio.playout_started_at is not None
    assert audio.next_frame() == two
    assert audio.next_frame() == bytes(320)
    assert audio.frames_sent == 2


def test_clear_drops_what_was_not_sent() -> None:
    audio = CallAudio(8000)
    audio.play([bytes(320)] * 5)
    audio.next_frame()
    assert audio.clear() == 4 and audio.pending_frames == 0


def test_a_frame_of_the_wrong_size_is_refused() -> None:
    with pytest.raises(ValueError, match="320 bytes"):
        CallAudio(8000).play([bytes(100)])


def test_received_frames_reach_the_sink_with_their_arrival_time() -> None:
    audio = CallAudio(16000)
    got: list[tuple[float, bytes]] = []
    audio.deliver(bytes(640))  # no sink yet: dropped, not queued
    audio.set_sink(lambda at, frame: got.append((at, frame)))
    audio.deliver(b"\x03" * 640)
    assert [f for _, f in got] == [b"\x03" * 640] and got[0][0] > 0
    assert audio.frames_received == 2
