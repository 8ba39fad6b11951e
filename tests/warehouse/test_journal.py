"""The answer journal: rows survive a process that dies before its batch insert, and are stored once."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from warehouse.ids import now
from warehouse.journal import Journal, journal_dir, recover


def _row(i: int) -> dict:
    return {"generation_id": f"g{i}", "prompt_id": "p", "teacher_id": "t", "sample_index": i, "raw": f"r{i}",
            "finish_reason": "stop", "run_id": "dead", "created_at": now()}


def test_a_dead_process_journal_is_replayed_once(wh, tmp_path):
    script = textwrap.dedent(f"""
        import os, sys
        sys.path.insert(0, {str(__import__('pathlib').Path(__file__).resolve().parents[2])!r})
        from warehouse.db import Warehouse
        from warehouse.ids import now
        from warehouse.journal import Journal
        j = Journal(Warehouse({wh.path!r}), "dead-run")
        j.append("generations", [dict(generation_id=f"g{{i}}", prompt_id="p", teacher_id="t", sample_index=i,
                                      raw=f"r{{i}}", finish_reason="stop", run_id="dead", created_at=now())
                                 for i in range(3)])
        os._exit(9)  # no close, no insert: as if killed
    """)
    subprocess.run([sys.executable, "-c", script], check=False)
    wh.insert("generations", [_row(0)])  # one of them had been committed before the death
    assert recover(wh) == {"generations": 2}
    assert wh.scalar("SELECT count(*) FROM generations") == 3
    assert not list(journal_dir(wh).glob("*.jsonl")), "a replayed journal is deleted"
    assert recover(wh) == {}


def test_a_live_journal_is_left_alone_and_an_empty_one_disappears(wh):
    with Journal(wh, "live") as j:
        j.append("generations", [_row(1)])
        assert recover(wh) == {}, "locked by a live run"
        j.clear()
    assert not (journal_dir(wh) / "live.jsonl").exists()


def test_appends_are_fsynced_in_groups_and_a_sealed_segment_survives_until_discarded(wh, monkeypatch):
    import warehouse.journal as journal

    synced = []
    monkeypatch.setattr(journal.os, "fsync", lambda fd: synced.append(fd))
    with Journal(wh, "grouped", sync_every_s=3600, sync_every_n=3) as j:
        for i in range(7):
            j.append("generations", [_row(i)])
        assert len(synced) == 2, "after rows 3 and 6, not after every row"
        sealed = j.seal()
        assert len(synced) == 3, "sealing syncs the rest"
        assert recover(wh) == {}, "a sealed segment is still locked by its live writer"
        j.append("generations", [_row(7)])
        Journal.discard(sealed)
        assert not sealed.path.exists()
    assert recover(wh) == {"generations": 1}, "only the row after the seal is left for the next run"
