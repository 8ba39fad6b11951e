"""Curation: the stage between verified generations and snapshots (see curation/curate.py)."""
