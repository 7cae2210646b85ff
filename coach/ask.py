"""Ask mode: retrieve from the playbook, answer with numbered citations, stream the tokens."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Iterator, Literal

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage
from langchain_core.output_parsers import StrOutputParser
from langchain_core.runnables import RunnableLambda, RunnablePassthrough

from coach.errors import check_size
from coach.knowledge import Card
from coach.models import model_errors
from coach.notes import NoteStore
from coach.profile import SuperiorProfile
from coach.prompts import PromptFile
from coach.store import Hit, KnowledgeIndex

MAX_QUESTION_CHARS = 4_000


# A note passage this far from the question is noise, not a source.
NOTE_MIN_SCORE = 0.25
UNCOVERED = "The playbook doesn't cover this. The nearest advice it gives:"
NO_ANSWER = ("*(No good answer came this time: twice the model gave no steps to take. "
             "Ask again, or put the question in other words; the sources above are where the playbook "
             "speaks to it.)*")
MAX_SAY_WORDS = 45  # the prompt asks for at most 30; a longer line is a paragraph, not a sentence to say
RETRY_TEMPERATURE = 0.8
HistoryMode = Literal["full", "questions", "summaries"]
_SAY = re.compile(r"^\W*you could (?:say|write)\b\W*", re.IGNORECASE)
# Words about the superior rather than to them: "I should inform Dana...", "my boss needs to know".
_ABOUT_BOSS = re.compile(r"\b(?:my|your|the) (?:boss|manager|superior|supervisor)\b"
                         r"|\bI (?:should|need to|must|have to|ought to) (?:tell|inform|let|ask|talk to|speak to|email)\b"
                         r"(?!\s+you\b)",
                         re.IGNORECASE)
# "my boss Dana", "my manager, Priya": the name a question gives its superior (a capitalised word after the role).
_NAMED_BOSS = re.compile(r"\b(?:[Bb]oss|[Mm]anager|[Dd]irector|[Ss]upervisor|[Ss]uperior|[Ll]ead|VP)\s*,?\s+([A-Z][a-z]+)\b")
_TAG = re.compile(r"</?\s*(source|playbook|profile|draft|transcript)\b", re.IGNORECASE)


def fence(text: str) -> str:
    """Neutralise tags in untrusted text so it cannot close the fence it is quoted in."""
    return _TAG.sub(lambda m: m.group(0).replace("<", "‹"), text)


def quote_notes(hits: list[Hit]) -> str:
    """Note passages for a prompt, each fenced in <source> tags, or "(none)"."""
    return "\n".join(f'- "{h.source}":\n<source>\n{fence(h.text)}\n</source>' for h in hits) or "(none)"


def estimate_tokens(text: str) -> int:
    """Estimate tokens without a tokenizer; errs high (English runs ~4 characters a token)."""
    return len(text) // 3 + 1


def check_question(question: str) -> str:
    """Return the question stripped, or raise InputError saying what to change."""
    return check_size(
        (question or "").strip(), MAX_QUESTION_CHARS,
        empty=("The question is empty.", "Type what you would like advice on."),
        too_long=("The question is {length} characters long; the limit is {limit}.",
                  "Shorten it to the situation and what you want to know."),
    )


@dataclass
class Turn:
    """One message of the coach chat and the reply: an answer (with the user message exactly as it
    was sent to the model), a review, or a rehearsal. `payload` holds a review's or rehearsal's result."""

    question: str
    prompt: str
    answer: str = ""
    sources: list[Hit] = field(default_factory=list)
    mode: str = "ask"
    payload: dict | None = None


def playbook_block(cards: list[Card], budget_tokens: int) -> tuple[str, set[str]]:
    """Write the cards that fit the budget as one block; return it and the sources it holds."""
    parts, included, used = [], set(), 0
    for card in cards:
        entry = f"### Card: {card.title}\n{card.text}"
        cost = estimate_tokens(entry)
        if used + cost > budget_tokens:
            continue
        parts.append(entry)
        included.add(card.source)
        used += cost
    return "\n\n".join(parts), included


class AskChain:
    """Answer questions from the playbook; the prompt's stable part comes first so it is cached."""

    def __init__(
        self,
        model: BaseChatModel,
        index: KnowledgeIndex,
        cards: list[Card],
        prompt: PromptFile,
        *,
        notes: NoteStore | None = None,
        profile: SuperiorProfile | None = None,
        k: int = 4,
        k_notes: int = 2,
        context_tokens: int = 8192,
        answer_tokens: int = 512,
        history_mode: HistoryMode = "questions",
        detector=None,
        say_prompt: PromptFile | None = None,
        scope=None,
    ) -> None:
        self.model = model
        self.scope = scope  # coach/scope.py: does the playbook cover a question?
        self.history_mode = history_mode
        self.detector = detector
        self.say_prompt = say_prompt
        self.boss_name = (profile.name if profile else "").strip()
        self.raw_answer = ""  # the last answer as the model wrote it, before the checks
        self.checker = None
        self.guard = None  # coach/shape.py: the last answer's shape guard, with what it dropped
        self.retried = False  # whether the last answer was written a second time
        self.index = index
        self.notes = notes
        self.prompt = prompt
        self.k = k
        self.k_notes = k_notes
        self.context_tokens = context_tokens
        self.answer_tokens = answer_tokens
        playbook, self._in_prefix = playbook_block(cards, context_tokens // 2)
        # Stable per workspace: instructions and playbook first (shared by every workspace),
        # then this workspace's profile; the server caches the whole block.
        self.system = SystemMessage(
            prompt.render_system(playbook=playbook, profile=fence((profile or SuperiorProfile()).as_text()))
        )
        # The same instructions and playbook with no profile: every workspace's system message starts
        # with exactly these tokens, so one saved model state serves them all (Runtime.warm_up).
        self.shared_prefix = SystemMessage(prompt.render_system(playbook=playbook, profile=""))
        self.chain = self._chain(model)
        # A second go, after the model was stopped looping, samples more freely than the first.
        self.retry_chain = self._chain(model.bind(temperature=RETRY_TEMPERATURE))

    def _chain(self, model):
        return RunnablePassthrough.assign(
            sources=RunnableLambda(lambda x: self.retrieve(x["question"]))
        ) | RunnablePassthrough.assign(
            answer=RunnableLambda(lambda x: self.messages(x["question"], x["sources"], x["history"]))
            | model
            | StrOutputParser()
        )

    def retrieve(self, question: str) -> list[Hit]:
        """Return playbook passages (at most one per card), then the best matching notes.

        Each source has its own quota, so many notes never crowd the playbook out.
        """
        vector = self.index.embeddings.embed_query(question)
        hits, seen = [], set()
        for hit in self.index.search(question, k=self.k * 2, vector=vector):
            if hit.source not in seen:
                seen.add(hit.source)
                hits.append(hit)
        hits = hits[: self.k]
        if self.notes is not None and self.k_notes:
            hits += [h for h in self.notes.search(question, self.k_notes, vector) if h.score >= NOTE_MIN_SCORE]
        return hits

    def format_sources(self, hits: list[Hit]) -> str:
        """Number the sources; cards already in the playbook block are named, others quoted."""
        if not hits:
            return "(none found)"
        lines = []
        for n, hit in enumerate(hits, 1):
            if hit.origin == "playbook" and hit.source in self._in_prefix:
                lines.append(f'[{n}] playbook card "{hit.title}"')
            elif hit.origin == "playbook":
                lines.append(f'[{n}] playbook card "{hit.title}"\n<source>\n{fence(hit.text)}\n</source>')
            else:
                lines.append(f'[{n}] the person\'s note "{hit.source}"\n<source>\n{fence(hit.text)}\n</source>')
        return "\n".join(lines)

    def covered(self, question: str) -> bool:
        """Whether the playbook covers the question (always, when no scope classifier was given)."""
        return self.scope is None or self.scope.covers(question)

    def user_message(self, question: str, hits: list[Hit], history: list[Turn] | None = None) -> str:
        history = answered(history or [])
        coverage = "" if self.covered(question) else (
            "The playbook does not cover this question, and the person has been told so already. Give only "
            "the nearest advice the playbook does give, in at most three bullets.\n")
        return self.prompt.render_user(earlier=self.earlier(history or []), sources=self.format_sources(hits),
                                       question=question, coverage=coverage)

    def earlier(self, history: list[Turn]) -> str:
        """What was asked before in this chat, when it is not replayed turn by turn."""
        asked = [t for t in history if t.mode == "ask"][-6:]
        if self.history_mode == "full" or not asked:
            return ""
        lines = []
        for t in asked:
            line = f"- {t.question.strip()[:300]}"
            if self.history_mode == "summaries" and t.answer.strip():
                line += f" (you advised: {t.answer.strip().splitlines()[0][:200]})"
            lines.append(line)
        return ("Earlier in this chat the person asked (already answered; do not repeat those answers):\n"
                + "\n".join(lines) + "\n\n")

    def history_messages(self, history: list[Turn], reserved: int) -> list[BaseMessage]:
        """Replay past turns verbatim (history_mode "full"), dropping the oldest that do not fit."""
        if self.history_mode != "full":
            return []
        budget = self.context_tokens - self.answer_tokens - reserved
        budget -= estimate_tokens(str(self.system.content))
        kept: list[Turn] = []
        # Only answers are replayed: a review or a rehearsal in the same chat is not a question.
        for turn in reversed([t for t in history if t.mode == "ask"]):
            cost = estimate_tokens(turn.prompt) + estimate_tokens(turn.answer)
            if cost > budget:
                break
            kept.append(turn)
            budget -= cost
        messages: list[BaseMessage] = []
        for turn in reversed(kept):
            messages += [HumanMessage(turn.prompt), AIMessage(turn.answer)]
        return messages

    def messages(self, question: str, hits: list[Hit], history: list[Turn]) -> list[BaseMessage]:
        """Lay out the prompt: system (stable), past turns (stable), then this turn."""
        user = self.user_message(question, hits, history)
        return [self.system, *self.history_messages(history, estimate_tokens(user)), HumanMessage(user)]

    def stream(self, question: str, history: list[Turn] | None = None) -> Iterator[Hit | str]:
        """Yield the retrieved sources first, then the answer a checked line at a time.

        Each line passes the shape guard (coach/shape.py: no repeats, at most four steps; a looping
        model is stopped), then its citation is checked against the sources (coach/citations.py).
        The "You could say" line is checked for the playbook's myths and written again if it falls
        into one, or written on its own if the answer lacks it.
        """
        from coach.citations import CitationChecker
        from coach.shape import ShapeGuard

        question = check_question(question)
        history = answered(history or [])
        self.raw_answer = ""
        covered = self.covered(question)
        self.guard = ShapeGuard([t.answer for t in history if t.mode == "ask"], max_steps=4 if covered else 3,
                                example=self.prompt.example)
        self.retried = False
        say = None  # the model's "You could say" words, checked and shown last
        with model_errors():
            for attempt in (1, 2):
                content = 0  # lines of substance shown in this attempt
                lines = self._model_lines(question, history, self.chain if attempt == 1 else self.retry_chain)
                try:
                    for line in lines:
                        if isinstance(line, list):
                            if attempt == 1:
                                self.checker = CitationChecker(self.index.embeddings, line)
                                yield from line
                                if not covered:
                                    yield UNCOVERED + "\n"
                            continue
                        if not self.guard.admit(line):
                            if self.guard.stop:
                                break
                            continue
                        if _SAY.match(line):
                            say = _SAY.sub("", line).strip().strip('"“”')
                            continue
                        content += len(line.split()) >= 4
                        yield (self.checker.check(line) if self.checker else line) + "\n"
                finally:
                    lines.close()  # stops the model if it is still writing
                # Looping, or nothing past the first line: one more go, sampled more freely.
                useless = not self.guard.steps and (self.guard.stop or content <= 1)
                if not useless or attempt == 2:
                    break
                self.guard.retry()
                self.retried = True
            # No words to say on a matter the playbook does not cover: nothing checks them there
            # (an uncovered legal question got "Yes, your employer can legally…" as words to say).
            if useless:
                yield NO_ANSWER + "\n"
            elif covered and (shown := self._say(say or "", question)):
                yield "\n" + shown + "\n"  # a paragraph of its own, never read as part of the last step

    def _model_lines(self, question: str, history: list[Turn], chain) -> Iterator[list[Hit] | str]:
        """The sources (one list), then each line of the answer as soon as the model completes it."""
        buffer = ""
        for chunk in chain.stream({"question": question, "history": history}):
            if "sources" in chunk:
                yield chunk["sources"]
            if chunk.get("answer"):
                self.raw_answer += chunk["answer"]
                buffer += chunk["answer"]
                while "\n" in buffer:
                    line, buffer = buffer.split("\n", 1)
                    yield line
        if buffer.strip():
            yield buffer

    def _myth(self, words: str) -> str | None:
        if self.detector is None:
            return None
        return next((m for j in self.detector.judge([words]) for m in j.labels if m.startswith("myth-")), None)

    def _about_boss(self, words: str, question: str = "") -> bool:
        """Whether the words speak about the superior (by role, or by name after a verb of telling)
        instead of to them: such a line is advice to the person, not a sentence to say. The name is
        the profile's, or one the question gives ("my boss Dana")."""
        if _ABOUT_BOSS.search(words):
            return True
        names = {n for n in (self.boss_name, *_NAMED_BOSS.findall(question)) if n}
        return any(re.search(rf"\b(?:tell|inform|ask|remind|update|email|with|to) {re.escape(n)}\b", words,
                             re.IGNORECASE) for n in names)

    def _say(self, words: str, question: str) -> str | None:
        """The "You could say" line, shown only if it falls into no myth and speaks to the superior.

        Words the model gave are written once more if they fall into a myth, run past one sentence
        or speak about the superior instead of to them; with no words, the line is written on its
        own (twice at most). None when there is nothing to show.
        """
        writes = 1 if words else 2
        problem, myth = "the answer gave none", None
        while True:
            if len(words.split()) > MAX_SAY_WORDS:
                problem, words = f"it was {len(words.split())} words long, not one sentence of at most 30", ""
            if words and self._about_boss(words, question):
                problem, words = "it spoke about the boss instead of to them", ""
            if words:
                myth = self._myth(words)
                if myth is None:
                    return f'You could say: "{words}"'
                problem = f"it fell into {myth}"
            if not writes or self.say_prompt is None:
                break
            writes -= 1
            messages = [SystemMessage(self.say_prompt.render_system()),
                        HumanMessage(self.say_prompt.render_user(question=fence(question), problem=problem))]
            words = str(self.model.bind(stop=["\n"], max_tokens=80).invoke(messages).content).strip().strip('"“”')
        if myth:
            return f"*(The suggested words fell into {myth}, so they are left out: say it in your own words.)*"
        return None

    def ask(self, question: str, history: list[Turn] | None = None) -> Turn:
        """Answer a question in full (no streaming) and return the turn."""
        question = check_question(question)
        turn = Turn(question=question, prompt="")
        for piece in self.stream(question, history):
            if isinstance(piece, Hit):
                turn.sources.append(piece)
            else:
                turn.answer += piece
        turn.prompt = self.user_message(question, turn.sources, history)
        return turn


def answered(history: list[Turn]) -> list[Turn]:
    """The turns of a chat that got a reply: a message saved while its reply was still to come
    (payload "pending") has nothing to replay and was not answered."""
    return [t for t in history if not (t.payload or {}).get("pending")]


def saved_stream(chain: AskChain, question: str, history: list[Turn], save) -> Iterator[Hit | str]:
    """Stream an answer, then save the turn with save(turn); if the stream is cut off (a new
    message, a closed page, Ctrl-C), save what was said, marked as interrupted."""
    hits: list[Hit] = []
    said: list[str] = []
    finished = False
    try:
        for piece in chain.stream(question, history):
            if isinstance(piece, Hit):
                hits.append(piece)
            else:
                said.append(piece)
            yield piece
        finished = True
    finally:
        text = "".join(said)
        if finished:
            save(Turn(question, chain.user_message(question, hits, history), text, hits))
        elif text.strip():
            save(Turn(question, chain.user_message(question, hits, history), text.rstrip() + " …", hits,
                      payload={"interrupted": True}))
