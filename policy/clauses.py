"""The policy clauses the bot cites, in the school's own words.

The rules in ``policy/`` name the clause they come from as the seed policies number them
("000 §6": St John's policy, section 6). Those numbers mean nothing to a teacher and are wrong
for any other school, so every citation shown to a person goes through ``cite``: each seed
citation becomes the topic it is about, and the topic is shown as the school names it in its
file (``[clauses]``), or as a plain default ("Online Safety Policy: Video conferencing").
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

#: What each cited rule is about -> the words shown when a school's file does not name it.
DEFAULT_CLAUSE_NAMES: dict[str, str] = {
    "four_cs": "Online Safety Policy: the four areas of risk",
    "filtering": "Online Safety Policy: Filtering and monitoring",
    "governors": "Online Safety Policy: Roles and responsibilities",
    "remote_teaching": "Online Safety Policy: Remote teaching and learning",
    "images": "Online Safety Policy: Use of digital and video images",
    "communications": "Online Safety Policy: Communications",
    "video_conferencing": "Online Safety Policy: Video conferencing",
    "reporting": "Online Safety Policy: Responding to incidents",
    "imagery": "Online Safety Policy: Sharing nudes and semi-nudes",
    "records": "Online Safety Policy: Recording incidents",
}

#: A seed citation -> the topic it is about.
SEED_TOPICS: dict[str, str] = {
    "000 §4": "four_cs",
    "000 §4.1": "filtering",
    "000 §6": "remote_teaching",
    "000 §8": "images",
    "000 §10": "communications",
    "000 §12": "imagery",
    "000 §12.2": "reporting",
    "001 §1.3.2": "records",
    "001 §2.4": "video_conferencing",
    "001 §7.3": "filtering",
    "001 §8": "reporting",
    "001 §9": "reporting",
    "001 §9.1": "imagery",
    "002 §2.1": "governors",
    "002 §2.3": "governors",
    "002 §3": "filtering",
    "004 §2": "reporting",
    "004 §3": "filtering",
    '004 "Filtering"': "filtering",
}

# "000 §6", a following bare "§8" (same file), or a named section: 004 "Filtering".
# Cards escape Markdown, so a dot may come as "\.".
_CITATION = re.compile(r'(?:\b(\d{3}) )?§(\d+(?:\\?\.\d+)*)|\b(\d{3}) "([A-Z][^"]*)"')
# Several citations in a row ("000 §6, §8; 001 §2.4") become one list of distinct names.
_RUN = re.compile(r"\x00([^\x00]*)\x00(?:(?:, |; | and )\x00([^\x00]*)\x00)+")


def clause_name(seed: str, names: Mapping[str, str]) -> str:
    """The words for one seed citation (a school's name for its topic, else the default)."""
    topic = SEED_TOPICS.get(seed)
    if topic is None:
        topic = SEED_TOPICS.get(seed.rsplit(".", 1)[0], "")
    return names.get(topic) or DEFAULT_CLAUSE_NAMES.get(topic, "the school's Online Safety Policy")


def cite(text: str, names: Mapping[str, str]) -> str:
    """``text`` with every seed citation replaced by the school's own clause names."""
    if "§" not in text and '"' not in text:
        return text
    last_file = "000"

    def one(match: re.Match[str]) -> str:
        nonlocal last_file
        if match.group(3):
            last_file = match.group(3)
            return "\x00" + clause_name(f'{match.group(3)} "{match.group(4)}"', names) + "\x00"
        if match.group(1):
            last_file = match.group(1)
        number = match.group(2).replace("\\", "")
        return "\x00" + clause_name(f"{last_file} §{number}", names) + "\x00"

    marked = _CITATION.sub(one, text)

    def merge(match: re.Match[str]) -> str:
        found = re.findall(r"\x00([^\x00]*)\x00", match.group(0))
        return "; ".join(dict.fromkeys(found))

    return _RUN.sub(merge, marked).replace("\x00", "")


def reword(text: str, words: Mapping[str, str]) -> str:
    """``text`` with each built-in role title replaced by the school's own (``words``: built-in
    title -> the school's), longest first, so "Deputy Head (Academic)" is not half-replaced."""
    for built_in in sorted(words, key=len, reverse=True):
        if built_in in text and words[built_in] != built_in:
            text = text.replace(built_in, words[built_in])
    return text


def cite_all(
    value: object, names: Mapping[str, str], words: Mapping[str, str] | None = None
) -> object:
    """``cite`` (and ``reword``) applied to every string in a card (nested dicts and lists).

    One walk, with the cheap tests inlined: most of a card's strings hold no citation and
    none of the renamed titles, so they are kept as they are without a call each."""
    # The same replacements, in the same order, as ``reword``.
    renames = [
        (built_in, words[built_in])
        for built_in in sorted(words or {}, key=len, reverse=True)
        if words is not None and words[built_in] != built_in
    ]

    def text(value: str) -> str:
        if "§" in value or '"' in value:
            value = cite(value, names)
        for built_in, own in renames:
            if built_in in value:
                value = value.replace(built_in, own)
        return value

    def many(values: Iterable[object]) -> list[object]:
        out: list[object] = []
        for item in values:
            if isinstance(item, str):
                out.append(text(item) if renames or "§" in item or '"' in item else item)
            elif isinstance(item, Mapping | list):
                out.append(walk(item))
            else:
                out.append(item)
        return out

    def walk(value: object) -> object:
        if isinstance(value, str):
            return text(value)
        if isinstance(value, Mapping):
            return dict(zip(value, many(value.values()), strict=True))
        if isinstance(value, list):
            return many(value)
        return value

    return walk(value)
