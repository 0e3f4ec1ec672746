"""What a pupil types is read for risk (issue 18): a table of sentences that must and must not
count, including misspellings, text-speak, spacing and negations; and the school's own list."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import ConfigError, load_school_policy
from policy.risk_phrases import DEFAULT_PHRASES, RiskPhrases, find_risk
from tests.support import ROOT

#: Sentences a child might type that show risk: each must be found.
RISKY: tuple[str, ...] = (
    # the sentence from the issue, and ways of not feeling safe
    "someone online keeps messaging me and i dont feel safe",
    "i dont feel safe",
    "I don't feel safe",
    "I DON’T FEEL SAFE",
    "i do not feel safe at home",
    "im not safe",
    "I'm not safe",
    "i am not   safe",
    "not safe!!!",
    "nt safe",
    "i am not feeling safe",
    "i feel unsafe",
    "i think im in danger",
    "im not sure if im safe",
    "not sure i am safe right now",
    # frightened
    "im scared",
    "I'm so scared",
    "im sooo scaaaared",
    "im scard",
    "i am skared of him",
    "im really frightened",
    "i am terrified",
    "im afraid to go home",
    # hurt and violence
    "he keeps hurting me",
    "my brother hurt me",
    "he hurts me when mum is out",
    "she hit me",
    "he hits me",
    "they beat me up after school",
    "some boys kicked me",
    "he has a knife",
    "he is abusing me",
    "i was abused",
    # suicide and self-harm
    "i want to kill myself",
    "i wanna kill my self",
    "i want to kill myslef",
    "i wanna kms",
    "kms",
    "i want to die",
    "i wanna die",
    "i wish i was dead",
    "i just want to end it all",
    "im thinking about suicide",
    "sucide",
    "suicde thoughts",
    "i feel suicidal",
    "im sucidal",
    "i self harm",
    "i selfharm",
    "i have been self harming",
    "i have been cutting myself",
    "i cut myself last night",
    "ive started cutting again",
    "i hurt myself on purpose",
    "i want to unalive myself",
    "i dont want to kill myself anymore but i did",
    # sexual images and contact
    "he wants nudes",
    "he asked for nudez",
    "someone asked me for noods",
    "he said send pics",
    "send me pics",
    "he keeps saying send me ur pix",
    "he wants pictures of me",
    "he asked for photos of me",
    "an older boy online has been asking her for photos",
    "he keeps asking me for pics",
    "they want me naked on camera",
    "he wanted me nakid",
    "he sent me a nude",
    "he touched me",
    "my uncle tuched me",
    "he touches me",
    "he was touching me",
    "dont touch me he said he would",
    "he showed me his private parts",
    "he is grooming me",
    "i think i was groomed",
    "they were sexting me",
    # meeting, secrets, threats
    "he wants to meet up",
    "a man online wants to meetup",
    "he said meet me at the park",
    "someone wants to meet in person",
    "he said keep it a secret",
    "its our secret he said",
    "he told me dont tell anyone",
    "he is blackmailing me",
    "hes blackmailing me",
    "someone is blakmailing me",
    "he blackmailed me",
    "they are threatening me",
    "he is threatning me",
    "she threatened me",
    "someone keeps stalking me",
    "this man keeps following me",
    "he wont leave me alone",
    "i want to run away from home",
    # spacing, punctuation, capitals
    "S C A R E D",
    "  i   am   SCARED  ",
    "i'm...scared",
    "N U D E S",
)

#: Sentences that must not count: safe, everyday, negated, and words that only look alike.
SAFE: tuple[str, ...] = (
    "I am safe now thanks",
    "im safe",
    "i am safe",
    "I'm safe, thank you",
    "i feel safe",
    "i feel safe at school",
    "i am safe now",
    "safe",
    "am i safe to use tiktok",
    "hi",
    "hello",
    "help",
    "my reports",
    "what can you do",
    "thank you",
    "ok",
    "how do i report something",
    "i lost my password",
    "can i change my picture",
    "i love my cat",
    "i am not scared anymore",
    "im not scared",
    "i was never scared",
    "he did not hurt me",
    "nobody hurt me",
    "no one hurt me",
    "it didnt hurt me",
    "the scarecrow in the film",
    "i read a book about a knight",
    "my mum will kill me if i am late",
    "i want to dye my hair",
    "the film was scary",
    "we were cutting paper in art",
    "we had a meeting",
    "i like to meet new friends at school",
    "can you help me with my homework",
    "i feel sad today",
    "someone was mean to me in a game",
    "my friend is upset",
    "i got a new phone",
    "the sacred text in RE",
    "i have a secret santa",
    "i want to show my photos of my dog",
    "my teacher said well done",
    "i am hurt that she did not invite me",
    "i danced in the school show",
    "i took a photo of the sunset",
    "it was a threat level game",
    "i touched the screen",
    "the nude colour crayon",
)


@pytest.mark.parametrize("sentence", RISKY)
def test_words_that_show_risk_are_found(sentence: str) -> None:
    assert find_risk(sentence), sentence


@pytest.mark.parametrize("sentence", SAFE)
def test_safe_and_everyday_words_are_not_taken_for_risk(sentence: str) -> None:
    assert find_risk(sentence) == (), sentence


def test_the_table_has_at_least_a_hundred_sentences_of_both_kinds() -> None:
    assert len(RISKY) + len(SAFE) >= 100
    assert len(RISKY) >= 60 and len(SAFE) >= 40


def test_i_am_safe_never_matches_not_safe() -> None:
    assert "not safe" not in find_risk("I am safe")
    assert find_risk("I am not safe") == ("not safe",)


def test_a_negation_does_not_hide_the_phrases_that_always_count() -> None:
    assert find_risk("i am not going to kill myself i promise") == ("kill myself",)
    assert find_risk("he never asked for nudes") == ("nudes",)


def test_a_school_adds_its_own_phrases_and_keeps_the_shipped_ones() -> None:
    school = RiskPhrases(add=("peng pics", "link up"))
    assert school.find("he wants to link up tonight") == ("link up",)
    assert school.find("he wants peng pix") == ("peng pics",)
    assert school.find("i am scared") == ("scared",)
    assert set(DEFAULT_PHRASES) <= set(school.phrases)


def test_a_schools_phrase_must_be_short_and_have_words(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="longer than six words"):
        RiskPhrases(add=("one two three four five six seven",))
    with pytest.raises(ValueError, match="has no words"):
        RiskPhrases(add=("!!!",))
    shipped = (ROOT / "config" / "school.toml").read_text(encoding="utf-8")
    path = tmp_path / "school.toml"
    path.write_text(shipped.replace("[risk_phrases]\nadd = []", '[risk_phrases]\nremove = ["x"]'))
    with pytest.raises(ConfigError) as caught:
        load_school_policy(path)
    assert any("risk_phrases.remove" in p and "unknown key" in p for p in caught.value.problems)


def test_the_shipped_school_file_has_the_section() -> None:
    school = load_school_policy(ROOT / "config" / "school.toml")
    assert school.risk_phrases.find("i dont feel safe") == ("not feel safe",)
