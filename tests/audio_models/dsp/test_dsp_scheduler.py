"""The batch scheduler: one backend run per tick for every live call, results back in order,
and one call's trouble (a bad frame, a hang-up, a failing kernel) never stalls the others."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from audio_models.dsp.backend import NumpyFrontEnd
from audio_models.dsp.scheduler import BatchScheduler
from audio_models.dsp.settings import FRAME, WIDE_FRAME, FrontEndSettings

SETTINGS = FrontEndSettings(dc_removal=True, denoise=True, gain_control=True)


def tone_frames(f0: float, count: int, level: float = 0.2) -> list[bytes]:
    t = np.arange(count * FRAME) / 8000
    pcm = np.rint(level * 32767 * np.sin(2 * np.pi * f0 * t)).astype("<i2")
    return [pcm[i * FRAME:(i + 1) * FRAME].tobytes() for i in range(count)]


async def feed(scheduler: BatchScheduler, frames_by_call: list[list[bytes]]
               ) -> list[list[bytes]]:
    """Each call hands in its frames one per tick, like the SIP bridge clock delivers them."""
    channels = [scheduler.open() for _ in frames_by_call]

    async def call(channel_index: int) -> list[bytes]:
        channel = channels[channel_index]
        return [(await channel.process(f)).wide for f in frames_by_call[channel_index]]
    try:
        return list(await asyncio.gather(*(call(i) for i in range(len(channels)))))
    finally:
        for channel in channels:
            channel.close()


def alone(frames: list[bytes]) -> list[bytes]:
    """What one call's frames give through a backend of its own."""
    backend = NumpyFrontEnd(1, SETTINGS)
    row = np.zeros(1, dtype=np.intp)
    out = []
    for f in frames:
        wide, _ = backend.process(np.frombuffer(f, dtype="<i2")[None], row)
        out.append(np.clip(np.rint(wide[0] * 32768), -32768, 32767).astype("<i2").tobytes())
    return out


def test_all_live_calls_go_through_in_one_batch_per_tick() -> None:
    calls = [tone_frames(f0, 10) for f0 in (120.0, 180.0, 240.0, 300.0)]
    scheduler = BatchScheduler(NumpyFrontEnd(4, SETTINGS), max_wait_s=1.0)
    heard = asyncio.run(feed(scheduler, calls))
    assert scheduler.batches == 10 and scheduler.frames == 40
    for frames, out in zip(calls, heard, strict=True):
        assert out == alone(frames)  # batching changes nothing a call hears
        assert all(len(f) == 2 * WIDE_FRAME for f in out)


def test_a_call_that_sends_nothing_delays_the_others_only_until_the_deadline() -> None:
    async def scenario() -> tuple[float, int]:
        scheduler = BatchScheduler(NumpyFrontEnd(2, SETTINGS), max_wait_s=0.01)
        talking, silent = scheduler.open(), scheduler.open()
        loop = asyncio.get_running_loop()
        started = loop.time()
        for frame in tone_frames(200.0, 3):
            await talking.process(frame)
        silent.close()
        talking.close()
        return loop.time() - started, scheduler.batches
    elapsed, batches = asyncio.run(scenario())
    assert batches == 3
    assert elapsed < 3 * 0.01 + 1.0  # three deadlines, not a hang


def test_a_second_frame_before_the_others_flushes_the_first() -> None:
    async def scenario() -> BatchScheduler:
        scheduler = BatchScheduler(NumpyFrontEnd(2, SETTINGS), max_wait_s=5.0)
        fast, slow = scheduler.open(), scheduler.open()
        first, second = tone_frames(200.0, 2)
        one = asyncio.ensure_future(fast.process(first))
        await asyncio.sleep(0)
        two = asyncio.ensure_future(fast.process(second))
        await asyncio.wait_for(one, 1.0)  # long before the 5 s deadline
        assert not two.done()
        slow.close()  # the call left: what is pending goes without it
        await two
        fast.close()
        return scheduler
    assert asyncio.run(scenario()).batches == 2


def test_a_frame_of_the_wrong_size_is_refused_for_that_call_only() -> None:
    async def scenario() -> None:
        scheduler = BatchScheduler(NumpyFrontEnd(2, SETTINGS), max_wait_s=0.01)
        good, bad = scheduler.open(), scheduler.open()
        with pytest.raises(ValueError, match="320-byte frames"):
            await bad.process(b"\x00" * 100)
        assert len((await good.process(tone_frames(200.0, 1)[0])).wide) == 2 * WIDE_FRAME
    asyncio.run(scenario())


class FailingOnce(NumpyFrontEnd):
    def __init__(self) -> None:
        super().__init__(2, SETTINGS)
        self.failed = False

    def process(self, frames: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if not self.failed:
            self.failed = True
            raise RuntimeError("kernel fault")
        return super().process(frames, rows)


def test_a_failing_batch_reaches_each_call_and_the_next_tick_works() -> None:
    async def scenario() -> None:
        scheduler = BatchScheduler(FailingOnce(), max_wait_s=1.0)
        a, b = scheduler.open(), scheduler.open()
        frame = tone_frames(200.0, 1)[0]
        results = await asyncio.gather(a.process(frame), b.process(frame),
                                       return_exceptions=True)
        assert all(isinstance(r, RuntimeError) for r in results)
        results = await asyncio.gather(a.process(frame), b.process(frame))
        assert all(len(r.wide) == 2 * WIDE_FRAME for r in results)
    asyncio.run(scenario())


def test_slots_are_reused_and_start_afresh() -> None:
    async def scenario() -> tuple[bytes, bytes]:
        scheduler = BatchScheduler(NumpyFrontEnd(1, SETTINGS))
        frames = tone_frames(200.0, 5)
        first = scheduler.open()
        for f in frames:
            await first.process(f)
        with pytest.raises(RuntimeError, match="full"):
            scheduler.open()
        first.close()
        second = scheduler.open()  # the slot the first call left
        return (await second.process(frames[0])).wide, alone(frames[:1])[0]
    fresh, expected = asyncio.run(scenario())
    assert fresh == expected


def test_features_come_back_per_hop() -> None:
    async def scenario() -> np.ndarray:
        scheduler = BatchScheduler(NumpyFrontEnd(1, SETTINGS))
        channel = scheduler.open()
        out = [await channel.process(f) for f in tone_frames(200.0, 10)]
        return np.concatenate([o.features for o in out])
    features = asyncio.run(scenario())
    assert features.shape == (20, 3)
    assert features[-1, 1] == pytest.approx(200.0, rel=0.02)  # the tone's pitch
