"""Does something a person typed show risk to a child? (issue 18: nothing typed is ignored)

A pure function over the words: ``find_risk(text, phrases)`` returns the phrases it found.
Text and phrases are normalised the same way before matching:

- case, accents, punctuation and spacing ("I'm  NOT   safe!!!" -> "i am not safe");
- letters typed again and again ("scaaaared", "killll") count once, on both sides;
- text-speak and contractions ("im", "dont", "u", "wanna", "kms") become the plain words;
- common misspellings of the words that matter ("sucide", "threatning", "nudez", "myslef")
  become the word, and long words (8 letters or more) also match one typo away.

Phrases are matched on whole words, so "I am safe" never matches "not safe" and "scared"
never matches inside "scarecrow". A phrase just after "not", "never", "no" or "nobody" (within
two words) does not count ("he did not hurt me", "I'm not scared"), unless it is one of the
phrases that always count however they are said (``ALWAYS``: suicide, self-harm, nude images).

The shipped list (``DEFAULT_PHRASES``) is the floor: a school adds its own phrases in the
``[risk_phrases]`` section of its configuration file and can never take one of these away.
When in doubt a phrase is on the list: a false alarm costs the DSL a minute, a miss can cost a
child far more.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import ClassVar

#: Suicide and self-harm phrases that count however they are said (shipped, and in ``ALWAYS``).
_SELF_HARM_ALWAYS: tuple[str, ...] = (
    "suicide",
    "suicidal",
    "self harm",
    "self harming",
    "hurt myself",
    "hurting myself",
    "harm myself",
    "cutting myself",
    "cut myself",
)
#: Asking for nude images: counts however it is said (shipped, and in ``ALWAYS``).
_IMAGES_ALWAYS: tuple[str, ...] = (
    "nudes",
    "a nude",
    "nude pics",
    "naked",
    "send pics",
    "send me pics",
    "send a pic",
    "send me a pic",
    "send me your pics",
    "send your pics",
)

#: Shipped phrases (the floor). Written naturally: they are normalised like the text.
DEFAULT_PHRASES: tuple[str, ...] = (
    # Not safe, frightened
    "not safe",
    "not feel safe",
    "not feeling safe",
    "unsafe",
    "in danger",
    "not sure if i am safe",
    "not sure i am safe",
    "scared",
    "frightened",
    "terrified",
    "afraid",
    # Hurt, violence
    "hurt me",
    "hurting me",
    "hurts me",
    "hit me",
    "hits me",
    "hitting me",
    "beat me",
    "beats me",
    "kicked me",
    "attacked me",
    "abuse",
    "abused",
    "abusing me",
    "has a knife",
    "has a gun",
    # Suicide and self-harm
    "kill myself",
    "want to die",
    "wish i was dead",
    "wish i were dead",
    "end it all",
    "end my life",
    "better off dead",
    *_SELF_HARM_ALWAYS,
    "been cutting",
    "started cutting",
    "overdose",
    # Sexual images, sexual contact
    *_IMAGES_ALWAYS,
    "pics of you",
    "pics of me",
    "asked for pics",
    "asking for pics",
    "asks for pics",
    "asked me for pics",
    "asking me for pics",
    "asked her for pics",
    "asking her for pics",
    "asked him for pics",
    "asking him for pics",
    "pics of my body",
    "sexting",
    "sextortion",
    "touched me",
    "touch me",
    "touching me",
    "touches me",
    "private parts",
    "raped",
    "rape",
    "sexual",
    "groomed",
    "grooming",
    # Contact, pressure, threats
    "meet up",
    "meet me",
    "wants to meet",
    "come to my house",
    "keep it a secret",
    "our secret",
    "do not tell anyone",
    "not tell anyone",
    "blackmail",
    "blackmailing",
    "threatening me",
    "threatening",
    "stalking me",
    "following me",
    "will not leave me alone",
    "keeps messaging me",
    "run away",
    "running away",
)

#: Phrases that count even after "not" or "never": how they are said does not make them safe.
ALWAYS: frozenset[str] = frozenset(
    {
        "kill myself",
        "want to die",
        *_SELF_HARM_ALWAYS,
        *_IMAGES_ALWAYS,
        "sextortion",
        "blackmail",
        "blackmailing",
        "keep it a secret",
        "our secret",
        "do not tell anyone",
        "not tell anyone",
        "not safe",
        "not feel safe",
        "not feeling safe",
        "not sure if i am safe",
        "not sure i am safe",
        "rape",
        "raped",
        "touched me",
        "touch me",
        "touching me",
        "touches me",
    }
)

#: Words that make a following phrase (within two words) not count, unless it is in ALWAYS.
NEGATIONS: frozenset[str] = frozenset({"not", "never", "no", "nobody", "noone", "nothing"})

#: One typed word -> the plain words it stands for (after lower-casing, without apostrophes).
#: Repeated letters are squeezed before this table is read, so keys are written squeezed too.
_WORDS: dict[str, str] = {
    # text-speak
    "u": "you",
    "ur": "your",
    "r": "are",
    "im": "i am",
    "ive": "i have",
    "id": "i would",
    "ill": "i will",
    "pls": "please",
    "plz": "please",
    "ppl": "people",
    "n": "and",
    "2": "to",
    "4": "for",
    "wanna": "want to",
    "wana": "want to",
    "gona": "going to",
    "gonna": "going to",
    "bc": "because",
    "cuz": "because",
    "coz": "because",
    "cos": "because",
    "kms": "kill myself",
    "kys": "kill yourself",
    "unalive": "kill",
    "unalived": "kill",
    "hlp": "help",
    "halp": "help",
    "m8": "mate",
    "sum1": "someone",
    "some1": "someone",
    "no1": "no one",
    "noone": "no one",
    "nobody": "no one",
    "msg": "message",
    "msgs": "messages",
    "msging": "messaging",
    "messagin": "messaging",
    "mesaging": "messaging",
    "texting": "messaging",
    "dm": "message",
    "dms": "messages",
    "dming": "messaging",
    # contractions (apostrophes are dropped first)
    "dont": "do not",
    "doesnt": "does not",
    "didnt": "did not",
    "isnt": "is not",
    "wasnt": "was not",
    "arent": "are not",
    "aint": "am not",
    "cant": "can not",
    "cannot": "can not",
    "wont": "will not",
    "wouldnt": "would not",
    "havent": "have not",
    "hasnt": "has not",
    "shouldnt": "should not",
    "dunno": "do not know",
    "nt": "not",
    "nat": "not",
    # misspellings and forms of the words that matter
    "saf": "safe",
    "safee": "safe",
    "sayf": "safe",
    "unsaf": "unsafe",
    "scard": "scared",
    "skared": "scared",
    "scarred": "scared",
    "scaried": "scared",
    "frightend": "frightened",
    "fritened": "frightened",
    "afriad": "afraid",
    "afrade": "afraid",
    "hurted": "hurt",
    "hurtin": "hurting",
    "hurtting": "hurting",
    "sucide": "suicide",
    "suicde": "suicide",
    "suiside": "suicide",
    "suacide": "suicide",
    "sucidal": "suicidal",
    "suicdal": "suicidal",
    "selfharm": "self harm",
    "selfharming": "self harming",
    "myslef": "myself",
    "meself": "myself",
    "mysef": "myself",
    "mysel": "myself",
    "cuting": "cutting",
    "cutin": "cutting",
    "nudez": "nudes",
    "nudies": "nudes",
    "nods": "nudes",
    "noodz": "nudes",
    "nodz": "nudes",
    "noods": "nudes",
    "nakid": "naked",
    "nakd": "naked",
    "nekkid": "naked",
    "pic": "pics",
    "pix": "pics",
    "pictures": "pics",
    "picture": "pics",
    "photos": "pics",
    "photo": "pics",
    "fotos": "pics",
    "foto": "pics",
    "images": "pics",
    "image": "pics",
    "vids": "pics",
    "videos": "pics",
    "snaps": "pics",
    "tuched": "touched",
    "toched": "touched",
    "touchd": "touched",
    "tuchd": "touched",
    "tuching": "touching",
    "blakmail": "blackmail",
    "blackmale": "blackmail",
    "blackmailed": "blackmail",
    "blakmailing": "blackmailing",
    "threatning": "threatening",
    "threating": "threatening",
    "thretening": "threatening",
    "threatend": "threatening",
    "threatened": "threatening",
    "threatens": "threatening",
    "threaten": "threatening",
    "threats": "threatening",
    "meetup": "meet up",
    "met": "meet",
    "stalkin": "stalking",
    "folowing": "following",
    "followin": "following",
    "abuzed": "abused",
    "abusin": "abusing",
    "rapd": "raped",
    "sexted": "sexting",
    "secrit": "secret",
    "sekret": "secret",
    "danjer": "danger",
    "dead": "dead",
    "ded": "dead",
    "die": "die",
}

#: Several typed words -> the plain words (read after the table above).
_PHRASES: tuple[tuple[str, str], ...] = (
    ("my self", "myself"),
    ("self harmed", "self harm"),
    ("no one", "noone"),
    ("meet in person", "meet up"),
    ("meet irl", "meet up"),
    ("in real life", "irl"),
)

_NON_WORD = re.compile(r"[^a-z0-9]+")
_REPEATS = re.compile(r"(.)\1+")
#: Typos are forgiven only in long words: short ones are too close to ordinary words.
_FUZZY_MIN = 8


def _squeeze(word: str) -> str:
    return _REPEATS.sub(r"\1", word)


def _squeezed_table() -> dict[str, str]:
    return {_squeeze(k): v for k, v in _WORDS.items()}


_TABLE = _squeezed_table()
_NEGATIONS = frozenset(_squeeze(w) for w in NEGATIONS)


def _join_spelled_out(raw: list[str]) -> list[str]:
    """Letters typed one at a time ("S C A R E D") as one word; runs of three or more."""
    out: list[str] = []
    run: list[str] = []
    for word in [*raw, ""]:
        if len(word) == 1 and word.isalpha():
            run.append(word)
            continue
        out += ["".join(run)] if len(run) >= 3 else run
        run = []
        if word:
            out.append(word)
    return out


def normalise(text: str) -> list[str]:
    """The words of ``text`` in the plain form both text and phrases are matched in."""
    folded = unicodedata.normalize("NFKD", text.casefold())
    folded = "".join(c for c in folded if not unicodedata.combining(c))
    folded = re.sub(r"['’‘`´]", "", folded)  # don't -> dont, i'm -> im
    words: list[str] = []
    for raw in _join_spelled_out(_NON_WORD.sub(" ", folded).split()):
        word = _squeeze(raw)
        words += [_squeeze(w) for w in _TABLE.get(word, word).split()]
    joined = " " + " ".join(words) + " "
    for before, after in _PHRASE_SWAPS:
        joined = joined.replace(before, after)
    return joined.split()


#: ``_PHRASES`` as ``normalise`` matches them (squeezed, spaced), worked out once.
_PHRASE_SWAPS: tuple[tuple[str, str], ...] = tuple(
    (
        " " + " ".join(_squeeze(w) for w in before.split()) + " ",
        " " + " ".join(_squeeze(w) for w in after.split()) + " ",
    )
    for before, after in _PHRASES
)


@lru_cache(maxsize=2048)
def _phrase_words(phrase: str) -> tuple[str, ...]:
    """``normalise(phrase)``, kept: the same few hundred phrases are matched on every message."""
    return tuple(normalise(phrase))


def _one_typo(a: str, b: str) -> bool:
    """True when ``a`` and ``b`` differ by at most one letter added, dropped, changed or two
    neighbours swapped."""
    if a == b:
        return True
    if abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        diff = [i for i in range(len(a)) if a[i] != b[i]]
        if len(diff) == 1:
            return True
        return (
            len(diff) == 2
            and diff[1] == diff[0] + 1
            and a[diff[0]] == b[diff[1]]
            and a[diff[1]] == b[diff[0]]
        )
    short, long_ = (a, b) if len(a) < len(b) else (b, a)
    return any(short == long_[:i] + long_[i + 1 :] for i in range(len(long_)))


def _word_matches(typed: str, wanted: str) -> bool:
    if typed == wanted:
        return True
    return len(wanted) >= _FUZZY_MIN and len(typed) >= _FUZZY_MIN - 1 and _one_typo(typed, wanted)


def _found_at(words: Sequence[str], phrase: Sequence[str], at: int) -> bool:
    return all(_word_matches(words[at + i], w) for i, w in enumerate(phrase))


def find_risk(text: str, phrases: Iterable[str] = DEFAULT_PHRASES) -> tuple[str, ...]:
    """The phrases (as given) that ``text`` contains, in the order given; empty if none."""
    words = normalise(text)
    found: list[str] = []
    for phrase in phrases:
        wanted = _phrase_words(phrase)
        if not wanted:
            continue
        always = phrase in ALWAYS
        for at in range(len(words) - len(wanted) + 1):
            if not _found_at(words, wanted, at):
                continue
            if not always and _NEGATIONS & set(words[max(0, at - 2) : at]):
                continue  # "did not hurt me", "not scared"
            found.append(phrase)
            break
    return tuple(found)


@dataclass(frozen=True, slots=True)
class RiskPhrases:
    """The school's ``[risk_phrases]`` settings: phrases added to the shipped list.

    The shipped list always applies; a school can add phrases (words its pupils use) but not
    remove one.
    """

    __pydantic_config__: ClassVar[dict[str, str]] = {"extra": "forbid"}

    #: Extra words or short phrases (at most six words each) that show risk.
    add: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        problems = []
        for phrase in self.add:
            words = normalise(phrase)
            if not words:
                problems.append(f"risk_phrases.add: {phrase!r} has no words")
            elif len(words) > 6:
                problems.append(f"risk_phrases.add: {phrase!r} is longer than six words")
        if problems:
            raise ValueError("; ".join(problems))

    @property
    def phrases(self) -> tuple[str, ...]:
        """Every phrase that counts: the shipped ones, then the school's."""
        return DEFAULT_PHRASES + tuple(p for p in self.add if p not in DEFAULT_PHRASES)

    def find(self, text: str) -> tuple[str, ...]:
        """The phrases ``text`` contains (``find_risk`` over this school's list)."""
        return find_risk(text, self.phrases)
