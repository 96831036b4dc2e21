"""Reads a knowledge-base folder into snapshots, reporting every problem as `path:line: message`."""

from __future__ import annotations

import difflib
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import yaml
from yaml.constructor import SafeConstructor

from voicebot.knowledge import (
    DEFAULT_SLOTS,
    PROMPT_KEYS,
    Entry,
    KnowledgeBase,
    KnowledgeBaseError,
    Language,
    Prompts,
    fill,
    placeholders,
)

RELEASE_FILE = "release.yaml"
LANGUAGE_KEYS = ("language", "prompts", "slot_questions", "intents")
ENTRY_KEYS = ("answer", "slots", "confirm", "done", "action", "handoff", "end_call", "by_slot")
_TAG = "tag:yaml.org,2002:"
# Composing keeps each node's line; the C parser is much faster where PyYAML was built with it.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True)
class Release:
    stable: KnowledgeBase
    candidate: KnowledgeBase | None
    candidate_share: float  # share of new calls served the candidate


def load_release(root: Path, known_slots: Sequence[str] = DEFAULT_SLOTS) -> Release:
    """The versions release.yaml names, fully validated; KnowledgeBaseError lists all problems."""
    release, errors = _read_release(Path(root), tuple(known_slots))
    if release is None:
        raise KnowledgeBaseError(errors)
    return release


def check(root: Path, known_slots: Sequence[str] = DEFAULT_SLOTS) -> list[str]:
    """Every problem of a knowledge-base folder, without serving it; empty when it is fine."""
    try:
        load_release(root, known_slots)
    except KnowledgeBaseError as exc:
        return exc.errors
    return []


def _suggest(word: str, options: Collection[str]) -> str:
    match = difflib.get_close_matches(word, list(options), n=1, cutoff=0.6)
    return f" (did you mean {match[0]!r}?)" if match else ""


def _kind(node: yaml.Node | None) -> str:
    if isinstance(node, yaml.MappingNode):
        return "a mapping"
    if isinstance(node, yaml.SequenceNode):
        return "a list"
    names = {"str": "text", "int": "a number", "float": "a number", "bool": "true/false",
             "null": "nothing", "timestamp": "a date"}
    return names.get(node.tag.removeprefix(_TAG), node.tag) if node is not None else "nothing"


class _Item(NamedTuple):
    key: yaml.Node
    value: yaml.Node


class _File:
    """One YAML file's nodes, with checks that record `path:line: message` and carry on."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.problems: list[tuple[int, str]] = []  # (line, message)
        self._constructor = SafeConstructor()

    def error(self, node: yaml.Node | None, message: str) -> None:
        self.problems.append((node.start_mark.line + 1 if node is not None else 1, message))

    def messages(self) -> list[str]:
        return [f"{self.path}:{line}: {message}"
                for line, message in sorted(self.problems, key=lambda p: p[0])]

    def compose(self) -> yaml.Node | None:
        try:
            text = self.path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            self.error(None, f"cannot read: {exc}")
            return None
        try:
            node = yaml.compose(text, Loader=_LOADER)
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            line = mark.line + 1 if mark is not None else 1
            context = f"{exc.context}, " if exc.context else ""
            self.problems.append((line, f"YAML syntax error: {context}{exc.problem}"))
            return None
        if node is None:
            self.error(None, "the file is empty")
        return node

    def mapping(self, node: yaml.Node | None, what: str, allowed: Collection[str] | None,
                required: Sequence[str] = (), noun: str = "key",
                at: yaml.Node | None = None) -> dict[str, _Item]:
        """The mapping's items by key; `allowed` None takes any key. `at`: where it is named."""
        prefix = f"{what}: " if what else ""
        if not isinstance(node, yaml.MappingNode):
            self.error(node or at, f"{prefix}expected a mapping, got {_kind(node)}")
            return {}
        items: dict[str, _Item] = {}
        for key_node, value in node.value:
            if not (isinstance(key_node, yaml.ScalarNode) and key_node.tag == _TAG + "str"):
                self.error(key_node, f"{prefix}expected a name as key, got {_kind(key_node)}")
            elif key_node.value in items:
                first = items[key_node.value].key.start_mark.line + 1
                self.error(key_node, f"{prefix}duplicate key {key_node.value!r} "
                                     f"(first at line {first})")
            elif allowed is not None and key_node.value not in allowed:
                self.error(key_node, f"{prefix}unknown {noun} {key_node.value!r}"
                                     f"{_suggest(key_node.value, allowed)}")
            else:
                items[key_node.value] = _Item(key_node, value)
        for key in required:
            if key not in items:
                self.error(at or node, f"{prefix}missing required key {key!r}")
        return items

    def _scalar(self, node: yaml.Node, tags: Collection[str], what: str, expected: str) -> object:
        if isinstance(node, yaml.ScalarNode) and node.tag.removeprefix(_TAG) in tags:
            return self._constructor.construct_object(node)
        self.error(node, f"{what}: expected {expected}, got {_kind(node)}")
        return None

    def text(self, node: yaml.Node, what: str) -> str | None:
        value = self._scalar(node, ("str",), what, "text")
        if isinstance(value, str) and not value.strip():
            self.error(node, f"{what}: the text is empty")
            return None
        return value if isinstance(value, str) else None

    def flag(self, node: yaml.Node, what: str) -> bool:
        return self._scalar(node, ("bool",), what, "true or false") is True

    def share(self, node: yaml.Node, what: str) -> float:
        value = self._scalar(node, ("int", "float"), what, "a number from 0 to 1")
        if not isinstance(value, int | float):
            return 0.0
        if not 0.0 <= value <= 1.0:
            self.error(node, f"{what}: must be between 0 and 1, got {value}")
            return 0.0
        return float(value)

    def template(self, node: yaml.Node, what: str, slots: Collection[str]) -> str | None:
        """A text whose `{placeholders}` may only name `slots`."""
        text = self.text(node, what)
        if text is None:
            return None
        try:
            names = placeholders(text)
        except ValueError as exc:
            self.error(node, f"{what}: malformed placeholder ({exc}); write {{{{ for a brace")
            return None
        before = len(self.problems)
        for name in names:
            if not name.isidentifier():
                self.error(node, f"{what}: placeholder {{{name}}} must be a plain slot name")
            elif not slots:
                self.error(node, f"{what}: placeholder {{{name}}} is not allowed here: "
                                 "only intents that collect slots can name them")
            elif name not in slots:
                self.error(node, f"{what}: placeholder {{{name}}} names a slot the intent does "
                                 f"not collect{_suggest(name, slots)}")
        return text if len(self.problems) == before else None


def _read_release(root: Path, known_slots: tuple[str, ...]) -> tuple[Release | None, list[str]]:
    file = _File(root / RELEASE_FILE)
    node = file.compose()
    items = file.mapping(node, "", ("stable", "candidate", "candidate_share"), ("stable",)) \
        if node is not None else {}
    names: dict[str, tuple[str, yaml.Node]] = {}  # role: (version, where release.yaml names it)
    for role in ("stable", "candidate"):
        if role in items:
            name = file.text(items[role].value, role)
            if name is not None and _version_folder_ok(file, root, name, items[role].value, role):
                names[role] = (name, items[role].value)
    share = file.share(items["candidate_share"].value, "candidate_share") \
        if "candidate_share" in items else 0.0
    version_errors: list[str] = []
    versions = {name: _read_version(root / name, known_slots, version_errors, file, at)
                for name, at in dict(names.values()).items()}
    stable = versions.get(names["stable"][0]) if "stable" in names else None
    candidate = versions.get(names["candidate"][0]) if "candidate" in names else None
    if stable is not None and candidate is not None:
        for language in stable.languages:
            if language not in candidate.languages:
                file.error(names["candidate"][1],
                           f"candidate: version {candidate.version!r} has no {language}.yaml, "
                           f"which stable version {stable.version!r} has")
    errors = [*file.messages(), *version_errors]
    if stable is None or errors:
        return None, errors
    return Release(stable, candidate, share), []


def _version_folder_ok(file: _File, root: Path, name: str, node: yaml.Node, role: str) -> bool:
    if Path(name).name != name or name in (".", ".."):
        file.error(node, f"{role}: {name!r} must be the name of a folder next to {RELEASE_FILE}")
        return False
    if not (root / name).is_dir():
        file.error(node, f"{role}: there is no version folder {name!r} in {root}")
        return False
    return True


def _read_version(folder: Path, known_slots: tuple[str, ...], errors: list[str],
                  release: _File, at: yaml.Node) -> KnowledgeBase | None:
    paths = sorted(folder.glob("*.yaml"))
    if not paths:
        release.error(at, f"version folder {folder.name!r} has no language files (e.g. en.yaml)")
        return None
    languages: dict[str, Language] = {}
    for path in paths:
        file = _File(path)
        language = _read_language(file, known_slots)
        errors.extend(file.messages())
        if language is not None:
            languages[path.stem] = language
    return KnowledgeBase(folder.name, languages) if len(languages) == len(paths) else None


def _read_language(file: _File, known_slots: tuple[str, ...]) -> Language | None:
    node = file.compose()
    if node is None:
        return None
    items = file.mapping(node, "", LANGUAGE_KEYS, LANGUAGE_KEYS)
    if "language" in items:
        code = file.text(items["language"].value, "language")
        if code is not None and code != file.path.stem:
            file.error(items["language"].value, f"language: {code!r} does not match the file "
                                                f"name {file.path.name} (write {file.path.stem})")
    prompts = _read_texts(file, items.get("prompts"), "prompts", PROMPT_KEYS, PROMPT_KEYS)
    questions = _read_texts(file, items.get("slot_questions"), "slot_questions", known_slots,
                            (), noun="slot")
    entries: dict[str, Entry] = {}
    if "intents" in items:
        intents = file.mapping(items["intents"].value, "intents", None, at=items["intents"].key)
        for intent, item in intents.items():
            entry = _read_entry(file, intent, item, known_slots, questions)
            if entry is not None:
                entries[intent] = entry
    if file.problems:
        return None
    return Language(Prompts(**prompts), questions, entries)


def _read_texts(file: _File, item: _Item | None, what: str, allowed: Collection[str],
                required: Sequence[str], noun: str = "key") -> dict[str, str]:
    """A mapping of plain texts (prompts, slot questions): no placeholders."""
    if item is None:
        return {}
    texts = {key: file.template(value, f"{what}.{key}", ())
             for key, (_, value) in file.mapping(item.value, what, allowed, required, noun,
                                                 at=item.key).items()}
    # Stored as spoken: `{{` written for a brace becomes `{`.
    return {key: fill(text, {}) for key, text in texts.items() if text is not None}


def _read_entry(file: _File, intent: str, item: _Item, known_slots: tuple[str, ...],
                questions: Collection[str]) -> Entry | None:
    what = f"intent {intent!r}"
    fields = file.mapping(item.value, what, ENTRY_KEYS, ("answer",), at=item.key)
    slots = _read_slots(file, fields.get("slots"), what, known_slots, questions)
    by_slot, variant_nodes = _read_variants(file, fields.get("by_slot"), what, known_slots)
    collected = (*slots, by_slot) if by_slot else slots
    texts = {key: file.template(fields[key].value, f"{what} {key}", collected)
             for key in ("answer", "confirm", "done") if key in fields}
    if slots and "done" not in fields:
        file.error(item.key, f"{what}: 'done' is required when 'slots' are given "
                             "(said once they are collected)")
    if "confirm" in fields and not slots:
        file.error(fields["confirm"].key, f"{what}: 'confirm' needs 'slots' to confirm")
    action = file.text(fields["action"].value, f"{what} action") if "action" in fields else None
    handoff = "handoff" in fields and file.flag(fields["handoff"].value, f"{what} handoff")
    end_call = "end_call" in fields and file.flag(fields["end_call"].value, f"{what} end_call")
    if handoff and end_call:
        file.error(item.key, f"{what}: 'handoff' and 'end_call' exclude each other")
    variants = {value: file.template(node, f"{what} by_slot.{by_slot}.{value}", collected)
                for value, node in variant_nodes.items()}
    answer = texts.get("answer")
    if answer is None or None in variants.values():
        return None
    return Entry(intent, answer, slots, texts.get("confirm"), texts.get("done"), action,
                 handoff, end_call, by_slot,
                 tuple((value, text) for value, text in variants.items() if text is not None))


def _read_slots(file: _File, item: _Item | None, what: str, known_slots: tuple[str, ...],
                questions: Collection[str]) -> tuple[str, ...]:
    if item is None:
        return ()
    if not isinstance(item.value, yaml.SequenceNode):
        file.error(item.value, f"{what} slots: expected a list of slot names, "
                               f"got {_kind(item.value)}")
        return ()
    slots: list[str] = []
    for node in item.value.value:
        slot = file.text(node, f"{what} slots")
        if slot is None:
            continue
        if slot not in known_slots:
            file.error(node, f"{what} slots: unknown slot {slot!r}{_suggest(slot, known_slots)}")
        elif slot in slots:
            file.error(node, f"{what} slots: {slot!r} is listed twice")
        else:
            if slot not in questions:
                file.error(node, f"{what} slots: {slot!r} has no question under slot_questions")
            slots.append(slot)
    return tuple(slots)


def _read_variants(file: _File, item: _Item | None, what: str,
                   known_slots: tuple[str, ...]) -> tuple[str | None, dict[str, yaml.Node]]:
    """`by_slot: {slot: {value: answer, ...}}`: the slot and its answer nodes by value."""
    if item is None:
        return None, {}
    if isinstance(item.value, yaml.MappingNode) and len(item.value.value) != 1:
        file.error(item.key, f"{what} by_slot: name exactly one slot")
        return None, {}
    by_slot = file.mapping(item.value, f"{what} by_slot", known_slots, noun="slot", at=item.key)
    if not by_slot:
        return None, {}
    ((slot, (key, values)),) = by_slot.items()
    variants = file.mapping(values, f"{what} by_slot.{slot}", None, at=key)
    if not variants and isinstance(values, yaml.MappingNode):
        file.error(key, f"{what} by_slot.{slot}: give at least one value and its answer")
    return slot, {value: node for value, (_, node) in variants.items()}
