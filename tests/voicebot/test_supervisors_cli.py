"""`voicebot supervisors add|list`."""

from __future__ import annotations

import argparse
import io
from pathlib import Path

import pytest

from voicebot.supervisors import SupervisorDirectory
from voicebot.supervisors_cli import add_commands


def _run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="voicebot")
    add_commands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return int(args.run(args))


def test_add_then_list(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                       capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "supervisors.toml"
    monkeypatch.setattr("sys.stdin", io.StringIO("alice's secret\n"))
    assert _run(["supervisors", "add", "alice", "--sip-uri", "sip:alice@127.0.0.1:5070",
                 "--password-stdin", "--file", str(path)]) == 0
    monkeypatch.setattr("getpass.getpass", lambda prompt="": "bob's secret")
    assert _run(["supervisors", "add", "bob", "--sip-uri", "sip:bob@127.0.0.1:5072",
                 "--file", str(path)]) == 0
    directory = SupervisorDirectory.load(path)
    assert directory.verify("alice", "alice's secret") is not None
    assert directory.verify("bob", "bob's secret") is not None
    capsys.readouterr()
    assert _run(["supervisors", "list", "--file", str(path)]) == 0
    listed = capsys.readouterr().out.splitlines()
    assert [line.split() for line in listed] == [["alice", "sip:alice@127.0.0.1:5070"],
                                                 ["bob", "sip:bob@127.0.0.1:5072"]]


def test_add_refuses_bad_input_before_asking(tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    def no_prompt(prompt: str = "") -> str:
        raise AssertionError("asked for a password")

    monkeypatch.setattr("getpass.getpass", no_prompt)
    path = tmp_path / "supervisors.toml"
    with pytest.raises(ValueError, match="not usable"):
        _run(["supervisors", "add", "Alice/1", "--sip-uri", "sip:a@h", "--file", str(path)])
    with pytest.raises(ValueError, match="not a SIP URI"):
        _run(["supervisors", "add", "alice", "--sip-uri", "a@h", "--file", str(path)])
    assert not path.exists()


def test_add_refuses_differing_or_empty_passwords(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    answers = iter(["one", "two"])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))
    path = tmp_path / "supervisors.toml"
    with pytest.raises(ValueError, match="differ"):
        _run(["supervisors", "add", "alice", "--sip-uri", "sip:a@h", "--file", str(path)])
    monkeypatch.setattr("sys.stdin", io.StringIO("\n"))
    with pytest.raises(ValueError, match="empty"):
        _run(["supervisors", "add", "alice", "--sip-uri", "sip:a@h", "--password-stdin",
              "--file", str(path)])
    assert not path.exists()
