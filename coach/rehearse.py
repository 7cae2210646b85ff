"""Rehearse: role-play a hard conversation with your superior, then a debrief scored from evidence.

The model voices the superior and phrases advice. Everything that is judged is decided in code
that can be tested: which of the superior's concerns are met (coach/tracker.py), whether the
superior may agree (the tracker's outcome, enforced by checking each line with the concession
classifier before it is shown), the hint's target and its check, and the scores (coach/scoring.py).
"""

from __future__ import annotations

import copy
import re
import time
from dataclasses import dataclass
from typing import Iterator

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage

from coach.ask import fence, quote_notes
from coach.concession import ConcessionClassifier
from coach.detector import MYTHS, Detector
from coach.errors import CoachError, InputError
from coach.knowledge import Card
from coach.models import model_errors
from coach.profile import SuperiorProfile
from coach.prompts import PromptFile
from coach.rehearsals import DIFFICULTIES, Line, Rehearsal, Rehearsals, check_turn  # noqa: F401 (re-exported)
from coach.scenarios import Scenario, load_scenarios  # noqa: F401  (re-exported for callers)
from coach.scoring import STRATEGIES, TurnEvidence, scorecard
from coach.shape import normal, repeats
from coach.superior import (AGREEING_LINE, BRACKETED, CLOSING_LINES, RETRY_TEMPERATURE, SENTENCE_END,  # noqa: F401
                             firmer, out_of_character, press_direction, stage_direction, to_superior, voices_concern)
from coach.tracker import ConcernTracker, TrackerState

# ---- the coach ----------------------------------------------------------------------------------


@dataclass
class Hint:
    """What to aim at next (an open concern, in general terms) and words the person could say."""

    aim: str
    line: str = ""
    note: str = ""  # when no line passed its check


def said_before(sentence: str, earlier: list[str]) -> bool:
    """Whether a sentence says again one of the earlier ones: word for word, or, for one of five words
    or more, nearly, as Ask's shape guard judges a repeat (coach/shape.py)."""
    line = normal(sentence)
    said = [s for s in map(normal, earlier) if s]
    return line in said or (len(line.split()) >= 5 and repeats(line, said))


class Coach:
    """Plays the superior, tracks their concerns, hints, and scores the debrief for one rehearsal."""

    def __init__(self, model, prompts: dict[str, PromptFile], scenario: Scenario, profile: SuperiorProfile,
                 playbook: str, detector: Detector, concession: ConcessionClassifier, cards: list[Card],
                 voice=None) -> None:
        self.model = model
        self.voice = voice or model  # the superior's lines (the embedded server's: with repeats penalised)
        self.prompts = prompts
        self.scenario = scenario
        self.profile = profile
        self.playbook = playbook
        self.detector = detector
        self.concession = concession
        self.cards = cards
        self.tracker = ConcernTracker(detector, scenario)
        self._states: dict[int, tuple[list[str], TrackerState]] = {}

    @property
    def boss(self) -> str:
        return self.profile.name or "Your superior"

    @property
    def boss_in_text(self) -> str:
        """The superior as named inside a sentence: their name, or "your superior"."""
        return self.profile.name or "your superior"

    def state(self, r: Rehearsal) -> TrackerState:
        """The tracker's state after the person's turns so far (decided turn by turn, deterministic).

        Kept between calls, so each new turn costs one update, not a replay of the whole rehearsal.
        """
        turns = r.user_turns()
        known = self._states.get(r.id)
        if known is None or known[0] != turns[: len(known[0])] or known[1].difficulty != r.difficulty:
            known = ([], self.tracker.start(r.difficulty))
        done, state = known
        state = copy.deepcopy(state)
        for text in turns[len(done):]:
            self.tracker.update(state, text)
        self._states[r.id] = (list(turns), state)
        return copy.deepcopy(state)

    def persona(self, difficulty: str) -> SystemMessage:
        return SystemMessage(self.prompts["persona"].render_system(
            name=self.profile.name or "the person's manager",
            role=self.profile.role or "their direct superior",
            profile=fence(self.profile.as_text()),
            difficulty=DIFFICULTIES[difficulty],
            situation=self.scenario.situation.strip(),
            concerns="\n".join(f"- {to_superior(c.text)}" for c in self.scenario.concerns),
        ))

    def messages(self, r: Rehearsal, direction: str = "") -> list[BaseMessage]:
        """Persona first (stable), then the transcript; the per-turn state goes after the last turn."""
        out: list[BaseMessage] = [self.persona(r.difficulty)]
        for line in r.lines:
            out.append(HumanMessage(line.text) if line.role == "user" else AIMessage(line.text))
        if len(out) > 1 and isinstance(out[1], AIMessage):
            # Chat templates expect a user turn first: the opening line follows a stage direction.
            out.insert(1, HumanMessage("(You knock on their door.)"))
        if direction and isinstance(out[-1], HumanMessage):
            out[-1] = HumanMessage(f"{out[-1].content}\n\n{direction}")
        return out

    def _sentences(self, messages: list[BaseMessage], temperature: float | None = None) -> Iterator[str]:
        """Stream the model's reply a sentence at a time (so each can be checked before it is shown).

        Bracketed text is dropped: small models imitate the bracketed direction they are given.
        """
        buffer = ""
        with model_errors():
            model = self.voice if temperature is None else self.voice.bind(temperature=temperature)
            for chunk in model.stream(messages):
                buffer = BRACKETED.sub(" ", buffer + str(chunk.content or ""))
                spoken, held = (buffer.split("[", 1) + [""])[:2]  # an unclosed bracket waits for its end
                parts = SENTENCE_END.split(spoken)
                for done in parts[:-1]:
                    if done.strip():
                        yield done.strip() + " "
                buffer = parts[-1] + (f"[{held}" if "[" in buffer else "")
        tail = buffer.split("[", 1)[0].strip()
        if tail:
            yield tail

    def reply(self, r: Rehearsal, store: Rehearsals, text: str) -> Iterator[str]:
        """Add the user's turn (saved at once), then stream the superior's checked reply and save it.

        Each sentence is checked before it is shown. While the tracker's outcome is not "agreed", a
        sentence that concedes is never shown; nor, ever, one in which the model steps out of the role
        ("I'm sorry, but I can't help with that"), repeats an earlier line of the superior's, or says one of
        their hidden concerns nearly word for word. Such a
        reply is written once more, sampled wider, as one pointed question on an open concern (a sentence
        said before is left out, not a reason to rewrite); if that fails too, the superior presses on
        an open concern with one of the scenario's own lines. Once a busy superior has closed the meeting, they say so in code's words.
        """
        if r.ended:
            raise InputError("This rehearsal has ended.", "Start a new one.")
        r.lines.append(Line("user", check_turn(text)))
        store.save(r)
        state = self.state(r)
        if state.closed:
            line = CLOSING_LINES[sum(line.text in CLOSING_LINES for line in r.lines) % len(CLOSING_LINES)]
            r.lines.append(Line("superior", line))
            store.save(r)
            yield line
            return
        may_agree = state.outcome == "agreed"
        shown: list[str] = []
        checked = ""
        finished = False
        try:
            for attempt in (1, 2):
                direction = stage_direction(state)
                if attempt == 2 and not may_agree:
                    # A question is the superior's natural way to press, and one the model rarely turns
                    # into a concession; a freer "don't agree" was conceded again nearly every time.
                    direction = press_direction(state, self.boss, checked.split(" (")[0])
                elif attempt == 2:
                    why = checked.split(" (")[0]
                    direction = direction[:-1] + f" Your last reply {why}: this time, {firmer(why, self.boss)}.]"
                problem = ""
                new = 0
                # The second try samples wider: at the usual temperature the model copies the transcript.
                for sentence in self._sentences(self.messages(r, direction),
                                                None if attempt == 1 else RETRY_TEMPERATURE):
                    if said_before(sentence, shown) or self._repeats(r, sentence):
                        # Said already (the model copies the transcript, and opens every reply with
                        # "I understand your concern."): left out; the rest of the reply may be new.
                        continue
                    if out_of_character(sentence):
                        problem = "stepped out of character"
                    elif voices_concern(sentence, [c.text for c in self.scenario.concerns]):
                        problem = "voiced a hidden concern"
                    elif not may_agree and self.concession.concedes(sentence):
                        problem = "conceded while concerns were open"
                    if problem:
                        break
                    shown.append(sentence)
                    new += 1
                    yield sentence
                if not problem and not new:
                    problem = "repeated an earlier line"
                if not problem:
                    break
                checked = f"{problem} (attempt {attempt})"
            if problem:  # the last attempt failed its check too
                line = AGREEING_LINE if may_agree else self._pushback(state, r)
                shown.append(("" if not shown or shown[-1].endswith(" ") else " ") + line)
                checked += "; replaced with " + ("a line that agrees" if may_agree else "the scenario's pushback line")
                yield shown[-1]
            finished = True
        finally:
            # Interrupted (the page reran, the server died): keep what was said, marked as cut off.
            if shown or finished:
                said = "".join(shown).strip() or "…"
                r.lines.append(Line("superior", said if finished else said + " …", checked=checked))
                store.save(r)

    @staticmethod
    def _repeats(r: Rehearsal, sentence: str) -> bool:
        """A sentence the superior has already said: word for word, or, for one of five words or more,
        nearly, as Ask's shape guard judges a repeat (coach/shape.py). The default model said "I
        understand. I will look into it." nine turns in a row."""
        return said_before(sentence, [part for earlier in r.lines if earlier.role == "superior"
                                      for part in SENTENCE_END.split(earlier.text)])

    def _pushback(self, state: TrackerState, r: Rehearsal) -> str:
        """One of the scenario's own lines pressing on an open concern (required ones first), one not
        yet said in this rehearsal if there is one."""
        open_ = state.open_concerns() or [0]
        said = {line.text.strip() for line in r.lines if line.role == "superior"}
        lines = [line for i in open_ for line in self.scenario.concerns[i].pushback]
        fresh = [line for line in lines if not any(line.strip() in s for s in said)]
        return (fresh or lines)[0 if fresh else len(r.user_turns()) % len(lines)]

    def hint(self, r: Rehearsal, notes: list | None = None) -> Hint:
        """One or two sentences to say next, aimed at an open concern and checked for myths."""
        state = self.state(r)
        open_ = state.open_concerns()
        aim = self.scenario.concerns[open_[0]].hint if open_ else "make a clear ask and agree the next step"
        prompt = self.prompts["hint"]
        problems: list[str] = []
        for _ in range(2):
            messages = [
                SystemMessage(prompt.render_system(playbook=self.playbook)),
                HumanMessage(prompt.render_user(
                    scenario=self.scenario.situation.strip(), goal=self.scenario.goal.strip(),
                    profile=fence(self.profile.as_text()), notes=quote_notes(notes or []),
                    transcript=fence(r.transcript(self.boss)) or "(nothing said yet)", aim=aim,
                    boss=self.boss, problems=("Your last suggestion was rejected: " + "; ".join(problems))
                    if problems else "",
                )),
            ]
            with model_errors():
                raw = str(self.model.bind(stop=["\n", "\nYou:", f"\n{self.boss}:"], max_tokens=90)
                          .invoke(messages).content)
            line = _clean_hint(raw)
            problems = self._check_hint(line)
            if not problems:
                return Hint(aim, line)
        return Hint(aim, "", "No suggested line passed the check (" + "; ".join(problems) + "). "
                             "Aim at this in your own words.")

    def _check_hint(self, line: str) -> list[str]:
        if len(line.split()) < 4:
            return ["it was empty or too short"]
        problems = []
        for j in self.detector.judge([s for s in SENTENCE_END.split(line) if s.strip()]):
            problems += [f"it falls into {m}" for m in MYTHS if j.has(m)]
        if re.search(r"\b(?:your (?:boss|superior|manager)|tell (?:them|him|her)|you (?:should|could|might))\b",
                     line, re.IGNORECASE):
            problems.append("it talks about the conversation instead of giving the words to say")
        return problems

    def evidence(self, r: Rehearsal) -> list[TurnEvidence]:
        out = []
        for n, text in enumerate(r.user_turns(), 1):
            parts = [p for p in SENTENCE_END.split(text.strip()) if p.strip()] or [text]
            out.append(TurnEvidence(n, text, self.detector.judge(parts)))
        return out

    def score(self, r: Rehearsal) -> dict:
        """The scorecard from evidence, without improvements (instant: no model)."""
        if not r.user_turns():
            raise InputError("There is nothing to score yet.", "Say at least one thing to your superior first.")
        return scorecard(self.evidence(r), self.state(r))

    def debrief(self, r: Rehearsal, store: Rehearsals, improvements: bool = True) -> dict:
        """Score the rehearsal, add the model's phrased improvements, end it and save the scorecard."""
        card = self.score(r)
        if improvements:
            card["improvements"] = self.improvements(r, card)
        r.scorecard = card
        r.ended = time.time()
        store.save(r)
        return card

    def _advice_ok(self, advice: str) -> bool:
        """Advice is shown only if it is a real sentence and falls into no myth itself.

        (Closeness in meaning to the cited card was tried as a further check and dropped: MiniLM
        ranked the right card 5th to 10th of 14 even for apt advice.)"""
        return len(advice.split()) >= 5 and not any(j.has(m) for j in self.detector.judge([advice]) for m in MYTHS)

    def improvements(self, r: Rehearsal, card: dict) -> list[dict]:
        """Up to three improvements, each pointing at a turn and a card; the model only phrases them."""
        return list(self.each_improvement(r, card))

    def each_improvement(self, r: Rehearsal, card: dict) -> Iterator[dict]:
        """The improvements one at a time, as each is phrased (a page shows each as it comes)."""
        for target in improvement_targets(card, len(r.user_turns())):
            turn_text = r.user_turns()[target["turn"] - 1]
            principle = next((c.text for c in self.cards if c.topic == target["card"]), "")
            advice, source = "", "model"
            try:
                prompt = self.prompts["improve"]
                messages = [SystemMessage(prompt.render_system()),
                            HumanMessage(prompt.render_user(turn=fence(turn_text), problem=target["problem"],
                                                            principle=fence(principle), boss=self.boss))]
                with model_errors():
                    advice = str(self.model.bind(stop=["\n"], max_tokens=70).invoke(messages).content).strip()
            except CoachError:
                advice = ""
            if not self._advice_ok(advice):
                advice, source = _in_practice(principle), "playbook"
            yield {**target, "advice": advice, "source": source}


def improvement_targets(card: dict, turns: int) -> list[dict]:
    """Where the person can do better: the weakest strategies and the myths, each at a real turn."""
    out = []
    for m in card["myths"]:
        out.append({"card": m["topic"], "turn": m["turn"], "problem": f"this falls into {m['topic']}"})
    weakest = sorted(card["strategies"].items(), key=lambda kv: kv[1]["score"])
    for key, s in weakest:
        if s["score"] >= 4 or len(out) >= 3:
            break
        # The turn to fix: where something counted against it, else where it was shown, else the opening.
        turn = (s.get("against") or [s["turn"] or 1])[0]
        out.append({"card": key, "turn": turn, "problem": s["why"]})
    seen, unique = set(), []
    for t in out:
        if t["card"] not in seen and 1 <= t["turn"] <= turns:
            seen.add(t["card"])
            unique.append(t)
    return unique[:3]


def _clean_hint(raw: str) -> str:
    line = raw.strip().strip('"“”').strip()
    line = re.sub(r"^(?:try|you could say|say|hint)\s*:\s*", "", line, flags=re.IGNORECASE).strip('"“” ')
    parts = [p for p in SENTENCE_END.split(line) if p.strip()]
    return " ".join(parts[:2])


def _in_practice(card_text: str) -> str:
    m = re.search(r"In practice:\s*(.+)", card_text)
    return m.group(1).strip() if m else card_text.split(". ")[0].strip() + "."


__all__ = ["Coach", "Rehearsal", "Rehearsals", "Line", "Hint", "DIFFICULTIES", "STRATEGIES", "load_scenarios"]
