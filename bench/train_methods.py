"""Benchmark: training step time of sft, kd and gkd, and the cost of capturing the teacher's top-k logprobs.

One run, one machine, so the ratios compare like with like (timings on a shared CPU drift; sft is timed
before and after the others and its mean is the baseline):

- Step time. The first `--rows` train problems of examples/math/seeds.jsonl, each answered by a fixed
  worked answer (no teacher calls), trained for `--steps` steps by each method's real `fit` on
  SmolLM2-135M, LoRA r16, batch 8, max_length 256. kd and gkd first run with a teacher other than the
  student (gkd refuses the base model as its own teacher without few-shot turns): the sft run's student,
  merged (same architecture, so it costs what any 135M teacher costs). gkd runs twice: lmbda 0 (every step
  on the snapshot's text) and lmbda 1 (every step on the student's own sampled answers, max_new_tokens 64);
  the default lmbda 0.5 costs their mean on average. kd `source: stored` trains on top-20 stored with each
  row (computed here by one forward of the same teacher over the row's tokens, as capture would store them):
  no teacher runs while it trains. With `--shots`, kd and gkd run again with the demo's
  teacher: the base model shown the quickstart teacher's five few-shot turns (a longer teacher forward).
  The first step (warm-up) is left out; the median of the rest is reported.
- Capture overhead. The quickstart teacher (five few-shot turns, batch 32, 64 new tokens, greedy so both
  modes generate the same tokens) answers `--requests` problems without and with `logprobs: 20`, the modes
  alternated `--rounds` times.
- Bytes per token. The captured logprobs as the warehouse types them (int32 ids, float32 logprobs), written
  as zstd Parquet: with and without the token strings.

    .venv/bin/python bench/train_methods.py [--rows 32] [--steps 6] [--requests 32] [--rounds 2] [--threads 1] [--shots]
                                            [--methods kd,kd_stored,gkd]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import tempfile
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MODEL = "smollm2-135m-instruct"


def problems(count: int) -> list[dict]:
    rows = [json.loads(line) for line in (ROOT / "examples/math/seeds.jsonl").read_text().splitlines()]
    return [r for r in rows if r["split"] == "train"][:count]


def worked(row: dict) -> str:
    return (f"Read the problem: {row['question']} Working it through, the result is {row['answer']}.\n"
            f"The answer is \\boxed{{{row['answer']}}}.")


def timed_fits() -> list[list[float]]:
    """Make every method's `train_and_save` record each optimizer step's wall time (a callback), so the real
    `fit` of each method is what is timed; returns the list the runs append to."""
    from transformers import TrainerCallback

    from training.methods import gkd, kd, sft

    runs: list[list[float]] = []

    class StepTimer(TrainerCallback):
        def __init__(self) -> None:
            self.began = 0.0
            self.steps: list[float] = []
            runs.append(self.steps)

        def on_step_begin(self, args, state, control, **kwargs):
            self.began = time.perf_counter()

        def on_step_end(self, args, state, control, **kwargs):
            self.steps.append(time.perf_counter() - self.began)

    original = sft.train_and_save

    def train_and_save(trainer, output_dir, examples, callbacks=()):
        return original(trainer, output_dir, examples, (*callbacks, StepTimer()))

    for module in (sft, kd, gkd):
        module.train_and_save = train_and_save
    return runs


def merged_student(lora_dir: Path, out: Path) -> str:
    """The sft run's LoRA student merged into a plain checkpoint: a teacher that is not the base model."""
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from generators.local_models import resolve_model

    base = AutoModelForCausalLM.from_pretrained(resolve_model(MODEL), dtype=torch.float32)
    PeftModel.from_pretrained(base, str(lora_dir)).merge_and_unload().save_pretrained(out)
    AutoTokenizer.from_pretrained(lora_dir).save_pretrained(out)
    return str(out)


def stored_rows(rows: list[dict], teacher: str, k: int = 20) -> list[dict]:
    """The rows as kd `source: stored` reads them: the completion's tokens and the teacher's top-k at each."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from generators.local_models import resolve_model, vocab_fingerprint
    from training.methods.kd_stored import chat_ids

    tokenizer = AutoTokenizer.from_pretrained(resolve_model(MODEL))
    model = AutoModelForCausalLM.from_pretrained(teacher, dtype=torch.float32).eval()
    size, vocab_hash = vocab_fingerprint(tokenizer)
    out = []
    for r in rows:
        prompt = chat_ids(tokenizer, [{"role": "user", "content": r["question"]}], add_generation_prompt=True)
        completion = tokenizer.encode(worked(r), add_special_tokens=False) + [tokenizer.eos_token_id]
        with torch.no_grad():
            logits = model(torch.tensor([prompt + completion])).logits[0, len(prompt) - 1: -1]
        top = torch.log_softmax(logits.float(), dim=-1).topk(k, dim=-1)
        out.append({"prompt": r["question"], "completion": worked(r), "kind": "distilled", "token_ids": completion,
                    "top_ids": top.indices.tolist(), "top_logprobs": top.values.tolist(), "vocab_size": size,
                    "vocab_hash": vocab_hash})
    return out


def step_times(rows: list[dict], steps: int, work: Path, shots: tuple = (),
               methods: tuple = ("kd", "kd_stored", "gkd")) -> dict:
    from training.data import to_dataset
    from training.methods.gkd import GKDConfig
    from training.methods.gkd import fit as gkd_fit
    from training.methods.kd import KDConfig
    from training.methods.kd import fit as kd_fit
    from training.methods.sft import SFTConfig
    from training.methods.sft import fit as sft_fit

    runs = timed_fits()
    dataset = to_dataset([{"prompt": r["question"], "completion": worked(r)} for r in rows])
    shared = {"base_model": MODEL, "lora": True, "lora_r": 16, "batch_size": 8, "max_length": 256,
              "max_steps": steps, "learning_rate": 1e-3, "seed": 0}
    results: dict[str, dict] = {}

    def run(label: str, fit, cfg, data=None) -> dict:
        began = time.perf_counter()
        out = fit(dataset if data is None else data, cfg, work / label)
        times = runs[-1][1:]  # the first step warms up (allocations, lazy init)
        tokens = out.get("train_tokens") or next(
            (e["num_tokens"] for e in reversed(out["log_history"]) if "num_tokens" in e), None)
        results[label] = {"median_step_s": statistics.median(times), "min_step_s": min(times),
                          "steps_timed": len(times), "tokens_per_step": tokens / out["steps"] if tokens else None,
                          "sampled_batches": out.get("sampled_batches"), "wall_s": time.perf_counter() - began}
        print(f"{label:>10}: median step {results[label]['median_step_s']:.2f} s "
              f"(min {results[label]['min_step_s']:.2f}, {len(times)} steps), "
              f"{results[label]['tokens_per_step']} tokens/step", flush=True)
        return out

    run("sft", sft_fit, SFTConfig(**shared))
    teacher = merged_student(work / "sft" / "final", work / "teacher")
    if "kd" in methods:
        run("kd", kd_fit, KDConfig(**shared, teacher_model=teacher))
    if "kd_stored" in methods:
        run("kd_stored", kd_fit, KDConfig(**shared, source="stored"), to_dataset(stored_rows(rows, teacher)))
    if "gkd" in methods:
        run("gkd_l0", gkd_fit, GKDConfig(**shared, teacher_model=teacher, lmbda=0.0))
        run("gkd_l1", gkd_fit, GKDConfig(**shared, teacher_model=teacher, lmbda=1.0, max_new_tokens=64))
    if shots:  # the demo's teacher: the base model shown the recipe teacher's few-shot turns (context distillation)
        if "kd" in methods:
            run("kd_shots", kd_fit, KDConfig(**shared, teacher_few_shot=shots))
        if "gkd" in methods:
            run("gkd_l0_shots", gkd_fit, GKDConfig(**shared, lmbda=0.0, teacher_few_shot=shots))
            run("gkd_l1_shots", gkd_fit, GKDConfig(**shared, lmbda=1.0, max_new_tokens=64, teacher_few_shot=shots))
    run("sft_again", sft_fit, SFTConfig(**shared))
    return results


def capture(requests_n: int, rounds: int, work: Path) -> dict:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from flows.recipe import load_recipe
    from generators.teachers import Request
    from generators.teachers.hf import TransformersTeacher

    cfg = replace(load_recipe("quickstart").teacher, temperature=0.0, batch_size=32, max_tokens=64)
    requests = [Request(r["id"], r["question"]) for r in problems(requests_n)]
    teacher = TransformersTeacher(cfg)
    seconds = {"plain": 0.0, "logprobs": 0.0}
    outputs: dict[str, dict] = {}
    for _ in range(rounds):
        for mode, k in (("plain", 0), ("logprobs", 20)):
            teacher.config = replace(cfg, logprobs=k)
            began = time.perf_counter()
            outputs[mode] = {c.key: c for batch in teacher.generate(requests) for c in batch}
            seconds[mode] += time.perf_counter() - began
    same = sum(outputs["plain"][k].text == outputs["logprobs"][k].text for k in outputs["plain"])
    captured = [c.logprobs for c in outputs["logprobs"].values()]
    tokens = sum(len(lp["token_ids"]) for lp in captured)

    def as_table(strings: bool) -> pa.Table:
        columns = {"token_ids": pa.array([lp["token_ids"] for lp in captured], pa.list_(pa.int32())),
                   "logprobs": pa.array([lp["logprobs"] for lp in captured], pa.list_(pa.float32())),
                   "top_ids": pa.array([lp["top_ids"] for lp in captured], pa.list_(pa.list_(pa.int32()))),
                   "top_logprobs": pa.array([lp["top_logprobs"] for lp in captured],
                                            pa.list_(pa.list_(pa.float32())))}
        if strings:
            columns["tokens"] = pa.array([lp["tokens"] for lp in captured], pa.list_(pa.string()))
            columns["top_tokens"] = pa.array([lp["top_tokens"] for lp in captured], pa.list_(pa.list_(pa.string())))
        return pa.table(columns)

    # pyarrow's default dictionary-encodes every column, which for ~all-distinct float logprobs costs more
    # than their 4 raw bytes; plain and byte-stream-split (floats byte-plane by byte-plane) are measured too.
    encodings = {"dictionary (pyarrow default)": {},
                 "no dictionary": {"use_dictionary": False},
                 "no dictionary, byte_stream_split floats": {
                     "use_dictionary": False,
                     "column_encoding": {"logprobs.list.element": "BYTE_STREAM_SPLIT",
                                         "top_logprobs.list.element.list.element": "BYTE_STREAM_SPLIT"}}}
    sizes: dict = {}
    for strings in (False, True):
        for name, options in encodings.items():
            path = work / "logprobs.parquet"
            pq.write_table(as_table(strings), path, compression="zstd", **options)
            meta = pq.ParquetFile(path).metadata
            chunks = [meta.row_group(g).column(c) for g in range(meta.num_row_groups)
                      for c in range(meta.num_columns)]
            per_column = {chunk.path_in_schema.split(".")[0]: round(chunk.total_compressed_size / tokens, 1)
                          for chunk in chunks}
            sizes[f"{'with strings' if strings else 'ids only'}, {name}"] = {
                "file_bytes_per_token": round(path.stat().st_size / tokens, 1),
                "data_bytes_per_token": round(sum(chunk.total_compressed_size for chunk in chunks) / tokens, 1),
                "per_column": per_column}
    return {"requests": len(requests), "rounds": rounds, "plain_s": seconds["plain"],
            "logprobs_s": seconds["logprobs"], "overhead_pct": 100 * (seconds["logprobs"] / seconds["plain"] - 1),
            "identical_outputs": f"{same}/{len(requests)}", "tokens": tokens, "parquet_zstd_k20": sizes}


def main() -> None:
    import torch

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=32, help="training rows (train problems, fixed worked answers)")
    parser.add_argument("--steps", type=int, default=6, help="optimizer steps per method (the first is not timed)")
    parser.add_argument("--requests", type=int, default=32, help="problems the teacher answers per capture run")
    parser.add_argument("--rounds", type=int, default=2, help="alternations of the two capture modes")
    parser.add_argument("--skip", choices=["train", "capture"], help="leave one part out")
    parser.add_argument("--shots", action="store_true",
                        help="also kd and gkd with the demo's teacher: the base model shown the quickstart few-shot turns")
    parser.add_argument("--methods", default="kd,kd_stored,gkd",
                        help="besides sft (always timed, first and last): any of kd, kd_stored, gkd")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch CPU threads (1: on a shared, loaded machine 2 threads spin against each other)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    print(f"machine: {platform.machine()} {platform.processor() or ''}, {os.cpu_count()} cpus, torch "
          f"{torch.__version__}, {torch.get_num_threads()} threads, cuda {torch.cuda.is_available()}, "
          f"load average {os.getloadavg()[0]:.1f}", flush=True)
    report: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        if args.skip != "train":
            from flows.recipe import load_recipe

            shots = load_recipe("quickstart").teacher.few_shot if args.shots else ()
            times = step_times(problems(args.rows), args.steps, work, shots, tuple(args.methods.split(",")))
            base = (times["sft"]["median_step_s"] + times["sft_again"]["median_step_s"]) / 2
            report["train"] = times
            ratios = {label: times[label]["median_step_s"] / base for label in times if not label.startswith("sft")}
            for suffix in ("", "_shots"):
                if f"gkd_l1{suffix}" in ratios:
                    ratios[f"gkd_l0.5{suffix}_expected"] = (ratios[f"gkd_l0{suffix}"] + ratios[f"gkd_l1{suffix}"]) / 2
            report["ratios_to_sft"] = ratios
        if args.skip != "capture":
            report["capture"] = capture(args.requests, args.rounds, work)
    report["load_average_end"] = os.getloadavg()
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
