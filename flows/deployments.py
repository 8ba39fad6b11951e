"""`distill serve`: serve the deployments declared in prefect.yaml from this process.

prefect.yaml stays the single declaration (it also works with `prefect deploy`
and a work pool); here each entry becomes `flow.to_deployment(...)` with its
cron schedules and parameters, and `prefect.serve` runs them on schedule.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from generators.seeds import InputError, read_utf8


def load_deployments(file: str | Path) -> list:
    from prefect.flows import load_flow_from_entrypoint

    path = Path(file)
    if not path.exists():
        raise InputError(path, None, "deployment file not found", "run from the project root or pass --file")
    spec = yaml.safe_load(read_utf8(path)) or {}
    deployments = []
    for entry in spec.get("deployments") or []:
        # Entrypoints are relative to prefect.yaml, not to wherever `distill serve` is run from.
        file, _, func = entry["entrypoint"].rpartition(":")
        flow = load_flow_from_entrypoint(f"{(path.parent / file).resolve()}:{func}")
        crons = [s["cron"] for s in entry.get("schedules") or [] if "cron" in s]
        deployments.append(flow.to_deployment(name=entry["name"], cron=crons[0] if crons else None,
                                              parameters=entry.get("parameters") or {},
                                              description=entry.get("description")))
    if not deployments:
        raise InputError(path, None, "no deployments declared", "add a `deployments:` list")
    return deployments


def serve_deployments(file: str | Path) -> None:
    from prefect import serve

    serve(*load_deployments(file))
