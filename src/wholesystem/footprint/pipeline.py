"""Load a footprint file into the database: all or nothing, idempotent, audited."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from wholesystem.footprint.models import Area, Level, Organisation
from wholesystem.footprint.schema import FootprintFile

__all__ = [
    "FOOTPRINT_STEP",
    "FootprintError",
    "LoadSummary",
    "load_footprint",
    "load_footprint_file",
    "parse_footprint",
]

FOOTPRINT_STEP = "footprint"


class FootprintError(ValueError):
    """The footprint file cannot be used; the message says where and why."""


@dataclass(frozen=True)
class LoadSummary:
    system_code: str
    organisations: int
    places: int
    neighbourhoods: int
    practices: int
    population: int
    changed: bool


def parse_footprint(source: Path | str) -> FootprintFile:
    """Read and check a footprint file (a path, or its JSON text)."""
    where = str(source) if isinstance(source, Path) else "footprint"
    if isinstance(source, Path):
        try:
            raw = source.read_bytes()
        except OSError as exc:
            raise FootprintError(f"{where}: cannot read the file ({exc.strerror})") from exc
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise FootprintError(f"{where}: not UTF-8 text (byte {exc.start})") from exc
    else:
        text = source
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise FootprintError(
            f"{where}: not valid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"
        ) from exc
    try:
        return FootprintFile.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = _describe_location(data, err["loc"])
            msg = err["msg"].removeprefix("Value error, ")
            problems.append(f"{loc}: {msg}" if loc else msg)
        raise FootprintError(f"{where}: " + "; ".join(problems)) from exc


def _describe_location(data: object, loc: tuple[int | str, ...]) -> str:
    """'places[1].neighbourhoods[0].code (U10002)' rather than a bare tuple."""
    parts: list[str] = []
    node = data
    for item in loc:
        if isinstance(item, int):
            parts[-1:] = [f"{parts[-1]}[{item}]"] if parts else [f"[{item}]"]
        else:
            parts.append(str(item))
        try:
            node = node[item]  # type: ignore[index]
        except (KeyError, IndexError, TypeError):
            node = None
    text = ".".join(parts)
    if isinstance(node, dict) and "code" in node:
        text += f" ({node['code']})"
    return text


def load_footprint(session: Session, footprint: FootprintFile) -> LoadSummary:
    """Make the database match ``footprint``; entries no longer listed are deactivated.

    The caller commits, so a failure anywhere leaves the previous footprint intact.
    """
    existing_orgs = {o.code: o for o in session.scalars(select(Organisation))}
    existing_areas = {a.code: a for a in session.scalars(select(Area))}
    changed = False

    def upsert_org(code: str, name: str, type_: str, serves: list[str]) -> None:
        nonlocal changed
        org = existing_orgs.get(code)
        if org is None:
            session.add(Organisation(code=code, name=name, type=type_, serves=serves, active=True))
            changed = True
            return
        new = (name, type_, serves, True)
        if (org.name, org.type, list(org.serves or []), org.active) != new:
            org.name, org.type, org.serves, org.active = name, type_, serves, True
            changed = True

    for spec in footprint.organisations:
        upsert_org(spec.code, spec.name, spec.type.value, list(spec.serves))
    listed_orgs = {o.code for o in footprint.organisations}
    for code, org in existing_orgs.items():
        if code not in listed_orgs and org.active:
            org.active = False
            changed = True
    session.flush()

    names = {o.code: o.name for o in footprint.organisations}
    rows: list[tuple[str, str, Level, str | None, str | None, int, int]] = []
    system_pop = 0
    n_hoods = n_practices = 0
    for p_pos, place in enumerate(footprint.places):
        place_pop = 0
        place_rows = []
        for h_pos, hood in enumerate(place.neighbourhoods):
            hood_pop = sum(pr.population for pr in hood.practices)
            place_pop += hood_pop
            n_hoods += 1
            place_rows.append(
                (hood.code, hood.name, Level.neighbourhood, place.code, hood.code, hood_pop, h_pos)
            )
            for pr_pos, practice in enumerate(hood.practices):
                n_practices += 1
                place_rows.append(
                    (
                        practice.code,
                        names[practice.code],
                        Level.practice,
                        hood.code,
                        practice.code,
                        practice.population,
                        pr_pos,
                    )
                )
        system_pop += place_pop
        rows.append(
            (place.code, place.name, Level.place, footprint.system.code, None, place_pop, p_pos)
        )
        rows.extend(place_rows)
    system_org = footprint.system.code if footprint.system.code in names else None
    rows.insert(
        0,
        (
            footprint.system.code,
            footprint.system.name,
            Level.system,
            None,
            system_org,
            system_pop,
            0,
        ),
    )

    for code, name, level, parent, org_code, population, position in rows:
        area = existing_areas.get(code)
        values = (name, level.value, parent, org_code, population, position, True)
        if area is None:
            session.add(
                Area(
                    code=code,
                    name=name,
                    level=level.value,
                    parent_code=parent,
                    organisation_code=org_code,
                    population=population,
                    position=position,
                    active=True,
                )
            )
            changed = True
            session.flush()
        elif (
            area.name,
            area.level,
            area.parent_code,
            area.organisation_code,
            area.population,
            area.position,
            area.active,
        ) != values:
            (
                area.name,
                area.level,
                area.parent_code,
                area.organisation_code,
                area.population,
                area.position,
                area.active,
            ) = values
            changed = True
    listed_areas = {r[0] for r in rows}
    for code, area in existing_areas.items():
        if code not in listed_areas and area.active:
            area.active = False
            changed = True
    session.flush()
    return LoadSummary(
        system_code=footprint.system.code,
        organisations=len(footprint.organisations),
        places=len(footprint.places),
        neighbourhoods=n_hoods,
        practices=n_practices,
        population=system_pop,
        changed=changed,
    )


def load_footprint_file(factory: sessionmaker[Session], path: Path, actor: str = "system") -> str:
    """Load ``path`` as one recorded pipeline step; a change is audited. Returns a summary.

    A bad file raises :class:`FootprintError` before anything is recorded or written.
    """
    from wholesystem.access.audit import append
    from wholesystem.store.db import session_scope
    from wholesystem.store.runs import recorded_run

    footprint = parse_footprint(path)
    with recorded_run(factory, FOOTPRINT_STEP) as run, session_scope(factory) as session:
        summary = load_footprint(session, footprint)
        text = (
            f"{footprint.system.name}: {summary.places} places, {summary.neighbourhoods} "
            f"neighbourhoods, {summary.practices} practices, {summary.organisations} "
            f"organisations, population {summary.population:,}"
            + ("" if summary.changed else " (unchanged)")
        )
        if summary.changed:
            append(
                session,
                actor=actor,
                action="footprint_loaded",
                object_type="footprint",
                object_id=footprint.system.code,
                detail={"file": str(path), "summary": text},
            )
        run.summary = text
        run.details = {"file": str(path)}
    return text
