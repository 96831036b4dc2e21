"""Who hears whom for each supervisor mode: the pure routing table."""

from __future__ import annotations

import pytest

from telephony.bridge import BOT, CALLER, BridgeError, Mode, change_mode, handler_of, routes

NORMAL = {(CALLER, BOT), (BOT, CALLER)}


def hears(edges: frozenset[tuple[str, str]], node: str) -> set[str]:
    return {src for src, dst in edges if dst == node}


def test_without_supervisors_caller_and_bot_hear_each_other() -> None:
    assert routes({}) == NORMAL


def test_listen_hears_caller_and_bot_and_is_heard_by_nobody() -> None:
    assert routes({"ann": Mode.LISTEN}) == NORMAL | {(CALLER, "ann"), (BOT, "ann")}


def test_whisper_to_the_bot_puts_nothing_of_the_supervisor_on_the_bridge() -> None:
    # The voicebot transcribes the whisper from the supervisor's own leg port.
    assert routes({"ann": Mode.WHISPER}) == routes({"ann": Mode.LISTEN})


def test_barge_everyone_hears_the_supervisor_and_the_supervisor_hears_everyone() -> None:
    edges = routes({"ann": Mode.BARGE})
    assert edges == NORMAL | {(CALLER, "ann"), ("ann", CALLER), (BOT, "ann"), ("ann", BOT)}


def test_takeover_cuts_the_bot_from_the_caller_but_the_bot_keeps_listening() -> None:
    edges = routes({"ann": Mode.TAKEOVER})
    assert edges == {(CALLER, BOT), (CALLER, "ann"), ("ann", CALLER), (BOT, "ann")}
    assert hears(edges, CALLER) == {"ann"}
    assert hears(edges, BOT) == {CALLER}


def test_only_the_supervisor_who_took_over_hears_a_whisperer() -> None:
    edges = routes({"ann": Mode.TAKEOVER, "bob": Mode.WHISPER})
    assert hears(edges, "ann") == {CALLER, BOT, "bob"}
    assert hears(edges, "bob") == {CALLER, BOT, "ann"}
    assert hears(edges, CALLER) == {"ann"}
    assert hears(edges, BOT) == {CALLER}


def test_a_listener_hears_the_supervisor_who_took_over_but_is_not_heard() -> None:
    edges = routes({"ann": Mode.TAKEOVER, "bob": Mode.LISTEN})
    assert hears(edges, "bob") == {CALLER, BOT, "ann"}
    assert not {dst for src, dst in edges if src == "bob"}


def test_listeners_and_whisperers_do_not_hear_each_other() -> None:
    edges = routes({"ann": Mode.LISTEN, "bob": Mode.WHISPER})
    assert ("ann", "bob") not in edges and ("bob", "ann") not in edges


def test_a_barging_supervisor_hears_and_is_heard_by_the_other_supervisors() -> None:
    edges = routes({"ann": Mode.BARGE, "bob": Mode.LISTEN, "cy": Mode.TAKEOVER})
    assert {("ann", "bob"), ("bob", "ann"), ("ann", "cy"), ("cy", "ann")} <= edges
    assert hears(edges, CALLER) == {"ann", "cy"}
    assert hears(edges, "bob") == {CALLER, BOT, "ann", "cy"}


def test_a_second_takeover_is_refused_with_a_clear_error() -> None:
    modes = change_mode({}, "ann", Mode.TAKEOVER)
    assert handler_of(modes) == "ann"
    with pytest.raises(BridgeError, match="bob cannot take over: ann has already taken over"):
        change_mode(modes, "bob", Mode.TAKEOVER)
    assert change_mode(modes, "ann", Mode.TAKEOVER) == modes  # asking again is no change
    with pytest.raises(BridgeError, match="only one supervisor"):
        routes({"ann": Mode.TAKEOVER, "bob": Mode.TAKEOVER})


def test_after_the_handler_leaves_another_may_take_over_and_the_bot_is_heard_again() -> None:
    modes = change_mode({"ann": Mode.TAKEOVER}, "bob", Mode.LISTEN)
    modes = change_mode(modes, "ann", None)
    assert modes == {"bob": Mode.LISTEN}
    assert (BOT, CALLER) in routes(modes)
    assert handler_of(change_mode(modes, "bob", Mode.TAKEOVER)) == "bob"


def test_leaving_restores_the_normal_routes_and_an_unknown_leaver_is_no_error() -> None:
    modes = change_mode({"ann": Mode.BARGE}, "ann", None)
    assert routes(modes) == NORMAL
    assert change_mode(modes, "nobody", None) == {}


@pytest.mark.parametrize("name", [CALLER, BOT])
def test_a_supervisor_cannot_be_named_like_a_call_party(name: str) -> None:
    with pytest.raises(BridgeError, match="call party"):
        change_mode({}, name, Mode.LISTEN)
