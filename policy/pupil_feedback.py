"""Feedback to the pupil who reported: what the DSL may say to them, and how it must read.

Rules (004 §2 "those involved will be provided with feedback"; 004 flowchart "Do not ask
leading questions"; 000 §12, 001 §9.1 and 003: never ask for or accept images):

- Only a report a pupil made themselves (``Source.PUPIL``) has a pupil to write back to; a
  staff report never does.
- Only the DSL and deputy DSLs write to a pupil (``may_message_pupil``), checked on the server
  against who clicked, every time.
- A message is short (``MESSAGE_LIMIT`` characters) and easy to read: every sentence at or
  below the reading level of the pupil's own cards (``too_hard``). Those cards are held to a
  Flesch–Kincaid grade of 4.0 (UK Year 5) by ``tests/unit/test_pupil_readability.py``, which
  uses ``textstat``, a test-only package whose syllables come from a hyphenation dictionary
  (it counts "again" or "menu" as one syllable). The policy layer imports nothing outside the
  standard library, so the same formula is computed here, per sentence, with a syllable count
  closer to speech, which reads the same sentence one to two grades higher. ``READING_BAR``
  (6.0 on this count) is the hardest sentence on the pupil's own cards, so a message to a pupil
  is never harder than the cards they already read; ``tests/unit/test_pupil_feedback.py``
  pins both (every pupil-card sentence passes; a jargon sentence fails). A message that is too
  hard is not sent: the DSL is told which sentence to make simpler.
- Nothing sent to a pupil mentions pictures, photos, screenshots or videos: the bot never asks
  a pupil for images, and a message that could read as asking is refused before it is sent.
- One open follow-up question at a time (``open_question``): a new question is refused while
  the pupil has not answered the last one. Questions are held to the same reading bar.
- The pupil's answer has the pupil report's own limit and checks (length, cleaned text, no
  pictures: the card asks for words only and says so).
- What a pupil sees of their reports: only its state, in child-friendly words
  (``pupil_state_words``), never what anyone did.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import ClassVar

from policy.concerns import Concern, ConcernStatus, Event, Source
from policy.roles import SAFEGUARDING_LEADS, Person

#: Hardest Flesch–Kincaid grade (on this module's syllable count) of any sentence a pupil may be
#: sent: the level of the hardest sentence on the pupil's own cards (see the module docstring).
READING_BAR = 6.0
#: Longest message to a pupil, in characters (short: it is read on a phone, by a child).
MESSAGE_LIMIT = 300
#: Longest follow-up question, in characters.
QUESTION_LIMIT = 200
#: Longest answer from a pupil: the same as their words on the worry card.
ANSWER_LIMIT = 2000
#: Longest adult's name typed into a template.
ADULT_LIMIT = 60
#: Where a template puts the adult's name.
ADULT = "{adult}"

#: The templates a school gets unless its file lists its own (each must pass the reading check).
DEFAULT_TEMPLATES: tuple[str, ...] = (
    "Thank you for telling us. {adult} will come and find you today.",
    "Thank you for telling us. {adult} will come and talk to you soon.",
    "Thank you for telling us. You did the right thing. {adult} will look after it.",
    "Thank you for telling us. {adult} has sorted it out. You can talk to us at any time.",
)

#: Chronology kinds: a message to the pupil, a question to them, and their answer.
TO_PUPIL = "to_pupil"
QUESTION = "question_to_pupil"
ANSWER = "pupil_answer"
DELIVERED = "delivered_to_pupil"

#: A pupil's report, as they read it in "My reports": its state and nothing else.
PUPIL_STATE_WORDS: dict[ConcernStatus, str] = {
    ConcernStatus.NEW: "We've got it",
    ConcernStatus.ACKNOWLEDGED: "Someone is looking after it",
    ConcernStatus.CLOSED: "Finished",
}


@dataclass(frozen=True, slots=True)
class PupilFeedback:
    """The school's feedback settings (``[pupil_feedback]`` in the school file).

    ``templates`` replace the shipped ones; each must pass the reading check with a short name
    in place of ``{adult}`` (``policy.school_checks`` refuses a file whose template does not).
    """

    #: A typo in the school file (``template = …``) is refused, never silently ignored.
    __pydantic_config__: ClassVar[dict[str, str]] = {"extra": "forbid"}

    templates: tuple[str, ...] = field(default=DEFAULT_TEMPLATES)


def pupil_state_words(status: ConcernStatus) -> str:
    """A report's state as the pupil who made it reads it in "My reports"."""
    return PUPIL_STATE_WORDS.get(status, PUPIL_STATE_WORDS[ConcernStatus.ACKNOWLEDGED])


def may_message_pupil(person: Person, concern: Concern) -> bool:
    """Whether ``person`` may write to the pupil who made ``concern``: a pupil's own report,
    and the DSL or a deputy DSL (never a pupil, whatever else they hold)."""
    return (
        concern.source is Source.PUPIL
        and not person.is_pupil
        and bool(person.roles & SAFEGUARDING_LEADS)
    )


# ----- reading level ----------------------------------------------------------------------------

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
_WORD = re.compile(r"[A-Za-z]+(?:['’][A-Za-z]+)*")
_VOWELS = re.compile(r"[aeiouy]+")
#: Words that would ask a pupil for images (never asked for: the images rule).
_IMAGES = re.compile(
    r"\b(photo|picture|pic|image|screen ?shot|screen ?grab|video|selfie|nude|camera)s?\b",
    re.IGNORECASE,
)
_SILENT_END = re.compile(r"(?:[^laeiouy]es|[^aeiouytd]ed|[^laeiouy]e)$")


def sentences(text: str) -> list[str]:
    """Sentences: split after . ! or ? followed by a space (as the pupil card test does)."""
    return [s.strip() for s in _SENTENCE_END.split(" ".join(text.split())) if s.strip()]


#: Silent letters inside everyday compound words ("someone", "lunchtime", "everything").
_COMPOUNDS = (("some", "sum"), ("one", "wun"), ("time", "tim"), ("every", "evry"), ("where", "wer"))


def syllables(word: str) -> int:
    """An estimate of a word's syllables (groups of vowels, less a silent final "e", "es" or
    "ed"): close to a dictionary's count for the short everyday words a pupil reads."""
    lowered = word.lower().replace("’", "'").split("'")[0]
    if len(lowered) <= 3:
        return 1
    for spelt, said in _COMPOUNDS:
        lowered = lowered.replace(spelt, said)
    lowered = _SILENT_END.sub(lambda m: m.group()[0], lowered)
    return max(len(_VOWELS.findall(lowered)), 1)


#: Sentences shorter than this ("Hello." "Well done!") are too short for the formula (one
#: two-syllable word scores grade 8): they are too hard only with a word of ``LONG_WORD``
#: syllables or more.
SHORT_SENTENCE = 4
LONG_WORD = 4


def reading_grade(sentence: str) -> float:
    """The Flesch–Kincaid grade of one sentence (a US school grade; 0 when it has no words,
    and for a short sentence of short words)."""
    words = _WORD.findall(sentence)
    if not words:
        return 0.0
    if len(words) < SHORT_SENTENCE:
        longest = max(syllables(w) for w in words)
        return 0.0 if longest < LONG_WORD else READING_BAR + longest
    total = sum(syllables(w) for w in words)
    return 0.39 * len(words) + 11.8 * total / len(words) - 15.59


def too_hard(text: str) -> str | None:
    """The first sentence of ``text`` above the Year 5 bar, or None when every one is easy."""
    return next((s for s in sentences(text) if reading_grade(s) > READING_BAR), None)


def says_today(template: str) -> bool:
    """Whether a message promises something "today" (then it is only offered, and only sent,
    during the school day: at 9 pm "will come and find you today" is not true)."""
    return re.search(r"\btoday\b", template, re.IGNORECASE) is not None


def fill(template: str, adult: str) -> str:
    """A template with the adult's name in it."""
    return template.replace(ADULT, " ".join(adult.split()))


def template_problem(template: str) -> str | None:
    """Why a school's template cannot be used (None when it can): it must fit, and read easily
    with a short name in place of ``{adult}``."""
    filled = fill(template, "Sam")
    if not filled.strip():
        return "is empty"
    if len(fill(template, "x" * ADULT_LIMIT)) > MESSAGE_LIMIT:
        return f"is longer than {MESSAGE_LIMIT} characters"
    if _IMAGES.search(template):
        return "mentions pictures, photos, screenshots or videos: never ask a pupil for images"
    hard = too_hard(filled)
    if hard is not None:
        return f"is too hard to read for a young pupil ({hard!r}): use shorter words and sentences"
    return None


@dataclass(frozen=True, slots=True)
class Problem:
    """Why something cannot be sent: ``code`` for the audit log (a fixed phrase, never what was
    typed), ``words`` for the person who tried."""

    code: str
    words: str


def message_problem(text: str, *, limit: int = MESSAGE_LIMIT) -> Problem | None:
    """Why a message or question for a pupil cannot be sent (None: it can). Names are words
    like any other: a long name may need a shorter sentence round it."""
    if not text.strip():
        return Problem("empty", "Nothing was sent. Write the message first.")
    if len(text) > limit:
        return Problem(
            "too long", f"Nothing was sent. Keep it under {limit} characters: this is {len(text)}."
        )
    if _IMAGES.search(text):
        return Problem(
            "mentions images",
            "Nothing was sent. A message to a pupil must not mention pictures, photos, "
            "screenshots or videos: the bot never asks a pupil for images (000 §12, 001 §9.1), "
            "and its cards already tell them not to send any.",
        )
    hard = too_hard(text)
    if hard is not None:
        return Problem(
            "too hard to read",
            f"Nothing was sent. This may be too hard for a young pupil to read: “{hard}” "
            "Use shorter words and shorter sentences, or choose a ready-made message.",
        )
    return None


def first_name(person: Person) -> str:
    """The sender's first name, as a template's ``{adult}`` by default."""
    parts = person.name.split()
    return parts[0] if parts else "An adult"


# ----- questions ----------------------------------------------------------------------------------


def questions(concern: Concern) -> list[Event]:
    """The follow-up questions asked of the pupil, oldest first (numbered from 1)."""
    return [e for e in concern.chronology if e.kind == QUESTION]


def open_question(concern: Concern) -> int | None:
    """The number of the question the pupil has not answered yet, if any (one at a time)."""
    asked = answered = 0
    for event in concern.chronology:
        if event.kind == QUESTION:
            asked += 1
        elif event.kind == ANSWER:
            answered = asked
    return asked if asked > answered else None


def question_problem(concern: Concern, text: str) -> Problem | None:
    """Why a follow-up question cannot be asked now (None: it can)."""
    if open_question(concern) is not None:
        return Problem(
            "question already open",
            "Nothing was sent. The pupil has not answered your last question yet. "
            "Only one question can be open at a time.",
        )
    return message_problem(text, limit=QUESTION_LIMIT)


def closed_problem(concern: Concern) -> Problem | None:
    """A closed concern takes no more messages (as it takes no more notes)."""
    if concern.status is ConcernStatus.CLOSED:
        return Problem("concern closed", "Nothing was sent. This concern is closed.")
    return None


def answer_problem(text: str) -> str | None:
    """Why a pupil's answer cannot be taken, in kind words for the pupil (None: it can)."""
    if not text.strip():
        return "Please write your answer in the box."
    if len(text) > ANSWER_LIMIT:
        return f"Please write less than {ANSWER_LIMIT} letters."
    return None
