import json

from generators.local_models import DEFAULT_MODEL, resolve_model
from generators.teachers import Request, TeacherConfig, build_teacher


def test_embedded_model_materialises_once_into_a_plain_checkpoint_that_generates(tmp_path, monkeypatch):
    monkeypatch.setenv("DISTILL_MODEL_CACHE", str(tmp_path))
    path = resolve_model(DEFAULT_MODEL)
    assert path == tmp_path / DEFAULT_MODEL
    config = json.loads((path / "config.json").read_text())
    assert "quantization_config" not in config, "a GGUF-derived config cannot be saved or reloaded by TRL/vLLM"
    assert config["num_hidden_layers"] == 30 and config["vocab_size"] == 49152
    assert (path / "model.safetensors").stat().st_size > 400_000_000  # float32 weights, not the 98 MB Q4 file
    assert not list(tmp_path.glob("*.tmp-*")), "the temporary directory is renamed into place"
    stamp = (path / "config.json").stat().st_mtime_ns
    assert resolve_model(DEFAULT_MODEL) == path
    assert (path / "config.json").stat().st_mtime_ns == stamp, "a second call reuses the cache"

    teacher = build_teacher(TeacherConfig(model=DEFAULT_MODEL, temperature=0.0, max_tokens=8))
    [[completion]] = list(teacher.generate([Request("k", "What is the capital of France?")]))
    assert "Paris" in completion.text


def test_other_references_are_paths(tmp_path):
    assert resolve_model(str(tmp_path)) == tmp_path
