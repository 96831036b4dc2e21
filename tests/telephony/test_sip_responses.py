"""How the hotline answers INVITEs it cannot take, seen by SIPp as a real caller."""

from __future__ import annotations

import socket

import pytest
from conftest import LOOPBACK, HotlineProcess, Sipp, Speech


@pytest.mark.parametrize("transport", ["u1", "t1"])  # UDP, TCP
def test_unknown_extension_gets_404(hotline: HotlineProcess, sipp: Sipp, transport: str) -> None:
    code, out = sipp.run("uac_rejected.xml", hotline.port, service="nobody", code=404,
                         pt=0, codec="PCMU", transport=transport)
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
    code, out = sipp.run("uac_rejected.xml", hotline.port, service="nobody", code=404,
                         pt=0, codec="PCMU")
    assert code == 0, out
    assert hotline.proc.poll() is None


def test_offer_without_a_supported_codec_gets_488(hotline: HotlineProcess, sipp: Sipp) -> None:
    code, out = sipp.run("uac_rejected.xml", hotline.port, code=488, pt=9, codec="G722")
    assert code == 0, out


def test_call_over_capacity_gets_503_and_running_calls_go_on(
        hotline: HotlineProcess, sipp: Sipp, speech: Speech) -> None:
    # The fixture's hotline takes 2 calls: hold two, then a third must be turned away.
    since = len(hotline.lines)
    held = sipp.start("uac_speak.xml", hotline.port, calls=2,
                      audio=speech.ulaw("I would like to know my balance."), listen_ms=5000)
    try:
        hotline.wait_for_log("answered", count=2, since=since)
        code, out = sipp.run("uac_rejected.xml", hotline.port, code=503, pt=0, codec="PCMU")
        assert code == 0, out
    finally:
        out, _ = held.communicate(timeout=60)
    assert held.returncode == 0, out  # both held calls were answered and ended with BYE/200
