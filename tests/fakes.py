"""A fake chat model that replays queued replies and records every prompt it was sent."""

from __future__ import annotations

import re
from typing import Any, Iterator

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from pydantic import Field


class RecordingChatModel(BaseChatModel):
    """Reply with the queued texts in order (repeating the last); keep what was sent."""

    replies: list[str] = Field(default_factory=lambda: ["Raise it early, with a proposed fix. [1]"])
    calls: list[list[BaseMessage]] = Field(default_factory=list)
    temperatures: list[Any] = Field(default_factory=list)  # the temperature bound for each call, None if none
    fail_with: Any = None  # an exception to raise instead of answering

    @property
    def _llm_type(self) -> str:
        return "recording-fake"

    def _next(self, messages: list[BaseMessage]) -> str:
        self.calls.append(list(messages))
        if self.fail_with is not None:
            raise self.fail_with
        index = min(len(self.calls) - 1, len(self.replies) - 1)
        return self.replies[index]

    def _generate(self, messages, stop=None, run_manager=None, **kwargs) -> ChatResult:
        self.temperatures.append(kwargs.get("temperature"))
        return ChatResult(generations=[ChatGeneration(message=AIMessage(self._next(messages)))])

    def _stream(self, messages, stop=None, run_manager=None, **kwargs) -> Iterator[ChatGenerationChunk]:
        self.temperatures.append(kwargs.get("temperature"))
        for token in re.findall(r"\S+\s*", self._next(messages)):
            yield ChatGenerationChunk(message=AIMessageChunk(content=token))
