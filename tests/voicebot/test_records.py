"""Per-turn stage durations: each stage counts only the time it adds after the turn ended."""

from __future__ import annotations

from voicebot.records import TurnTimings


def test_stages_of_a_statement_held_for_the_caller_to_go_on() -> None:
    t = TurnTimings(speech_ended=10.0, turn_decided=10.4, asr_done=10.45, answer_ready=10.46,
                    held_until=10.7, first_audio_queued=10.71)
    assert t.stages_ms() == {"end_of_turn_wait": 400.0, "asr": 50.0, "understanding": 10.0,
                             "statement_hold": 240.0, "tts_first_audio": 10.0, "total": 710.0}


def test_work_done_during_the_pause_adds_nothing() -> None:
    t = TurnTimings(speech_ended=10.0, turn_decided=10.3, asr_done=10.25, answer_ready=10.26,
                    first_audio_queued=10.3, speculative=True)
    stages = t.stages_ms()
    assert stages["asr"] == stages["understanding"] == stages["statement_hold"] == 0.0
    assert stages["total"] == 300.0
