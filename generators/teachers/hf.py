"""In-process Hugging Face `generate` teacher, on CPU or GPU: the embedded default.

Requests are sorted by prompt length before batching so padding stays small,
and each batch is yielded as soon as it is done. Latency is the batch's wall
time divided by its size (sequences in a batch run together).

Prefix caching: everything before the prompt turn (system prompt, few-shot
turns) is the same for every request, so its KV cache is computed once and
copied into each batch; only the prompt turns are prefilled. On a CPU, prefill
of a few hundred shared tokens per sequence otherwise dominates generation time.
The prompt turns are left-padded *after* the shared prefix; the attention mask
hides the gap and position ids follow the mask, so outputs match an uncached run.

With `logprobs: k` the teacher also returns, for every generated token, its log-probability
and the top-k token ids and log-probabilities of its own (T = 1) distribution under its full
context, few-shot turns included, plus its vocabulary's size and hash: what white-box (logit)
distillation needs, in the teacher's vocabulary.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Iterator
from dataclasses import replace

from generators.local_models import resolve_model, vocab_fingerprint
from generators.teachers.base import Completion, Request, Teacher, TeacherConfig
from generators.teachers.budget import Budget


def load_causal_lm(model: str, adapter: str | None = None):
    """Load (model, tokenizer) for generation; `adapter` is a LoRA directory merged into the model."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    path = resolve_model(model)
    tokenizer = AutoTokenizer.from_pretrained(path)
    tokenizer.padding_side = "left"
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    device = "cuda" if torch.cuda.is_available() else "cpu"
    lm = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32)
    if adapter:
        import warnings

        from peft import PeftModel

        with warnings.catch_warnings():  # peft reads a property transformers 5.x deprecates; nothing to fix here
            warnings.filterwarnings("ignore", message=r"`is_gradient_checkpointing` is deprecated",
                                    category=FutureWarning)
            lm = PeftModel.from_pretrained(lm, adapter).merge_and_unload()
    return lm.to(device).eval(), tokenizer


class TransformersTeacher(Teacher):
    def __init__(self, config: TeacherConfig, adapter: str | None = None):
        super().__init__(config)
        self.model, self.tokenizer = load_causal_lm(config.model, adapter or config.adapter)
        self._vocab = vocab_fingerprint(self.tokenizer)  # recorded with captured logprobs (KD checks it)
        self._prefix_text, self._prefix_cache = self._shared_prefix()

    def _shared_prefix(self):
        """(text, KV cache) of the turns before the prompt, or ("", None) when there are none."""
        import torch

        before_prompt = self.messages("")[:-1]
        if not before_prompt:
            return "", None
        text = self.tokenizer.apply_chat_template(before_prompt, tokenize=False)
        ids = self.tokenizer(text, add_special_tokens=False, return_tensors="pt")["input_ids"].to(self.model.device)
        with torch.no_grad():
            out = self.model(input_ids=ids, use_cache=True)
        cache = out["cache"] if "cache" in out else out.past_key_values  # 5.x renamed it (a warning on the old name)
        return text, cache

    def generate(self, requests: list[Request], budget: Budget | None = None) -> Iterator[list[Completion]]:
        order = sorted(requests, key=lambda r: (len(r.prompt), r.key))
        size = self.config.batch_size
        batches = [order[start:start + size] for start in range(0, len(order), size)]
        offset = {r.key: i for i, r in enumerate(order)}

        def seeded(batch: list[Request]) -> list[Completion]:
            import torch

            torch.manual_seed(self.config.seed + offset[batch[0].key])  # as before budgets: seed + batch start
            return self._batch(batch)

        return self.within_budget(batches, budget, seeded)

    def _batch(self, batch: list[Request]) -> list[Completion]:
        import torch

        cfg, tok = self.config, self.tokenizer
        texts = [tok.apply_chat_template(self.messages(r.prompt), tokenize=False, add_generation_prompt=True)
                 for r in batch]
        enc, cache = self._encode(texts)
        sampling = {"do_sample": True, "temperature": cfg.temperature, "top_p": cfg.top_p} if cfg.temperature > 0 \
            else {"do_sample": False, "temperature": None, "top_p": None, "top_k": None}
        capture = {"output_logits": True, "return_dict_in_generate": True} if cfg.logprobs else {}
        began = time.perf_counter()
        with torch.no_grad():
            # `cache=`: transformers 5.x renamed generate's `past_key_values` (a FutureWarning on every batch)
            out = self.model.generate(**enc, cache=cache, max_new_tokens=cfg.max_tokens,
                                      pad_token_id=tok.pad_token_id, **sampling, **capture)
        latency = (time.perf_counter() - began) / len(batch)
        sequences = out.sequences if cfg.logprobs else out
        new = sequences[:, enc["input_ids"].shape[1]:]
        prompt_tokens = enc["attention_mask"].sum(dim=1).tolist()
        done = [self._completion(r, row, int(p), latency) for r, row, p in zip(batch, new, prompt_tokens)]
        if not cfg.logprobs:
            return done
        logits = torch.stack(out.logits, dim=1)  # (batch, new tokens, vocab): raw, before temperature / top-p
        return [replace(c, logprobs=self._top_k(row, step_logits, c.completion_tokens))
                for c, row, step_logits in zip(done, new, logits)]

    def _top_k(self, ids, logits, length: int) -> dict:
        """The teacher's own distribution (T = 1) at each generated position, under its full context (system
        prompt and few-shot turns included): the sampled token's logprob and the top-k ids and logprobs."""
        import torch

        logprobs = torch.log_softmax(logits[:length].float(), dim=-1)
        top = logprobs.topk(self.config.logprobs, dim=-1)
        ids = ids[:length]
        size, vocab_hash = self._vocab
        return {"token_ids": ids.tolist(), "logprobs": logprobs.gather(1, ids[:, None])[:, 0].tolist(),
                "tokens": self.tokenizer.convert_ids_to_tokens(ids.tolist()),
                "top_ids": top.indices.tolist(), "top_logprobs": top.values.tolist(),
                "top_tokens": [self.tokenizer.convert_ids_to_tokens(row) for row in top.indices.tolist()],
                "vocab_size": size, "vocab_hash": vocab_hash}

    def _encode(self, texts: list[str]):
        """Token ids and mask for a batch, plus a copy of the prefix cache when every text starts with it."""
        import torch

        tok, prefix = self.tokenizer, self._prefix_text
        if self._prefix_cache is None or not all(t.startswith(prefix) for t in texts):
            return tok(texts, return_tensors="pt", padding=True).to(self.model.device), None
        head = tok(prefix, add_special_tokens=False)["input_ids"]
        tails = [tok(t[len(prefix):], add_special_tokens=False)["input_ids"] for t in texts]
        width = max(map(len, tails))
        ids = [head + [tok.pad_token_id] * (width - len(t)) + t for t in tails]
        mask = [[1] * len(head) + [0] * (width - len(t)) + [1] * len(t) for t in tails]
        cache = copy.deepcopy(self._prefix_cache)
        cache.batch_repeat_interleave(len(texts))
        device = self.model.device
        return {"input_ids": torch.tensor(ids, device=device), "attention_mask": torch.tensor(mask, device=device)}, cache

    def _completion(self, request: Request, row, prompt_tokens: int, latency: float) -> Completion:
        eos = self.tokenizer.eos_token_id
        ids = row.tolist()
        stopped = eos in ids
        ids = ids[:ids.index(eos)] if stopped else [i for i in ids if i != self.tokenizer.pad_token_id]
        return Completion(
            key=request.key, text=self.tokenizer.decode(ids, skip_special_tokens=True).strip(),
            finish_reason="stop" if stopped else "length", prompt_tokens=prompt_tokens,
            completion_tokens=len(ids), latency_s=latency,
        )

    def close(self) -> None:
        del self.model, self._prefix_cache
