"""A deterministic teacher implementing the real `Teacher` interface (no model)."""

from __future__ import annotations

from collections.abc import Iterator

from generators.teachers import Budget, Completion, Request, Teacher, TeacherConfig


class ScriptedTeacher(Teacher):
    """Answers each prompt from a script: {prompt text: [response for sample 0, sample 1, ...]}.

    Unscripted prompts get "I do not know." `history` records every request, so
    tests can assert what was (and was not) asked again.
    """

    history: list[Request] = []

    def __init__(self, config: TeacherConfig, script: dict[str, list[str]]):
        super().__init__(config)
        self.script = script

    def generate(self, requests: list[Request], budget: Budget | None = None) -> Iterator[list[Completion]]:
        size = self.config.batch_size
        batches = [requests[start:start + size] for start in range(0, len(requests), size)]
        return self.within_budget(batches, budget, self._answer_all)

    def _answer_all(self, batch: list[Request]) -> list[Completion]:
        ScriptedTeacher.history.extend(batch)
        return [self._answer(r) for r in batch]

    def _answer(self, r: Request) -> Completion:
        options = self.script.get(r.prompt, ["I do not know."])
        text = options[r.sample_index % len(options)]
        return Completion(key=r.key, text=text, finish_reason="stop", prompt_tokens=len(r.prompt.split()),
                          completion_tokens=len(text.split()), latency_s=0.001)
