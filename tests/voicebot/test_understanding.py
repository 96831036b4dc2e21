from __future__ import annotations

import pytest

from voicebot.dialogue import Dialogue
from voicebot.understanding.intents import OUT_OF_SCOPE, Intent
from voicebot.understanding.keywords import KeywordIntentClassifier


@pytest.mark.parametrize(("text", "intent"), [
    ("Hello, I lost my credit card yesterday.", "card_lost"),
    ("My card was stolen, please block it", "card_lost"),
    ("What's my account balance?", "balance"),
    ("How much money do I have?", "balance"),
    ("Can I talk to a real person please", "human_agent"),
    ("Thank you, goodbye.", "goodbye"),
    ("What's the weather like in Paris?", OUT_OF_SCOPE),
])
def test_keyword_intents(text: str, intent: str) -> None:
    assert KeywordIntentClassifier().classify(text).name == intent


def test_dialogue_answers_confident_intents_and_asks_again_otherwise() -> None:
    dialogue = Dialogue(min_confidence=0.6)
    assert "block your card" in dialogue.reply(Intent("card_lost", 1.0)).text
    assert dialogue.reply(Intent("card_lost", 0.5)).text == dialogue.prompts.not_understood
    assert dialogue.reply(Intent(OUT_OF_SCOPE, 1.0)).text == dialogue.prompts.not_understood
    assert dialogue.reply(Intent("goodbye", 1.0)).end_call
    assert dialogue.reply(Intent("human_agent", 1.0)).handoff
