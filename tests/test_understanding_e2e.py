"""Understanding over real SIP calls: a card-loss conversation with slot filling and
confirmation, and knowledge-base edits while a call is live."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import CALL_RATE, HotlineProcess, Speech, free_port

from voicebot.caller import ScriptedCaller, trim_silence
from voicebot.knowledge import SHIPPED_KB_DIR

pytestmark = pytest.mark.e2e

OLD_ANSWER = "I'm sorry to hear that."
NEW_ANSWER = "Oh no, that is bad news."
QUESTION = "Hello, I lost my credit card yesterday. Can you block it?"


@pytest.fixture(scope="module")
def kb_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("kb") / "kb"
    shutil.copytree(SHIPPED_KB_DIR, folder)
    return folder


@pytest.fixture(scope="module")
def hotline(tmp_path_factory: pytest.TempPathFactory, kb_dir: Path) -> Iterator[HotlineProcess]:
    process = HotlineProcess(tmp_path_factory.mktemp("understanding"), "--max-calls", "2",
                             "--silence-timeout-s", "4", "--kb-dir", str(kb_dir))
    yield process
    assert process.stop() == 0


def test_card_loss_is_collected_confirmed_and_recorded(hotline: HotlineProcess, speech: Speech,
                                                        tmp_path: Path) -> None:
    turns = [QUESTION, "Four five two one.", "Yes, please.", "Thank you, goodbye."]
    count = len(hotline.wait_records(0))
    result = subprocess.run(
        [sys.executable, "-m", "voicebot.cli", "call", hotline.uri,
         *[arg for text in turns for arg in ("--play", str(speech.wav(text)))],
         "--rtp-port", str(free_port())],
        capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stdout + result.stderr
    record = hotline.wait_records(count + 1)[-1]
    answers = [t["answer"] for t in record["turns"] if not t["interrupted"]]
    assert record["turns"][0]["intent"] == "card_lost", record["turns"]
    assert "last four digits" in answers[0], answers
    assert "4 5 2 1" in answers[1] and answers[1].endswith("?"), answers  # the confirmation
    assert "4 5 2 1" in answers[2] and "blocked" in answers[2], answers
    assert record["actions"] == [{"name": "block_card", "slots": {"card_last4": "4521"}}]
    assert record["end_reason"] == "caller said goodbye"
    assert record["turns"][1]["slots"] == {"card_last4": "4521"}
    assert all(t["emotion"] == "neutral" for t in record["turns"])


def test_knowledge_base_edits_reach_new_calls_and_broken_edits_are_refused(
        hotline: HotlineProcess, speech: Speech, kb_dir: Path) -> None:
    question = trim_silence(speech.pcm(QUESTION), CALL_RATE // 50)
    english = kb_dir / "v1" / "en.yaml"
    good = english.read_text()
    assert OLD_ANSWER in good

    async def live_call_during_edits() -> None:
        c = ScriptedCaller(rtp_port=free_port())
        try:
            await c.dial(hotline.uri)
            assert await c.wait_for_speech(0, 10) is not None
            heard_greeting = await c.wait_for_silence(1.0, 15)
            since = len(hotline.lines)
            english.write_text(good.replace(OLD_ANSWER, NEW_ANSWER))
            await asyncio.to_thread(hotline.wait_for_log, "serving", 1, since, 15)
            # The call goes on, with the knowledge base it started with.
            ended = await c.speak(question)
            assert await c.wait_for_speech(max(ended, heard_greeting), 15) is not None
            await c.wait_for_silence(1.0, 20)
        finally:
            await c.close()

    async def later_call() -> None:
        c = ScriptedCaller(rtp_port=free_port())
        try:
            await c.converse(hotline.uri, [question])
        finally:
            await c.close()

    count = len(hotline.wait_records(0))
    asyncio.run(live_call_during_edits())
    since = len(hotline.lines)
    english.write_text(good.replace("intents:", "intents: [", 1))  # broken YAML
    hotline.wait_for_log("not reloaded", since=since, timeout=15)
    asyncio.run(later_call())
    live, later = hotline.wait_records(count + 2)[-2:]
    assert live["turns"][0]["answer"].startswith(OLD_ANSWER), live["turns"]
    assert later["turns"][0]["answer"].startswith(NEW_ANSWER), later["turns"]
    error = next(line for line in hotline.lines[since:] if "not reloaded" in line)
    assert "en.yaml" in "\n".join(hotline.lines[since:]) and "v1" in error
