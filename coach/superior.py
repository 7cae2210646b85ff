"""What the superior says and is told in Rehearse: the per-turn direction (coach/rehearse.py puts it
after the newest turn, never in the cached persona), the concerns turned to the superior's point of
view, and the lines code says itself (closing a meeting, agreeing, checking a line is in character).
"""

from __future__ import annotations

import difflib
import re

from coach.tracker import TrackerState

SENTENCE_END = re.compile(r"(?<=[.!?…])\s+")
BRACKETED = re.compile(r"\[[^\]]*\]")
# An assistant's refusal or self-description, never a superior's line. The default model answered
# nine turns in a row with "I'm sorry, but I can't help with that." when told to close the meeting.
_OUT_OF_CHARACTER = re.compile(
    r"\b(?:I\s*(?:'m|am)\s+(?:sorry|afraid),?\s+(?:but\s+)?I\s+(?:can(?:no|')t|am\s+unable\s+to|'m\s+unable\s+to)"
    r"\s+(?:help|assist)|I\s+can(?:no|')t\s+(?:help|assist)\s+(?:you\s+)?with\s+(?:that|this)"
    r"|as\s+an\s+AI\b(?![-\w])|I\s*(?:'m|am)\s+(?:just\s+|only\s+)?an?\s+(?:AI|language\s+model|virtual\s+assistant)"
    r"|an\s+AI\s+(?:language\s+model|assistant)|(?:this|a|the)\s+role-?play\b|role-?play(?:ing)?\s+(?:this|that)\b"
    r"|out\s+of\s+(?:the\s+)?role)",
    re.IGNORECASE)
# What a busy superior says once the tracker has closed the meeting (no model call: the decision and
# its words are the code's, and the lesson is in them).
CLOSING_LINES = (
    "Sorry, I have to jump on my next call. Next time, start with what you need from me.",
    "I really have to go now. Send me two lines: the problem and what you want me to decide.",
    "We're out of time. Come back when you can tell me the ask in one sentence.",
)

RETRY_TEMPERATURE = 0.9  # the second try of a reply that failed its check

# Said when the superior may agree but the model's reply failed its check twice.
VOICED = 0.8  # a line this close to a concern's text, persons aside, gives it away
AGREEING_LINE = "All right, that works for me. Send me a short note of what we agreed, and go ahead."


def out_of_character(sentence: str) -> bool:
    """Whether a line of the superior's is an assistant stepping out of the role."""
    return bool(_OUT_OF_CHARACTER.search(sentence.replace("\u2019", "'")))


_PERSONS = re.compile(r"\b(?:i|me|my|mine|we|us|our|you|your|yours|they|them|their|theirs|i'm|i'd|i'll|i've|"
                      r"you're|you'd|you'll|you've|they're|they'd|they'll|they've)\b")


def voices_concern(sentence: str, concerns: list[str]) -> bool:
    """Whether a line of the superior's says one of their hidden concerns nearly word for word (the
    small model copies what it is told is on its mind, "I would accept a smaller first release…"):
    the concerns stay hidden until the debrief. Compared without the words for persons, which the
    superior's version swaps."""
    def bare(text: str) -> str:
        return " ".join(_PERSONS.sub(" ", text.lower().replace("\u2019", "'")).replace(".", " ").split())

    line = bare(sentence)
    return len(line.split()) >= 5 and any(
        difflib.SequenceMatcher(a=line, b=bare(c)).ratio() >= VOICED for c in concerns)


_PRONOUN = re.compile(r"\b(they're|they've|they'd|they'll|themselves|themself|theirs|their|them|they|"
                      r"you're|you've|you'd|you'll|yourself|yours|your|you)\b", re.IGNORECASE)
_SWAP = {"they're": "you're", "they've": "you've", "they'd": "you'd", "they'll": "you'll", "themselves": "yourself",
         "themself": "yourself", "theirs": "yours", "their": "your", "them": "you", "they": "you",
         "you're": "they're", "you've": "they've", "you'd": "they'd", "you'll": "they'll", "yourself": "themselves",
         "yours": "theirs", "your": "their"}
# "you" becomes "they" where it starts a clause, else "them" ("want you to" -> "want them to").
_CLAUSE_START = re.compile(r"(?:^|[.,;:!?(]|\b(?:that|if|when|whether|because|and|but|so|or|unless|until|before|"
                           r"after|while|why|how|what|once|since|though|although))\s*$", re.IGNORECASE)


def to_superior(text: str) -> str:
    """A concern as the superior holds it: scenarios describe the boss as "they" and the person as
    "you" ("They rate your work but..."); the model playing the boss is told "You rate their work
    but...", with both swapped. Told in the third person, the default model spoke of itself as "they";
    told "you" for the person, it took the person's part ("they will want you to propose")."""
    def swap(m: re.Match) -> str:
        said = m.group(0)
        if said.lower() == "you":
            word = "they" if _CLAUSE_START.search(text[: m.start()]) else "them"
        else:
            word = _SWAP[said.lower()]
        return word[0].upper() + word[1:] if said[0].isupper() else word

    return _PRONOUN.sub(swap, text)


def stage_direction(state: TrackerState) -> str:
    """The per-turn state the superior is told, at the end of the prompt (never in the cached prefix).

    Kept short: every token of it is evaluated afresh each turn, at about 65 tokens a second on two
    cores, and the persona already says what a direction means and that an open concern bars agreeing.
    """
    if state.outcome == "agreed":
        return "[What they said settles what was on your mind: you can agree and name the next step.]"
    return f"[Still on your mind: {pressing(state)} Do not agree yet.]"


def press_direction(state: TrackerState, boss: str, why: str) -> str:
    """The second try's direction, after a reply that failed its check: one question on an open concern."""
    return (f"[Your last reply {why}. Still on your mind: {pressing(state)} This time, {firmer(why, boss)}: "
            "ask one short, pointed question about it, and do not agree.]")


def pressing(state: TrackerState) -> str:
    """The open concern the superior presses on (required ones first), as they hold it."""
    open_ = state.open_concerns()
    return to_superior(state.concerns[open_[0]].text) if open_ else "you have not heard a clear request yet"


_FIRMER = {"conceded": "hold your ground", "repeated": "say something new",
           "voiced": "keep what is on your mind to yourself and ask about it instead"}


def firmer(why: str, boss: str) -> str:
    """What to do differently this time, after a reply that failed its check for `why`."""
    return _FIRMER.get(why.split()[0], f"answer as {boss} would, in character")
