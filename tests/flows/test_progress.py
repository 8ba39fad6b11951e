"""Off a terminal: plain periodic lines from our stages, and no library tqdm bars (one frame per redraw)."""

import os

from flows.progress import QUIET_ENV, progress_bar, quiet_library_bars


def test_off_a_terminal_the_library_bars_are_turned_off(monkeypatch):
    from transformers.utils import logging as hf_logging

    for name in QUIET_ENV:
        monkeypatch.delenv(name, raising=False)
    # as on a terminal (importing flows.progress under pytest already turned them off); restored after the test
    monkeypatch.setattr(hf_logging, "_tqdm_active", True)
    assert quiet_library_bars(is_terminal=False) is True
    assert not hf_logging.is_progress_bar_enabled(), "transformers' 'Loading weights' bar"
    assert all(os.environ[name] == "1" for name in QUIET_ENV)

def test_on_a_terminal_nothing_changes(monkeypatch):
    for name in QUIET_ENV:
        monkeypatch.delenv(name, raising=False)
    assert quiet_library_bars(is_terminal=True) is False
    assert not any(name in os.environ for name in QUIET_ENV)


def test_a_user_setting_wins(monkeypatch):
    monkeypatch.setenv("HF_HUB_DISABLE_PROGRESS_BARS", "0")
    quiet_library_bars(is_terminal=False)
    assert os.environ["HF_HUB_DISABLE_PROGRESS_BARS"] == "0"


def test_a_flow_process_off_a_terminal_draws_no_tqdm_frames():
    """tqdm reads TQDM_* once, at import: the flows import flows.progress before anything imports tqdm."""
    import subprocess
    import sys

    from tests.conftest import ROOT

    code = ("import io, flows.factory\nfrom transformers import Trainer\nfrom tqdm.auto import tqdm\n"
            "out = io.StringIO()\nfor _ in tqdm(range(9), file=out): pass\nprint(repr(out.getvalue()))")
    env = {k: v for k, v in os.environ.items() if k not in QUIET_ENV}
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "''"


def test_off_a_terminal_progress_is_periodic_plain_lines(capsys):
    with progress_bar("answer", total=4, every_s=3600) as advance:
        for _ in range(4):
            advance(1, tokens=10)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1, "nothing between periods: only the final line"
    assert lines[0].startswith("answer: 4/4 (100%)") and "/s" in lines[0] and "\r" not in lines[0]
