"""What the bot says: prompts, and the answer to each intent."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from voicebot.understanding.intents import OUT_OF_SCOPE, Intent


@dataclass(frozen=True)
class Reply:
    text: str
    end_call: bool = False
    handoff: bool = False  # the caller asked for a person (transfer comes with the handoff issue)


@dataclass(frozen=True)
class Prompts:
    greeting: str = "Welcome to the bank's hotline. How can I help you today?"
    reprompt: str = "Sorry, I didn't hear anything. How can I help you?"
    goodbye_silence: str = "I still can't hear you, so I'll end the call now. Goodbye."
    not_understood: str = ("Sorry, I didn't catch that. You can ask about a lost card, "
                           "your balance, or to talk to a person.")
    technical_problem: str = "Sorry, something went wrong on my side. Could you say that again?"
    goodbye_failure: str = ("I'm sorry, I can't help you right now because of a technical "
                            "problem. Please call again later. Goodbye.")


ANSWERS: dict[str, Reply] = {
    "card_lost": Reply("I'm sorry to hear that. I can block your card right away. "
                       "Please tell me the last four digits of the card."),
    "balance": Reply("I can help with your balance. For your security, please tell me "
                     "the last four digits of your account number."),
    # Transfer to an agent queue comes with the handoff issue; until then say so plainly.
    "human_agent": Reply("I've noted that you'd like to speak to an advisor, but I can't "
                         "transfer calls yet. I can help with a lost card or your balance.",
                         handoff=True),
    "goodbye": Reply("Thank you for calling. Goodbye.", end_call=True),
}


class Dialogue:
    def __init__(self, prompts: Prompts | None = None, min_confidence: float = 0.5) -> None:
        self.prompts = prompts or Prompts()
        self.min_confidence = min_confidence

    def fixed_texts(self) -> list[str]:
        """Everything this dialogue can say, for synthesis ahead of the first call."""
        return [*dataclasses.astuple(self.prompts), *(r.text for r in ANSWERS.values())]

    def reply(self, intent: Intent) -> Reply:
        if intent.name == OUT_OF_SCOPE or intent.confidence < self.min_confidence:
            return Reply(self.prompts.not_understood)
        return ANSWERS.get(intent.name, Reply(self.prompts.not_understood))
