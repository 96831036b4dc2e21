"""The dialogue manager: what a caller's turn means for the call, and what the bot says next.

Per call it keeps the request being served, the slots filled so far, the emotion trajectory
and the transcript. A turn is first *planned* on a copy of that state and only *committed*
once the answer is really spoken, so an answer prepared speculatively during a pause and
then dropped leaves no trace.
"""

from __future__ import annotations

import copy
import datetime
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from audio_models.prosody import Prosody
from voicebot.knowledge import Entry, KnowledgeBase, Prompts, fill
from voicebot.redaction import redact
from voicebot.understanding.completion import sounds_finished, trails_off
from voicebot.understanding.confirmation import yes_or_no
from voicebot.understanding.emotion import Emotion, EmotionTracker
from voicebot.understanding.intents import OUT_OF_SCOPE, Intent, IntentClassifier
from voicebot.understanding.language import language_of
from voicebot.understanding.slots import Amount, SlotValue, describe, extract_slots

HUMAN_AGENT = "human_agent"
GOODBYE = "goodbye"
FAILURES_BEFORE_HANDOFF = 2  # not understood this many times in a row: a person takes over
_CONFIRMATION = "confirmation"  # what the bot awaits after asking "shall I ...?"


@dataclass(frozen=True)
class Reply:
    text: str
    end_call: bool = False
    handoff: str | None = None  # why the call goes to a person, when it does
    retry: bool = False  # the bot did not understand and asks again


@dataclass(frozen=True)
class Meaning:
    """What one caller turn said, as understood."""

    text: str
    language: str
    intent: Intent
    slots: dict[str, SlotValue]
    emotion: Emotion
    agreed: bool | None  # yes or no to the bot's confirmation; None: neither, or none asked
    answers_the_bot: bool  # gives the slot or the yes/no the bot had just asked for


@dataclass(frozen=True)
class Action:
    """A request the caller confirmed, recorded for the back office."""

    name: str
    slots: dict[str, str]


@dataclass
class DialogueState:
    language: str
    slots: dict[str, SlotValue] = field(default_factory=dict)
    request: str | None = None  # the intent being served over several turns
    awaiting: str | None = None  # the slot just asked for, or _CONFIRMATION
    failures: int = 0  # turns in a row not understood
    intents: list[str] = field(default_factory=list)
    emotions: EmotionTracker = field(default_factory=EmotionTracker)
    transcript: list[tuple[str, str]] = field(default_factory=list)  # (speaker, redacted text)
    actions: list[Action] = field(default_factory=list)
    handoff: str | None = None


@dataclass(frozen=True)
class Plan:
    meaning: Meaning
    reply: Reply
    state: DialogueState

    @property
    def ends_turn(self) -> bool:
        """Understood, and either a question said as a finished sentence, a goodbye, or the
        answer to the bot's own question ("4-5-2-1", punctuated or not) that does not trail
        off: no need to wait out the hangover. A plain statement does not qualify: callers
        pause after "I lost my card yesterday." before "Can you block it?"."""
        m = self.meaning
        if self.reply.retry:
            return False
        if m.answers_the_bot:
            return not trails_off(m.text)
        asked = m.text.rstrip().endswith(("?", "？"))
        return (asked or m.intent.name == GOODBYE) and sounds_finished(m.text)


@dataclass(frozen=True)
class HandoffPackage:
    """Everything a human agent needs so the caller is not asked again."""

    reason: str
    language: str
    turns: int
    intents: list[str]
    slots: dict[str, str]
    emotions: list[dict[str, float | str]]
    actions: list[Action]
    transcript: list[dict[str, str]]


class Dialogue:
    def __init__(self, kb: KnowledgeBase, classifier: IntentClassifier,
                 languages: Sequence[str] = ("en",), min_confidence: float = 0.4,
                 today: Callable[[], datetime.date] = datetime.date.today) -> None:
        # The bot answers in the caller's language when it can speak it, else in the first.
        self.languages = [lang for lang in languages if lang in kb.languages] or [kb.languages[0]]
        self.kb = kb
        self.classifier = classifier
        self.min_confidence = min_confidence
        self.today = today
        self.state = DialogueState(language=self.languages[0])

    @property
    def prompts(self) -> Prompts:
        return self.kb.prompts(self.state.language)

    def plan(self, text: str, prosody: Prosody | None = None) -> Plan:
        state = copy.deepcopy(self.state)
        meaning = self._understand(text, prosody, state)
        reply = self._decide(meaning, state)
        state.transcript += [("caller", redact(text)), ("bot", redact(reply.text))]
        state.handoff = state.handoff or reply.handoff
        return Plan(meaning, reply, state)

    def commit(self, plan: Plan) -> None:
        self.state = plan.state

    def note_said(self, speaker: str, text: str) -> None:
        """Words said outside a planned turn (the bot's greeting and re-prompts, what the
        caller and a supervisor said while one had taken over) belong in the transcript."""
        self.state.transcript.append((speaker, redact(text)))

    def handoff_package(self) -> HandoffPackage:
        s = self.state
        return HandoffPackage(
            reason=s.handoff or "", language=s.language,
            turns=sum(1 for speaker, _ in s.transcript if speaker == "caller"),
            intents=list(s.intents), slots=canonical(s.slots),
            emotions=[{"label": e.label, "score": round(e.score, 2)}
                      for e in s.emotions.trajectory],
            actions=list(s.actions),
            transcript=[{"speaker": who, "text": said} for who, said in s.transcript])

    # --- understanding --------------------------------------------------------------------
    def _understand(self, text: str, prosody: Prosody | None, state: DialogueState) -> Meaning:
        heard = language_of(text)
        if heard in self.languages:
            state.language = heard
        expected = state.awaiting if state.awaiting != _CONFIRMATION else None
        slots = extract_slots(text, today=self.today(), expected=expected, language=heard)
        intent = self.classifier.classify(text)
        if intent.confidence < self.min_confidence:
            intent = Intent(OUT_OF_SCOPE, intent.confidence)
        emotion = state.emotions.observe(text, prosody, heard)
        if intent.name != OUT_OF_SCOPE:
            state.intents.append(intent.name)
        if state.awaiting == _CONFIRMATION:
            agreed = yes_or_no(text)
            answers = agreed is not None
        else:
            agreed, answers = None, state.awaiting in slots
        return Meaning(text, heard, intent, slots, emotion, agreed, answers)

    # --- deciding -------------------------------------------------------------------------
    def _decide(self, m: Meaning, s: DialogueState) -> Reply:
        if m.intent.name == HUMAN_AGENT:
            return self._hand_off(s, "the caller asked for a person")
        if s.emotions.sustained_anger():
            return self._hand_off(s, "the caller has been angry for two turns")
        if s.request is not None:
            reply = self._continue_request(m, s)
            if reply is not None:
                return reply
        return self._new_request(m, s)

    def _continue_request(self, m: Meaning, s: DialogueState) -> Reply | None:
        """The caller's answer to a slot question or a confirmation; None if they moved on."""
        entry = self._entry(s)
        given = {k: v for k, v in m.slots.items() if k in entry.slots}
        if s.awaiting == _CONFIRMATION:
            if given:  # "no, it ends in 4522": a correction, confirmed again
                s.slots.update(given)
                return self._proceed(s)
            if m.agreed is True:
                return self._complete(s, entry)
            if m.agreed is False:
                s.request = s.awaiting = None
                p = self._prompts(s)
                return Reply(f"{p.cancelled} {p.anything_else}")
        elif given:
            s.slots.update(given)
            return self._proceed(s)
        if self._moved_on(m, s):
            return None
        return self._failed(s, self._pending_question(s))

    def _new_request(self, m: Meaning, s: DialogueState) -> Reply:
        entry = self.kb.entry(m.intent.name, s.language)
        if m.intent.name == OUT_OF_SCOPE or entry is None:
            return self._failed(s, self._prompts(s).not_understood)
        s.failures = 0
        s.request, s.awaiting = entry.intent, None
        s.slots.update(m.slots)
        if not entry.slots:
            return self._complete(s, entry)
        return self._proceed(s, opening=entry.answer)

    def _proceed(self, s: DialogueState, opening: str = "") -> Reply:
        """Ask for the next missing slot, or confirm, or act."""
        entry = self._entry(s)
        s.failures = 0
        missing = [slot for slot in entry.slots if slot not in s.slots]
        if missing:
            s.awaiting = missing[0]
            return Reply(_join(opening, self.kb.slot_question(missing[0], s.language)))
        if entry.confirm:
            s.awaiting = _CONFIRMATION
            return Reply(_join(opening, fill(entry.confirm, self._spoken(s.slots, s.language))))
        return self._complete(s, entry, opening)

    def _complete(self, s: DialogueState, entry: Entry, opening: str = "") -> Reply:
        spoken = self._spoken(s.slots, s.language)
        said = fill(entry.done, spoken) if entry.done else entry.answer_for(
            {k: str(v) for k, v in s.slots.items()})
        if entry.action:
            s.actions.append(Action(entry.action, canonical(
                {k: v for k, v in s.slots.items() if k in entry.slots})))
        s.request = s.awaiting = None
        text = _join(opening, said)
        if entry.handoff:
            return self._hand_off(s, f"{entry.intent} needs a person", opening=text)
        if entry.end_call:
            return Reply(text, end_call=True)
        return Reply(_join(text, self._prompts(s).anything_else))

    def _failed(self, s: DialogueState, retry: str) -> Reply:
        s.failures += 1
        if s.failures >= FAILURES_BEFORE_HANDOFF:
            return self._hand_off(s, f"not understood {s.failures} times in a row")
        return Reply(retry, retry=True)

    def _hand_off(self, s: DialogueState, reason: str, opening: str = "") -> Reply:
        s.request = s.awaiting = None
        return Reply(_join(opening, self._prompts(s).transfer), end_call=True, handoff=reason)

    # --- helpers --------------------------------------------------------------------------
    def _prompts(self, s: DialogueState) -> Prompts:
        return self.kb.prompts(s.language)

    def _entry(self, s: DialogueState) -> Entry:
        entry = self.kb.entry(s.request or "", s.language)
        if entry is None:  # the language changed to one whose KB lacks the intent
            raise LookupError(f"no knowledge-base entry {s.request!r} in {s.language}")
        return entry

    def _pending_question(self, s: DialogueState) -> str:
        if s.awaiting == _CONFIRMATION:
            return self._prompts(s).confirm_again
        return self.kb.slot_question(s.awaiting or "", s.language)

    @staticmethod
    def _moved_on(m: Meaning, s: DialogueState) -> bool:
        """A confident, different intent: the caller asks something else instead of answering."""
        return m.intent.name not in (OUT_OF_SCOPE, s.request) and not m.slots

    @staticmethod
    def _spoken(slots: dict[str, SlotValue], language: str) -> dict[str, str]:
        return {name: describe(name, value, language) for name, value in slots.items()}


def canonical(slots: dict[str, SlotValue]) -> dict[str, str]:
    """Slot values as records and people read them: "4521", "250 USD", "2026-11-20"."""
    def text(value: SlotValue) -> str:
        if isinstance(value, Amount):
            return f"{value.value} {value.currency}"
        return value.isoformat() if isinstance(value, datetime.date) else value
    return {name: text(value) for name, value in slots.items()}


def _join(*parts: str) -> str:
    return " ".join(p for p in parts if p)
