"""The supervisor directory: mosquitto-compatible hashes, verification, loading and saving."""

from __future__ import annotations

import asyncio
import base64
import re
import stat
import subprocess
from pathlib import Path

import pytest
from conftest import free_port
from mqtt_testing import passwords, raw_client

from voicebot.broker import Broker, BrokerAccount
from voicebot.supervisors import (
    HASH_ITERATIONS,
    Supervisor,
    SupervisorDirectory,
    SupervisorFileError,
    check_password,
    hash_password,
)

HASH = re.compile(r"\$7\$(\d+)\$([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+)")


def test_hash_has_mosquittos_layout() -> None:
    found = HASH.fullmatch(hash_password("secret"))
    assert found is not None
    assert int(found[1]) == HASH_ITERATIONS > 101  # more than mosquitto_passwd's 101
    assert len(base64.b64decode(found[2])) == 12
    assert len(base64.b64decode(found[3])) == 64
    assert hash_password("secret") != hash_password("secret")  # salted


def test_hashes_of_mosquitto_passwd_verify(tmp_path: Path) -> None:
    path = tmp_path / "passwords"
    subprocess.run(["mosquitto_passwd", "-c", "-b", str(path), "carol", "pässword"], check=True)
    made = path.read_text().strip().split(":", 1)[1]
    assert check_password("pässword", made)
    assert not check_password("password", made)


def test_a_hash_with_many_iterations_logs_into_mosquitto(tmp_path: Path) -> None:
    carol = BrokerAccount("carol", hash_password("carol's secret"))
    assert carol.password_hash.startswith(f"$7${HASH_ITERATIONS}$")

    async def log_in(password: str) -> None:
        async with raw_client("carol", broker.port, password):
            pass

    with Broker(tmp_path, free_port(), "main", passwords()["voicebot"][0], [carol]) as broker:
        asyncio.run(log_in("carol's secret"))
        with pytest.raises(Exception, match="Not authorized"):
            asyncio.run(log_in("carol's secreT"))


def _alice(password: str = "right") -> Supervisor:
    return Supervisor("alice", "sip:alice@127.0.0.1:5070", hash_password(password))


def test_verify_right_wrong_and_unknown() -> None:
    directory = SupervisorDirectory([_alice()])
    assert directory.verify("alice", "right") == directory.get("alice")
    assert directory.verify("alice", "wrong") is None
    assert directory.verify("nobody", "right") is None
    assert directory.get("nobody") is None


def test_save_and_load_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "supervisors.toml"
    bob = Supervisor("bob.smith-2", "sips:bob@example.com", hash_password("b"))
    directory = SupervisorDirectory([bob, _alice()])
    directory.save(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    loaded = SupervisorDirectory.load(path)
    assert loaded.names() == ["alice", "bob.smith-2"]
    assert loaded.get("bob.smith-2") == bob
    assert loaded.verify("alice", "right") is not None
    loaded.add(_alice("new"))  # replaces
    loaded.save(path)
    assert SupervisorDirectory.load(path).verify("alice", "new") is not None


GOOD_HASH = hash_password("x", iterations=1)


@pytest.mark.parametrize(("text", "expected"), [
    ("[supervisors.alice\nsip_uri = 1", "not valid TOML.*line 1"),
    ('[supervisors."Alice!"]\nsip_uri = "sip:a@h"\npassword_hash = "@H"',
     r"supervisors.Alice!.*not usable: use 1 to 32"),
    ('[supervisors.alice]\nsip_uri = "sip:a@h"', "password_hash is missing"),
    ('[supervisors.alice]\nsip_uri = "sip:a@h"\npassword_hash = "@H"\nrole = "x"',
     "unknown key role"),
    ('[supervisors.alice]\nsip_uri = "alice@h"\npassword_hash = "@H"', "not a SIP URI"),
    ('[supervisors.alice]\nsip_uri = "sip:a@h"\npassword_hash = "secret"',
     "not a mosquitto \\$7\\$ hash.*voicebot supervisors add"),
    ('[supervisors.alice]\nsip_uri = 5\npassword_hash = "@H"', "sip_uri must be a quoted string"),
    ('supervisors = ["alice"]', "one \\[supervisors.<name>\\] per supervisor"),
    ('[supervisors]\nalice = "sip:a@h"', r"\[supervisors.alice\] must be a table"),
    ('[supervisor.alice]\nsip_uri = "sip:a@h"', "unknown top-level key.*supervisor"),
])
def test_malformed_files_say_where_and_what(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "supervisors.toml"
    path.write_text(text.replace("@H", GOOD_HASH))
    with pytest.raises(SupervisorFileError, match=expected) as error:
        SupervisorDirectory.load(path)
    assert str(path) in str(error.value)


def test_a_missing_file_says_how_to_make_one(tmp_path: Path) -> None:
    path = tmp_path / "none.toml"
    with pytest.raises(SupervisorFileError, match=f"create it with.*--file {path}"):
        SupervisorDirectory.load(path)
