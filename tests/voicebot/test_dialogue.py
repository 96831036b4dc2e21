"""The dialogue manager with the shipped intent model and knowledge base: slot filling,
confirmation and correction, escalation to a person, and plans that are never committed."""

from __future__ import annotations

import datetime

from voicebot.dialogue import Dialogue, Reply
from voicebot.knowledge import SHIPPED_KB_DIR
from voicebot.knowledge_store import KnowledgeStore
from voicebot.understanding.classifier import TrainedIntentClassifier

TODAY = datetime.date(2026, 11, 23)


def dialogue(model: TrainedIntentClassifier, languages: tuple[str, ...] = ("en",)) -> Dialogue:
    kb = KnowledgeStore(SHIPPED_KB_DIR).for_call("test")
    return Dialogue(kb, model, languages, today=lambda: TODAY)


def turn(d: Dialogue, text: str) -> Reply:
    plan = d.plan(text)
    d.commit(plan)
    return plan.reply


def test_card_loss_with_slot_filling_correction_and_confirmation(intent_model):
    d = dialogue(intent_model)
    kb = d.kb
    entry = kb.entry("card_lost", "en")
    assert entry is not None and entry.confirm and entry.done
    asked = turn(d, "Hi, I think I lost my credit card somewhere this morning")
    assert asked.text.endswith(kb.slot_question("card_last4", "en"))
    confirm = turn(d, "four five two one")
    assert "4 5 2 1" in confirm.text and d.state.awaiting == "confirmation"
    corrected = turn(d, "no, sorry, it ends in 4522")
    assert "4 5 2 2" in corrected.text and d.state.awaiting == "confirmation"
    done = turn(d, "yes please go ahead")
    assert "4 5 2 2" in done.text and not done.end_call and done.handoff is None
    assert [(a.name, a.slots) for a in d.state.actions] == [("block_card", {"card_last4": "4522"})]
    assert d.state.request is None


def test_slots_given_up_front_skip_their_question(intent_model):
    d = dialogue(intent_model)
    reply = turn(d, "my card ending in 4521 was stolen, please block it")
    assert "4 5 2 1" in reply.text and d.state.awaiting == "confirmation"


def test_a_no_without_correction_cancels_the_request(intent_model):
    d = dialogue(intent_model)
    turn(d, "I lost my debit card ending in 1234")
    reply = turn(d, "no, don't do that")
    assert reply.text.startswith(d.prompts.cancelled) and not d.state.actions


def test_asking_for_a_person_hands_off_with_a_package(intent_model):
    d = dialogue(intent_model)
    turn(d, "I lost my card ending in four five two one")
    reply = turn(d, "can I please speak to a real person")
    assert reply.handoff and reply.end_call and reply.text.endswith(d.prompts.transfer)
    package = d.handoff_package()
    assert package.reason == "the caller asked for a person"
    assert package.intents[:2] == ["card_lost", "human_agent"]
    assert package.slots == {"card_last4": "4521"}
    assert [t["speaker"] for t in package.transcript] == ["caller", "bot"] * 2
    assert len(package.emotions) == 2 and package.turns == 2


def test_two_failed_understandings_in_a_row_hand_off(intent_model):
    d = dialogue(intent_model)
    first = turn(d, "what's the best recipe for a chocolate cake")
    assert first.text == d.prompts.not_understood and first.handoff is None
    second = turn(d, "who won the football match last night")
    assert second.handoff == "not understood 2 times in a row"


def test_anger_over_two_turns_hands_off(intent_model):
    d = dialogue(intent_model)
    first = turn(d, "I'm furious, this is ridiculous, you charged me twice for the same thing")
    assert first.handoff is None and d.state.request == "dispute"
    reply = turn(d, "this is unacceptable, I'm sick of this useless bank, it was fifty dollars")
    assert reply.handoff == "the caller has been angry for two turns"
    assert [e["label"] for e in d.handoff_package().emotions][-2:] == ["angry", "angry"]


def test_a_plan_not_committed_leaves_the_call_untouched(intent_model):
    d = dialogue(intent_model)
    before = d.state
    plan = d.plan("I lost my card ending in 4521")
    assert plan.state.request == "card_lost"
    assert d.state is before and d.state.request is None and not d.state.transcript


def test_long_numbers_are_masked_in_the_transcript(intent_model):
    d = dialogue(intent_model)
    turn(d, "my card number is 4111 1111 1111 1234 and I lost it")
    said = d.handoff_package().transcript[0]["text"]
    assert "4111" not in said and "ending 1234" in said


def test_mandarin_is_understood_and_answered_in_the_voice_language(intent_model):
    english_only = dialogue(intent_model)
    reply = turn(english_only, "我的信用卡丢了，尾号四五二一")
    assert english_only.state.language == "en" and "4 5 2 1" in reply.text
    bilingual = dialogue(intent_model, ("en", "zh"))
    reply = turn(bilingual, "我的信用卡丢了，尾号四五二一")
    assert bilingual.state.language == "zh" and "4 5 2 1" in reply.text
    assert reply.text.startswith(bilingual.kb.entry("card_lost", "zh").answer)


def test_a_dispute_collects_amount_and_date(intent_model):
    d = dialogue(intent_model)
    turn(d, "there's a charge on my statement I don't recognise")
    turn(d, "two hundred and fifty dollars")
    reply = turn(d, "it was last friday")
    assert "250 dollars" in reply.text and "November 20" in reply.text
    turn(d, "yes")
    (action,) = d.state.actions
    assert action.name == "open_dispute"
    assert action.slots == {"amount": "250 USD", "date": "2026-11-20"}


def test_only_questions_and_answers_to_the_bot_end_a_turn_early(intent_model):
    d = dialogue(intent_model)
    assert not d.plan("I lost my credit card yesterday.").ends_turn  # more may follow
    assert d.plan("I lost my credit card yesterday. Can you block it?").ends_turn
    turn(d, "I lost my credit card yesterday. Can you block it?")
    assert d.plan("4521.").ends_turn  # the digits the bot asked for
    assert d.plan("4-5-2-1").ends_turn  # Whisper does not always punctuate digits
    assert not d.plan("It ends in 4521 and").ends_turn
    assert not d.plan("What's the weather like in Paris?").ends_turn  # not understood
    turn(d, "4521.")
    assert d.plan("Yes, please.").ends_turn
    assert d.plan("Thank you. Goodbye.").ends_turn
