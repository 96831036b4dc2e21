"""Who hears whom, checked by ear: tones through a real conference bridge.

This process runs the hub (the hotline's side: the caller's leg, its bot port playing a
1100 Hz "bot" tone, and the supervisor's leg). Phone A (500 Hz) calls the hub; the hub
calls phone B (1700 Hz), the supervisor. The supervisor then steps through the modes, and
each window of audio shows which tones the caller, the supervisor and the bot port heard.
"""

from __future__ import annotations

import concurrent.futures
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from conftest import LOOPBACK, free_port
from tone_phone import Recording, TonePhone, ToneSource

from telephony.bridge import BridgeError, CallBridge, Mode
from telephony.call import CallLeg
from telephony.endpoint import SipConfig, SipEndpoint

pytestmark = pytest.mark.e2e

CALLER_HZ, BOT_HZ, SUPERVISOR_HZ = 500.0, 1100.0, 1700.0
STEP_S = 2.5
SETTLE_S = 0.5  # queued bridge changes, jitter buffers: audio of the last mode fades out
PRESENT_DB = -25.0  # tones are sent at -12 dB re full scale
ABSENT_DB = -45.0  # 20 dB below anything heard; G.711 distortion stays under it
BOT_TONE_S = 90  # the bot "talks" longer than the whole test: its queue never runs dry


class Hub:
    """The hotline's side of the call, as a CallListener: the bot port plays and listens."""

    def __init__(self) -> None:
        self.bot_heard: list[tuple[float, bytes]] = []
        self.caller: CallLeg | None = None
        self.caller_connected = threading.Event()

    def on_call_started(self, leg: CallLeg) -> None:
        if leg.direction == "in":
            self.caller = leg
            leg.audio.set_sink(lambda _at, frame: self.bot_heard.append((time.time(), frame)))
            leg.audio.play(ToneSource(BOT_HZ).frames(BOT_TONE_S * 50))
            self.caller_connected.set()

    def on_call_ended(self, leg: CallLeg) -> None:
        leg.audio.set_sink(None)


@dataclass
class Heard:
    """What each party heard, and the wall-clock window of each step."""

    caller: Recording
    supervisor: Recording
    bot: Recording
    windows: dict[str, tuple[float, float]] = field(default_factory=dict)
    refusal: str = ""


def step(windows: dict[str, tuple[float, float]], name: str,
         change: concurrent.futures.Future[None]) -> None:
    change.result(5)
    switched = time.time()
    time.sleep(STEP_S)
    windows[name] = (switched + SETTLE_S, switched + STEP_S)


@pytest.fixture(scope="module")
def heard(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Heard]:
    folder = tmp_path_factory.mktemp("bridge_audio")
    hub = Hub()
    endpoint = SipEndpoint(SipConfig(
        host=LOOPBACK, port=free_port(), transports=("udp",), extension="hub", max_calls=2,
        rtp_port=free_port(), rtp_port_range=10), hub)
    endpoint.start()
    supervisor = TonePhone(folder / "supervisor.npz", SUPERVISOR_HZ, free_port(),
                           port=free_port(), extension="ann")
    caller = TonePhone(folder / "caller.npz", CALLER_HZ, free_port(), dial=endpoint.uri)
    windows: dict[str, tuple[float, float]] = {}
    try:
        supervisor.wait_for("tone_phone ready")
        caller.wait_for("tone_phone connected")
        assert hub.caller_connected.wait(10) and hub.caller is not None
        leg = endpoint.dial(supervisor.uri)
        assert leg.connected.wait(10), f"supervisor did not answer: {leg.outcome}"
        bridge = CallBridge(endpoint, hub.caller)

        step(windows, "listen", bridge.join("ann", leg, Mode.LISTEN))
        step(windows, "whisper", bridge.set_mode("ann", Mode.WHISPER))
        step(windows, "barge", bridge.set_mode("ann", Mode.BARGE))
        bridge.set_mode("ann", Mode.TAKEOVER).result(5)
        with pytest.raises(BridgeError) as refused:  # a second takeover changes nothing
            bridge.join("bob", leg, Mode.TAKEOVER).result(5)
        step(windows, "takeover", bridge.set_mode("ann", Mode.TAKEOVER))
        step(windows, "removed", bridge.leave("ann"))
        step(windows, "barge again", bridge.join("ann", leg, Mode.BARGE))
        assert supervisor.stop() == 0  # the supervisor hangs up mid-barge
        assert leg.ended.wait(5)
        step(windows, "supervisor hung up", bridge.leave("ann"))
        assert caller.stop() == 0
        yield Heard(caller.recording(), supervisor.recording(),
                    Recording.of_frames(hub.bot_heard), windows, str(refused.value))
    finally:
        for phone in (caller, supervisor):
            if phone.proc.poll() is None:
                phone.stop()
        endpoint.stop()


# step -> party -> (tones heard, tones not heard)
EXPECTED: dict[str, dict[str, tuple[set[float], set[float]]]] = {
    "listen": {"caller": ({BOT_HZ}, {SUPERVISOR_HZ}),
               "supervisor": ({CALLER_HZ, BOT_HZ}, set()),
               "bot": ({CALLER_HZ}, {SUPERVISOR_HZ})},
    "whisper": {"caller": ({BOT_HZ}, {SUPERVISOR_HZ}),
                "supervisor": ({CALLER_HZ, BOT_HZ}, set()),
                "bot": ({CALLER_HZ}, {SUPERVISOR_HZ})},
    "barge": {"caller": ({BOT_HZ, SUPERVISOR_HZ}, set()),
              "supervisor": ({CALLER_HZ, BOT_HZ}, set()),
              "bot": ({CALLER_HZ, SUPERVISOR_HZ}, set())},
    "takeover": {"caller": ({SUPERVISOR_HZ}, {BOT_HZ}),
                 "supervisor": ({CALLER_HZ, BOT_HZ}, set()),
                 "bot": ({CALLER_HZ}, {SUPERVISOR_HZ})},
    "removed": {"caller": ({BOT_HZ}, {SUPERVISOR_HZ}),
                "supervisor": (set(), {CALLER_HZ, BOT_HZ}),
                "bot": ({CALLER_HZ}, {SUPERVISOR_HZ})},
    "supervisor hung up": {"caller": ({BOT_HZ}, {SUPERVISOR_HZ}),
                           "bot": ({CALLER_HZ}, {SUPERVISOR_HZ})},
}
CASES = [(name, party) for name, parties in EXPECTED.items() for party in parties]


@pytest.mark.parametrize(("name", "party"), CASES, ids=[f"{n}-{p}" for n, p in CASES])
def test_each_party_hears_what_the_mode_routes_to_it(heard: Heard, name: str,
                                                     party: str) -> None:
    recording: Recording = getattr(heard, party)
    present, absent = EXPECTED[name][party]
    start, end = heard.windows[name]
    levels = {hz: round(recording.level_db(hz, start, end), 1) for hz in present | absent}
    print(f"{name:>20} {party:>10}: " + ", ".join(
        f"{hz:.0f} Hz {'heard' if hz in present else 'not heard'} {db} dB"
        for hz, db in sorted(levels.items())))
    assert all(levels[hz] > PRESENT_DB for hz in present), levels
    assert all(levels[hz] < ABSENT_DB for hz in absent), levels


def test_a_second_takeover_is_refused(heard: Heard) -> None:
    assert "bob cannot take over: ann has already taken over" in heard.refusal
