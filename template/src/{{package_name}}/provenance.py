"""What a run was made by: the template version the project was rendered from and a digest
of each of the package's modules, recorded in run.json so that a resume says what changed.

A resume on changed code is allowed (a fix to a comment, a log line or custom/reading.py must
not strand a long run), but never silent: the batches of the epochs to come may differ from
those of the epochs done.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from .settings import TEMPLATE_VERSION

PACKAGE = Path(__file__).parent


def provenance() -> dict[str, Any]:
    """The template version and a short digest of every module of the package, by its path
    under the package."""
    code = {
        path.relative_to(PACKAGE).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()[:12]
        for path in sorted(PACKAGE.rglob("*.py"))
    }
    return {"template": TEMPLATE_VERSION, "code": code}


def provenance_changes(started: dict[str, Any], now: dict[str, Any]) -> str | None:
    """What changed between the provenance a run started with and `now`'s, in words; None
    if nothing did, or the run recorded none (runs started before 0.13.0)."""
    changes = []
    if "template" in started and started["template"] != now["template"]:
        changes.append(f"the template went from {started['template']} to {now['template']}")
    before, after = started.get("code"), now["code"]
    if isinstance(before, dict):
        changed = sorted(
            name for name in before.keys() | after.keys() if before.get(name) != after.get(name)
        )
        if changed:
            more = f" (and {len(changed) - 1} more)" if len(changed) > 1 else ""
            changes.append(f"{PACKAGE.name}/{changed[0]}{more} changed")
    return " and ".join(changes) or None
