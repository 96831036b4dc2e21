"""The knowledge base a call is served from: frozen prompts, slot questions and intent entries.

Loaded and validated by `knowledge_loader`, served and hot-reloaded by `knowledge_store`.
"""

from __future__ import annotations

import dataclasses
import string
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

from voicebot.understanding.slots import SLOT_NAMES

SHIPPED_KB_DIR = Path(__file__).resolve().parent / "kb"
DEFAULT_SLOTS = SLOT_NAMES


class KnowledgeBaseError(ValueError):
    """The knowledge base is broken; `errors` holds every problem as `path:line: message`."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("\n".join(errors))
        self.errors = errors


@dataclass(frozen=True)
class Prompts:
    greeting: str
    reprompt: str  # after silence
    goodbye_silence: str
    not_understood: str  # low confidence: ask to rephrase, offer a person
    technical_problem: str
    goodbye_failure: str
    transfer: str  # said when the call is handed to a human
    confirm_again: str  # the answer to a confirmation was neither yes nor no
    cancelled: str  # the caller said no to the confirmation and gave no correction
    anything_else: str  # after finishing a request
    filler: str  # said when an answer is slow to come, so the line is never silent for long


PROMPT_KEYS = tuple(f.name for f in dataclasses.fields(Prompts))


def placeholders(template: str) -> list[str]:
    """The `{fields}` of a template as written (`amount`, `amount:>9`); ValueError on bad braces."""
    return [name + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "")
            for _, name, spec, conversion in string.Formatter().parse(template)
            if name is not None]


def fill(template: str, spoken: Mapping[str, str]) -> str:
    """The template with each `{slot}` replaced by the slot value as it is to be spoken.

    KeyError names the first slot the template needs and `spoken` lacks.
    """
    return template.format_map(spoken)


@dataclass(frozen=True)
class Entry:
    """What the bot does for one intent: `answer`, then collect `slots`, `confirm`, `done`."""

    intent: str
    answer: str
    slots: tuple[str, ...] = ()
    confirm: str | None = None
    done: str | None = None
    action: str | None = None  # a request recorded for the back office
    handoff: bool = False  # hand the call to a person after `done` (or `answer` without slots)
    end_call: bool = False
    by_slot: str | None = None  # the slot whose value picks an answer variant
    variants: tuple[tuple[str, str], ...] = ()  # (slot value, answer), replacing `answer`

    def answer_for(self, slot_values: Mapping[str, str]) -> str:
        """The variant for the `by_slot` value when the caller already gave it, else `answer`.

        `slot_values` are the values as understood (the keys under `by_slot`), not as spoken.
        """
        if self.by_slot is not None:
            value = slot_values.get(self.by_slot)
            for key, text in self.variants:
                if key == value:
                    return text
        return self.answer

    def templates(self) -> list[str]:
        """Every text of this entry, placeholders unfilled."""
        optional = [t for t in (self.confirm, self.done) if t is not None]
        return [self.answer, *optional, *(text for _, text in self.variants)]


@dataclass(frozen=True)
class Language:
    prompts: Prompts
    slot_questions: Mapping[str, str]
    entries: Mapping[str, Entry]


@dataclass(frozen=True)
class KnowledgeBase:
    """One version of the knowledge base; immutable, so a call keeps it while the store reloads."""

    version: str
    by_language: Mapping[str, Language]

    def __post_init__(self) -> None:
        # Freeze the mappings too: a snapshot is shared by calls on the loop and reload threads.
        frozen = {code: dataclasses.replace(
            lang, slot_questions=MappingProxyType(dict(lang.slot_questions)),
            entries=MappingProxyType(dict(lang.entries)))
            for code, lang in self.by_language.items()}
        object.__setattr__(self, "by_language", MappingProxyType(frozen))

    @property
    def languages(self) -> tuple[str, ...]:
        return tuple(self.by_language)

    def _language(self, language: str) -> Language:
        try:
            return self.by_language[language]
        except KeyError:
            raise KeyError(f"knowledge base {self.version} has no language {language!r} "
                           f"(it has {', '.join(self.languages)})") from None

    def entry(self, intent: str, language: str) -> Entry | None:
        return self._language(language).entries.get(intent)

    def prompts(self, language: str) -> Prompts:
        return self._language(language).prompts

    def slot_question(self, slot: str, language: str) -> str:
        return self._language(language).slot_questions[slot]

    def texts(self, language: str) -> list[str]:
        """Every text said exactly as written (no placeholder), for synthesis ahead of calls."""
        lang = self._language(language)
        fixed = [fill(t, {}) for e in lang.entries.values() for t in e.templates()
                 if not placeholders(t)]
        texts = [*dataclasses.astuple(lang.prompts), *lang.slot_questions.values(), *fixed]
        return list(dict.fromkeys(texts))
