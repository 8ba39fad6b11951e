"""The one library deprecation training silences (training/methods/sft.py), and only that one."""

import warnings

import pytest


def _lora_model(tiny_model):
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    base = AutoModelForCausalLM.from_pretrained(tiny_model)
    return get_peft_model(base, LoraConfig(r=2, lora_alpha=4, target_modules="all-linear", task_type="CAUSAL_LM"))


def _messages(caught) -> list[str]:
    return [str(w.message) for w in caught if "is_gradient_checkpointing" in str(w.message)]


def test_peft_reads_the_deprecated_property_so_the_warning_is_library_internal(tiny_model):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _lora_model(tiny_model)
    assert _messages(caught), "peft still reads is_gradient_checkpointing: if not, drop the filter in sft.py"


def test_the_filter_silences_that_message_only(tiny_model):
    from training.methods.sft import quiet_library_warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        quiet_library_warnings()
        _lora_model(tiny_model)
        with pytest.warns(FutureWarning, match="another deprecation"):
            warnings.warn("another deprecation", FutureWarning)
    assert _messages(caught) == []
