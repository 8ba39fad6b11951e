"""`distill serve` and `prefect deploy --all`: the deployments declared in prefect.yaml.

prefect.yaml stays the single declaration. `distill serve` turns each entry into `flow.to_deployment(...)`
with every schedule (cron, interval or rrule, with its `timezone`, `active`, `parameters`, `slug`) and
its parameters, and `prefect.serve` runs them from this process. `prefect deploy --all` registers the same
entries with a Prefect server instead; a worker of the entries' work pool runs them there, and
`ensure_work_pools` creates that pool (a `process` pool, what `prefect work-pool create NAME --type
process` makes), which `prefect deploy` refuses to do itself.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from generators.seeds import InputError, read_utf8

# The keys `prefect deploy` reads in a schedule entry (prefect.cli.deploy._models.RawScheduleConfig)
SCHEDULE_KEYS = {"cron", "interval", "rrule", "timezone", "anchor_date", "day_or", "active", "parameters", "slug"}


def read_entries(file: str | Path) -> tuple[Path, list[dict]]:
    """prefect.yaml's `deployments:` entries, each checked for a name and an entrypoint."""
    path = Path(file)
    if not path.exists():
        raise InputError(path, None, "deployment file not found", "run from the project root or pass --file")
    entries = (yaml.safe_load(read_utf8(path)) or {}).get("deployments") or []
    if not entries:
        raise InputError(path, None, "no deployments declared", "add a `deployments:` list")
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict) or not entry.get("name") or ":" not in str(entry.get("entrypoint", "")):
            raise InputError(path, None, f"deployment #{i + 1} needs a `name` and an `entrypoint: FILE.py:FLOW`",
                             "add both keys to that entry")
    return path, entries


def schedule(entry: dict, path: Path, deployment: str):
    """One schedule entry as `prefect deploy` reads it (a cron is read in its `timezone`), checked first."""
    from prefect.client.schemas.actions import DeploymentScheduleCreate
    from prefect.client.schemas.schedules import CronSchedule, IntervalSchedule, RRuleSchedule
    from pydantic import ValidationError

    def bad(problem: str, fix: str) -> InputError:
        return InputError(path, None, f"deployment {deployment!r}: schedule {entry!r}: {problem}", fix)

    if not isinstance(entry, dict) or set(entry) - SCHEDULE_KEYS:
        raise bad("unknown keys" if isinstance(entry, dict) else "not a mapping",
                  f"use only {', '.join(sorted(SCHEDULE_KEYS))}")
    if sum(entry.get(k) is not None for k in ("cron", "interval", "rrule")) != 1:
        raise bad("needs exactly one of cron, interval and rrule", "keep one of them in this entry")
    tz = entry.get("timezone")
    if tz is not None:
        try:
            ZoneInfo(str(tz))
        except (ZoneInfoNotFoundError, ValueError):
            raise bad("unknown timezone", "use an IANA name such as UTC or Europe/Paris") from None
    given = {k: v for k, v in entry.items() if v is not None}
    try:
        if "cron" in given:
            when = CronSchedule(**{k: given[k] for k in ("cron", "timezone", "day_or") if k in given})
        elif "interval" in given:
            interval = given["interval"]
            when = IntervalSchedule(
                interval=timedelta(seconds=interval) if isinstance(interval, (int, float)) else interval,
                **{k: given[k] for k in ("timezone",) if k in given},
                **({"anchor_date": datetime.fromisoformat(str(given["anchor_date"]))} if "anchor_date" in given
                   else {}))
        else:
            when = RRuleSchedule(**{k: given[k] for k in ("rrule", "timezone") if k in given})
        return DeploymentScheduleCreate(schedule=when, **{k: given[k] for k in ("active", "parameters", "slug")
                                                          if k in given})
    except (ValidationError, ValueError) as exc:
        detail = exc.errors()[0]["msg"] if isinstance(exc, ValidationError) else str(exc)
        raise bad(detail, "fix the schedule (a cron has 5 fields, e.g. '0 */6 * * *')") from None


def load_deployments(file: str | Path) -> list:
    from prefect.flows import load_flow_from_entrypoint

    path, entries = read_entries(file)
    deployments = []
    for entry in entries:
        # Entrypoints are relative to prefect.yaml, not to wherever `distill serve` is run from.
        source, _, func = entry["entrypoint"].rpartition(":")
        flow = load_flow_from_entrypoint(f"{(path.parent / source).resolve()}:{func}")
        schedules = [schedule(s, path, entry["name"]) for s in entry.get("schedules") or []]
        deployments.append(flow.to_deployment(name=entry["name"], schedules=schedules or None,
                                              parameters=entry.get("parameters") or {},
                                              description=entry.get("description"), tags=entry.get("tags")))
    return deployments


def work_pool_names(file: str | Path) -> list[str]:
    """The work pools prefect.yaml's deployments name, in order, each once."""
    _, entries = read_entries(file)
    return list(dict.fromkeys(e["work_pool"]["name"] for e in entries if (e.get("work_pool") or {}).get("name")))


def ensure_work_pool(name: str, pool_type: str = "process") -> bool:
    """Create the work pool on the configured Prefect API unless it exists; True when it was created."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import WorkPoolCreate
    from prefect.exceptions import ObjectAlreadyExists
    from prefect.workers.process import ProcessWorker

    template = ProcessWorker.get_default_base_job_template() if pool_type == "process" else {}
    with get_client(sync_client=True) as client:
        try:
            client.create_work_pool(WorkPoolCreate(name=name, type=pool_type, base_job_template=template))
        except ObjectAlreadyExists:
            return False
    return True


def ensure_work_pools(file: str | Path) -> list[str]:
    """Create every work pool prefect.yaml names that the API lacks (so `prefect deploy --all` works)."""
    return [name for name in work_pool_names(file) if ensure_work_pool(name)]


def serve_deployments(file: str | Path) -> None:
    from prefect import serve

    deployments = load_deployments(file)
    ensure_work_pools(file)  # `prefect deploy --all` against the same API then finds its pool
    serve(*deployments)
