"""How the hotline answers INVITEs it cannot take, seen by SIPp as a real caller."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import LOOPBACK, HotlineProcess, Sipp, Speech


@pytest.mark.parametrize("transport", ["u1", "t1"])  # UDP, TCP
def test_unknown_extension_gets_404(hotline: HotlineProcess, sipp: Sipp, transport: str) -> None:
    code, out = sipp.run("uac_rejected.xml", hotline.port, service="nobody", code=404,
                         transport=transport)
    assert code == 0, out


@pytest.mark.parametrize("junk", [
    b"\x00\xff" * 200,
    b"INVITE sip:hotline@127.0.0.1 SIP/2.0\r\nVia: broken\r\nContent-Length: 99999\r\n\r\n",
    b"SIP/2.0 200 OK\r\n\r\n",
])
def test_malformed_sip_is_ignored_and_the_hotline_still_answers(
        hotline: HotlineProcess, sipp: Sipp, junk: bytes) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        udp.sendto(junk, (LOOPBACK, hotline.port))
    with socket.create_connection((LOOPBACK, hotline.port), timeout=5) as tcp:
        tcp.sendall(junk)
    code, out = sipp.run("uac_rejected.xml", hotline.port, service="nobody", code=404)
    assert code == 0, out
    assert hotline.proc.poll() is None


def test_offer_without_a_supported_codec_gets_488(hotline: HotlineProcess, sipp: Sipp) -> None:
    code, out = sipp.run("uac_rejected.xml", hotline.port, code=488, pt=9, codec="G722")
    assert code == 0, out


def hold_calls_and_expect(hotline: HotlineProcess, sipp: Sipp, speech: Speech, held: int,
                          code: int, expect: str = "SIP/2.0") -> None:
    since = len(hotline.lines)
    holding = sipp.start("uac_speak.xml", hotline.port, calls=held,
                         audio=speech.g711("I would like to know my balance."), listen_ms=5000)
    try:
        hotline.wait_for_log("answered", count=held, since=since)
        result, out = sipp.run("uac_rejected.xml", hotline.port, code=code, expect=expect)
        assert result == 0, out
    finally:
        out, _ = holding.communicate(timeout=60)
    assert holding.returncode == 0, out  # every held call was answered and ended with BYE/200


def test_call_over_capacity_gets_503_and_running_calls_go_on(
        hotline: HotlineProcess, sipp: Sipp, speech: Speech) -> None:
    # The fixture takes 2; the caller is told when to try again instead of every call slowing.
    hold_calls_and_expect(hotline, sipp, speech, held=2, code=503, expect="Retry-After: *30")


def test_at_four_calls_pjsua_itself_answers_486(
        sipp: Sipp, speech: Speech, tmp_path: Path) -> None:
    # Measured (design notes, and again here): the pjsua2 wheel admits 4 calls whatever
    # maxCalls says, and answers the 5th INVITE itself with 486 Busy Here.
    hotline = HotlineProcess(tmp_path, "--max-calls", "4")
    try:
        hold_calls_and_expect(hotline, sipp, speech, held=4, code=486)
    finally:
        assert hotline.stop() == 0


def test_a_port_in_use_is_a_clear_error(hotline: HotlineProcess) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "voicebot.cli", "serve", "--port", str(hotline.port)],
        capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert "Address already in use" in result.stderr and "--port" in result.stderr
    assert hotline.proc.poll() is None  # the running hotline is untouched
