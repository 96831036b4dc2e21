"""How the hotline answers INVITEs it cannot take, seen by SIPp as a real caller."""

from __future__ import annotations

from conftest import HotlineProcess, Sipp, Speech


def test_unknown_extension_gets_404(hotline: HotlineProcess, sipp: Sipp) -> None:
    code, out = sipp.run("uac_rejected.xml", hotline.port, service="nobody", code=404,
                         pt=0, codec="PCMU")
    assert code == 0, out


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
