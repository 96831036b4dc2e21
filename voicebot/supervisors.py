"""The supervisor directory: who may supervise calls, where to dial them, their password hashes.

A hash is in Mosquitto 2.x's own "$7$" format (PBKDF2-HMAC-SHA512), so one hash both logs a
supervisor into the dashboard and into the broker.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import hmac
import json
import os
import re
import secrets
import tomllib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from voicebot.mqtt import check_topic_level

# OWASP's figure for PBKDF2-HMAC-SHA512 (2023); mosquitto_passwd writes 101. Mosquitto reads the
# count from each hash, so it honours this one (tests log into a real broker with it). The cost:
# about 0.15 s of one core per login, in the broker and in verify().
HASH_ITERATIONS = 210_000
_SALT_BYTES = 12  # as mosquitto_passwd 2.0 writes; mosquitto also accepts 64
_HASH_BYTES = 64  # one SHA-512 block: mosquitto rejects any other length
_SIP_URI = re.compile(r"sips?:\S+")
_FIELDS = ("sip_uri", "password_hash")


class SupervisorFileError(ValueError):
    """The supervisors file is missing or malformed; the message names the file and the fix."""


def hash_password(password: str, iterations: int = HASH_ITERATIONS) -> str:
    """`$7$<iterations>$<base64 salt>$<base64 hash>`, exactly as Mosquitto 2.x reads it."""
    if not password or "\0" in password:
        # Mosquitto compares C strings: a NUL would end the password early.
        raise ValueError("a password must not be empty or contain NUL characters")
    salt = secrets.token_bytes(_SALT_BYTES)
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, iterations)
    return f"$7${iterations}${_b64(salt)}${_b64(digest)}"


def check_password(password: str, password_hash: str) -> bool:
    iterations, salt, expected = _parse_hash(password_hash)
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, iterations)
    return hmac.compare_digest(digest, expected)


def check_password_hash(password_hash: str, owner: str) -> None:
    try:
        _parse_hash(password_hash)
    except ValueError as exc:
        raise ValueError(f"the password hash of {owner} is not a mosquitto $7$ hash ({exc}): "
                         "make one with `voicebot supervisors add`") from exc


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()  # standard alphabet with padding, like OpenSSL's


def _parse_hash(text: str) -> tuple[int, bytes, bytes]:
    parts = text.split("$")
    if len(parts) != 5 or parts[:2] != ["", "7"]:
        raise ValueError("expected $7$<iterations>$<salt>$<hash>")
    if not parts[2].isdigit() or int(parts[2]) < 1:
        raise ValueError(f"iterations {parts[2]!r} is not a positive number")
    try:
        salt = base64.b64decode(parts[3], validate=True)
        digest = base64.b64decode(parts[4], validate=True)
    except binascii.Error as exc:
        raise ValueError(f"bad base64: {exc}") from exc
    if len(salt) not in (_SALT_BYTES, _HASH_BYTES) or len(digest) != _HASH_BYTES:
        raise ValueError(f"salt of {len(salt)} and hash of {len(digest)} bytes; mosquitto wants "
                         f"a salt of {_SALT_BYTES} or {_HASH_BYTES} and a hash of {_HASH_BYTES}")
    return int(parts[2]), salt, digest


@functools.cache
def _decoy_hash() -> str:
    return hash_password(secrets.token_hex(16))


@dataclass(frozen=True)
class Supervisor:
    name: str
    sip_uri: str
    password_hash: str

    def __post_init__(self) -> None:
        check_topic_level(self.name, "supervisor name")
        check_sip_uri(self.sip_uri, self.name)
        check_password_hash(self.password_hash, self.name)


def check_sip_uri(uri: str, owner: str) -> None:
    if not _SIP_URI.fullmatch(uri):
        raise ValueError(f"sip_uri {uri!r} of {owner} is not a SIP URI: write one such as "
                         "sip:alice@10.0.0.5:5060")


class SupervisorDirectory:
    """Supervisors by name, from a TOML file of `[supervisors.<name>]` tables."""

    def __init__(self, supervisors: Iterable[Supervisor] = ()) -> None:
        self._by_name = {s.name: s for s in supervisors}

    @classmethod
    def load(cls, path: Path) -> SupervisorDirectory:
        try:
            data = tomllib.loads(Path(path).read_text())
        except OSError as exc:
            raise SupervisorFileError(
                f"cannot read the supervisors file {path}: {exc.strerror}; create it with "
                f"`voicebot supervisors add NAME --sip-uri URI --file {path}`") from exc
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise SupervisorFileError(f"the supervisors file {path} is not valid TOML: {exc}; "
                                      "fix that line") from exc
        return cls(_supervisors_from(path, data))

    def get(self, name: str) -> Supervisor | None:
        return self._by_name.get(name)

    def verify(self, name: str, password: str) -> Supervisor | None:
        supervisor = self._by_name.get(name)
        # An unknown name costs as much as a known one, so timing does not reveal names.
        right = check_password(password, supervisor.password_hash if supervisor
                               else _decoy_hash())
        return supervisor if right and supervisor else None

    def names(self) -> list[str]:
        return sorted(self._by_name)

    def __iter__(self) -> Iterator[Supervisor]:
        return (self._by_name[name] for name in self.names())

    def add(self, supervisor: Supervisor) -> None:
        """Add a supervisor, or replace the one of the same name."""
        self._by_name[supervisor.name] = supervisor

    def save(self, path: Path) -> None:
        lines = ["# Supervisors of the hotline; written by `voicebot supervisors add`.",
                 "# password_hash is in mosquitto's $7$ format (PBKDF2-HMAC-SHA512)."]
        for s in self:
            # JSON strings without ASCII escaping are valid TOML basic strings.
            lines += ["", f"[supervisors.{json.dumps(s.name)}]",
                      f"sip_uri = {json.dumps(s.sip_uri, ensure_ascii=False)}",
                      f"password_hash = {json.dumps(s.password_hash)}"]
        path = Path(path)
        partial = path.with_name(f".{path.name}.partial")
        # Private (hashes) from the first byte, and replaced whole: never half written.
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write("\n".join(lines) + "\n")
        os.replace(partial, path)


def _supervisors_from(path: Path, data: dict[str, Any]) -> list[Supervisor]:
    unknown = sorted(set(data) - {"supervisors"})
    if unknown:
        raise SupervisorFileError(f"{path}: unknown top-level key(s) {', '.join(unknown)}: the "
                                  "file holds only [supervisors.<name>] tables")
    tables = data.get("supervisors", {})
    if not isinstance(tables, dict):
        raise SupervisorFileError(f"{path}: 'supervisors' must be tables, one "
                                  "[supervisors.<name>] per supervisor")
    supervisors = []
    for name, table in tables.items():
        where = f"{path}: [supervisors.{name}]"
        if not isinstance(table, dict):
            raise SupervisorFileError(f"{where} must be a table with {' and '.join(_FIELDS)}")
        missing = [f for f in _FIELDS if f not in table]
        extra = sorted(set(table) - set(_FIELDS))
        if missing or extra:
            raise SupervisorFileError(
                f"{where}: " + "; ".join([*(f"{f} is missing" for f in missing),
                                          *(f"unknown key {f}" for f in extra)])
                + f" (each supervisor has exactly {' and '.join(_FIELDS)})")
        for field in _FIELDS:
            if not isinstance(table[field], str):
                raise SupervisorFileError(f"{where}: {field} must be a quoted string")
        try:
            supervisors.append(Supervisor(name, table["sip_uri"], table["password_hash"]))
        except ValueError as exc:
            raise SupervisorFileError(f"{where}: {exc}") from exc
    return supervisors
