from __future__ import annotations

import asyncio
import logging
import shutil
import time
from pathlib import Path

import pytest

from voicebot.knowledge import SHIPPED_KB_DIR, KnowledgeBaseError, fill
from voicebot.knowledge_loader import check
from voicebot.knowledge_store import KnowledgeStore, watch

INTENTS = {"card_lost", "balance", "dispute", "claim_status", "loan", "fund_terms", "rates",
           "complaint", "human_agent", "greeting", "goodbye", "out_of_scope"}
GREETING_EN = "Welcome to the bank's hotline. How can I help you today?"


@pytest.fixture
def kb(tmp_path: Path) -> Path:
    return Path(shutil.copytree(SHIPPED_KB_DIR, tmp_path / "kb"))


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{old!r} is not once in {path}"
    path.write_text(text.replace(old, new), encoding="utf-8")


def append(path: Path, text: str) -> None:
    path.write_text(path.read_text(encoding="utf-8") + text, encoding="utf-8")


def line_of(path: Path, text: str) -> int:
    numbers = [n for n, line in enumerate(path.read_text().splitlines(), 1)
               if text in line and not line.lstrip().startswith("#")]
    return numbers[0]


def test_shipped_knowledge_base_is_valid_and_complete() -> None:
    assert check(SHIPPED_KB_DIR) == []
    kb = KnowledgeStore(SHIPPED_KB_DIR).for_call("any")
    assert kb.version == "v1" and kb.languages == ("en", "zh")
    for language in kb.languages:
        entries = {intent: kb.entry(intent, language) for intent in INTENTS}
        assert all(entries.values()), entries
        card, balance = entries["card_lost"], entries["balance"]
        assert card is not None and card.slots == ("card_last4",) and card.confirm
        assert card.action == "block_card"
        # No core-banking connection: the balance answer hands off and says no figures.
        assert balance is not None and balance.handoff and balance.slots == ("account_type",)
        assert not any(c.isdigit() for text in balance.templates() for c in text)
        for entry in entries.values():
            assert entry is not None
            assert all(kb.slot_question(slot, language) for slot in entry.slots)
        assert all("{" not in text for text in kb.texts(language))
        assert kb.prompts(language).greeting in kb.texts(language)


def test_entry_texts_are_filled_with_spoken_slot_values() -> None:
    kb = KnowledgeStore(SHIPPED_KB_DIR).for_call("any")
    dispute = kb.entry("dispute", "en")
    assert dispute is not None and dispute.done is not None
    spoken = {"amount": "forty-two euros", "date": "the third of May"}
    done = fill(dispute.done, spoken)
    assert "forty-two euros" in done and "the third of May" in done and "{" not in done
    # Only texts without placeholders are synthesised ahead of calls.
    assert dispute.answer in kb.texts("en") and dispute.done not in kb.texts("en")
    with pytest.raises(KeyError, match="date"):
        fill(dispute.done, {"amount": "forty-two euros"})


def test_by_slot_variants_replace_the_answer_when_the_slot_is_known(kb: Path) -> None:
    append(kb / "v1/en.yaml", """
  card_fees:
    answer: "Fees depend on the card."
    by_slot:
      account_type:
        credit_card: "The {account_type} costs 100 yuan a year."
        savings: "The savings card is free."
""")
    entry = KnowledgeStore(kb).for_call("c").entry("card_fees", "en")
    assert entry is not None
    assert entry.answer_for({"account_type": "savings"}) == "The savings card is free."
    assert entry.answer_for({}) == entry.answer_for({"account_type": "gold"}) == entry.answer


EN = "v1/en.yaml"
ERROR_CASES = [
    # (file, old text or "" to append, new text, text on the line with the error, message)
    pytest.param(EN, "    action: block_card\n", "   action: block_card\n", "action: block_card",
                 "YAML syntax error", id="syntax"),
    pytest.param(EN, '  cancelled: "All right, I\'ve cancelled that request."\n', "",
                 "prompts:", "prompts: missing required key 'cancelled'", id="missing-key"),
    pytest.param(EN, '    answer: "I\'m sorry to hear', '    anwser: "I\'m sorry to hear',
                 "anwser:", "intent 'card_lost': unknown key 'anwser' (did you mean 'answer'?)",
                 id="unknown-key"),
    pytest.param(EN, "    handoff: true\n\n  human_agent:", "    handoff: always\n\n  human_agent:",
                 "handoff: always", "intent 'complaint' handoff: expected true or false, got text",
                 id="wrong-type"),
    pytest.param(EN, "slots: [account_type]", "slots: [acount_type]", "[acount_type]",
                 "unknown slot 'acount_type' (did you mean 'account_type'?)", id="unknown-slot"),
    pytest.param(EN, "ending in {card_last4}?", "ending in {amount}?", "ending in {amount}?",
                 "placeholder {amount} names a slot the intent does not collect",
                 id="placeholder-not-collected"),
    pytest.param(EN, "help you today?", "help {you}?", "help {you}?",
                 "prompts.greeting: placeholder {you} is not allowed here",
                 id="prompt-placeholder"),
    pytest.param(EN, "", '  card_limit:\n    answer: "I can change it."\n    slots: [card_last4]\n',
                 "card_limit:", "'done' is required when 'slots' are given", id="done-missing"),
    pytest.param(EN, "", '  hours:\n    answer: "We open at 9."\n    confirm: "Repeat that?"\n',
                 "Repeat that?", "intent 'hours': 'confirm' needs 'slots'", id="confirm-no-slots"),
    pytest.param(EN, '  reprompt: "Sorry', '  greeting: "Hi"\n  reprompt: "Sorry', 'greeting: "Hi"',
                 "prompts: duplicate key 'greeting' (first at line ", id="duplicate-key"),
    pytest.param("release.yaml", "stable: v1", "stable: v1\ncandidate: v1\ncandidate_share: 1.5",
                 "candidate_share: 1.5", "candidate_share: must be between 0 and 1, got 1.5",
                 id="share-out-of-range"),
    pytest.param("release.yaml", "stable: v1", "stable: v9", "stable: v9",
                 "stable: there is no version folder 'v9'", id="missing-version"),
]


@pytest.mark.parametrize(("file", "old", "new", "marker", "message"), ERROR_CASES)
def test_errors_name_file_and_line(kb: Path, file: str, old: str, new: str, marker: str,
                                   message: str) -> None:
    if old:
        edit(kb / file, old, new)
    else:
        append(kb / file, new)
    errors = check(kb)
    where = f"{kb / file}:{line_of(kb / file, marker)}: "
    assert any(e.startswith(where) and message in e for e in errors), errors
    with pytest.raises(KnowledgeBaseError) as raised:
        KnowledgeStore(kb)
    assert raised.value.errors == errors


def test_every_error_of_every_file_is_reported(kb: Path) -> None:
    edit(kb / EN, '    answer: "I\'m sorry to hear', '    anwser: "I\'m sorry to hear')
    edit(kb / EN, "slots: [account_type]", "slots: [acount_type]")
    edit(kb / "v1/zh.yaml", "    end_call: true", "    end_call: 1")
    errors = check(kb)
    where = [f"{kb / EN}:{line_of(kb / EN, 'card_lost:')}: ",  # its answer is missing
             f"{kb / EN}:{line_of(kb / EN, 'anwser')}: ",
             f"{kb / EN}:{line_of(kb / EN, 'acount_type')}: ",
             f"{kb / 'v1/zh.yaml'}:{line_of(kb / 'v1/zh.yaml', 'end_call: 1')}: "]
    assert len(errors) == len(where), errors
    assert all(e.startswith(w) for e, w in zip(errors, where, strict=True)), errors


def test_candidate_must_have_every_language_of_stable(kb: Path) -> None:
    shutil.copytree(kb / "v1", kb / "v2")
    (kb / "v2/zh.yaml").unlink()
    edit(kb / "release.yaml", "stable: v1", "stable: v1\ncandidate: v2")
    assert check(kb) == [f"{kb / 'release.yaml'}:{line_of(kb / 'release.yaml', 'candidate: v2')}: "
                         "candidate: version 'v2' has no zh.yaml, which stable version 'v1' has"]


def test_broken_edit_keeps_serving_the_old_version(kb: Path,
                                                   caplog: pytest.LogCaptureFixture) -> None:
    store = KnowledgeStore(kb)
    before = store.for_call("call-1")
    edit(kb / EN, "    action: block_card\n", "   action: block_card\n")
    with caplog.at_level(logging.ERROR, logger="voicebot.knowledge"):
        errors = store.reload()
    assert len(errors) == 1 and "YAML syntax error" in errors[0]
    assert store.for_call("call-2") is before
    assert any(errors[0] in r.getMessage() for r in caplog.records)


def test_good_edit_reaches_new_calls_but_not_calls_in_progress(kb: Path) -> None:
    store = KnowledgeStore(kb)
    in_progress = store.for_call("call-1")
    edit(kb / EN, GREETING_EN, "Hello, this is the demo bank.")
    assert store.reload() == []
    assert store.for_call("call-2").prompts("en").greeting == "Hello, this is the demo bank."
    assert in_progress.prompts("en").greeting == GREETING_EN


def start_gray_release(kb: Path, share: float) -> None:
    shutil.copytree(kb / "v1", kb / "v2")
    edit(kb / "v2/en.yaml", GREETING_EN, "Welcome to version two.")
    edit(kb / "release.yaml", "stable: v1", f"stable: v1\ncandidate: v2\ncandidate_share: {share}")


def test_gray_release_serves_the_candidate_to_its_share_of_calls(kb: Path) -> None:
    store = KnowledgeStore(kb)
    start_gray_release(kb, 0.3)
    assert store.reload() == []
    versions = {f"call-{n}": store.for_call(f"call-{n}").version for n in range(1000)}
    share = sum(v == "v2" for v in versions.values()) / len(versions)
    assert 0.25 <= share <= 0.35
    assert all(store.for_call(call).version == v for call, v in versions.items())
    assert store.for_call(next(c for c, v in versions.items() if v == "v2")).prompts(
        "en").greeting == "Welcome to version two."


def test_promotion_is_an_edit_of_release_yaml(kb: Path) -> None:
    start_gray_release(kb, 0.1)
    store = KnowledgeStore(kb)
    (kb / "release.yaml").write_text("stable: v2\n")
    assert store.reload() == []
    assert store.release.candidate is None
    assert {store.for_call(f"call-{n}").version for n in range(100)} == {"v2"}


def test_watcher_reloads_after_an_edit(kb: Path) -> None:
    store = KnowledgeStore(kb)

    async def scenario() -> str:
        watcher = asyncio.create_task(watch(store, interval_s=0.02))
        await asyncio.sleep(0.05)  # the watcher has taken its first look
        edit(kb / EN, GREETING_EN, "Hello from the watcher.")
        deadline = time.monotonic() + 5.0
        while store.for_call("c").prompts("en").greeting == GREETING_EN:
            assert time.monotonic() < deadline, "the watcher did not reload"
            await asyncio.sleep(0.02)
        watcher.cancel()
        with pytest.raises(asyncio.CancelledError):
            await watcher
        return store.for_call("c").prompts("en").greeting

    assert asyncio.run(scenario()) == "Hello from the watcher."
