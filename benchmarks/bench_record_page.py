"""Benchmark the joined-up record page through the real app, against a bare DuckDB point read.

Usage::

    .venv/bin/python benchmarks/bench_record_page.py --people 1000000      # build a lake
    .venv/bin/python benchmarks/bench_record_page.py --lake /tmp/l/lake    # an existing lake
    .venv/bin/python benchmarks/bench_record_page.py --people 1000000 --keep /tmp/lake1m

``--lake DIR`` takes any linked lake (``benchmarks/bench_linked.py --keep D`` leaves one in
``D/lake``). Without it a lake of ``--people`` people is generated straight into the linked
tables' contract schema with DuckDB (about 20 events, 3 conditions, 4 observations, 3
medications, 0 or 1 allergy and care package, 2 source records per person), sorted by
person_id in row groups of 32,768 rows as the builder writes them; ``--keep DIR`` keeps it.

Then, in one process:

* **page**: ``GET /records/{person_id}`` through the real app (FastAPI TestClient, so the
  access middleware, session lookup, ``decide_access``, the nine lake reads, assembly,
  the template and the audit append and commit all run) for ``--requests`` random people
  by a signed-in care-team member who has a relationship with each (a caseload row;
  practice and PCN bases are checked first, as always);
* **reference**: a bare DuckDB point query (``SELECT * FROM read_parquet(event) WHERE
  person_id = ?``, one persistent connection with the Parquet metadata cache on) for the
  same people on the same lake: one table, where the page reads nine;
* **search by details**: ``GET /records?family_name=…&dob-…`` for the same people (their
  family name and date of birth from ``person``), through the real app: the scan of
  ``person`` and ``source_record`` for the name and date, every match's access decision,
  the page and the audit; against a bare DuckDB query for the same name and date on
  ``person`` alone, without the name's normalising.

Prints p50/p95 of each and the ratios. Target: page p95 <= 100 ms on a 1M-person lake (the
search has none of its own).
"""

# SQL here is this script's own, over a quoted temporary path.
# ruff: noqa: S608

from __future__ import annotations

import argparse
import json
import random
import shutil
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from urllib.parse import urlencode

import duckdb

ROW_GROUP = 32_768
PRACTICES = ("A00001", "A00002", "A00003")
FOOTPRINT = {
    "format": "wholesystem-footprint/1",
    "system": {"code": "QXX", "name": "Benchshire Integrated Care System"},
    "organisations": [
        {"code": "QXX", "name": "NHS Benchshire ICB", "type": "icb"},
        {"code": "RA1", "name": "Benchshire Hospitals", "type": "acute_trust"},
        {"code": "RC1", "name": "Benchshire Community", "type": "community_trust"},
        {"code": "E06000901", "name": "Benchshire Council", "type": "local_authority"},
        {"code": "U00001", "name": "North PCN", "type": "pcn"},
        {"code": "U00002", "name": "Harbour PCN", "type": "pcn"},
        {"code": "A00001", "name": "Hill Surgery", "type": "gp_practice"},
        {"code": "A00002", "name": "Mill Practice", "type": "gp_practice"},
        {"code": "A00003", "name": "Quay Medical Centre", "type": "gp_practice"},
    ],
    "places": [
        {
            "code": "PL1",
            "name": "Benchshire",
            "local_authority": "E06000901",
            "neighbourhoods": [
                {
                    "code": "U00001",
                    "name": "North PCN",
                    "practices": [
                        {"code": "A00001", "population": 8000},
                        {"code": "A00002", "population": 7500},
                    ],
                },
                {
                    "code": "U00002",
                    "name": "Harbour PCN",
                    "practices": [{"code": "A00003", "population": 9100}],
                },
            ],
        }
    ],
}


def _pid(expr: str) -> str:
    return f"'WP' || lpad(CAST({expr} AS VARCHAR), 10, '0')"


def _letters(expr: str) -> str:
    """``expr`` (under 17,576) as three capital letters: names hold no digits."""
    return " || ".join(f"chr(65 + CAST(({expr}) // {26**k} AS INTEGER) % 26)" for k in (2, 1, 0))


def _h(expr: str, salt: int) -> str:
    """A deterministic pseudo-random non-negative integer from ``expr``."""
    return f"(hash({expr} * 7919 + {salt}) % 1000000007)"


def build_lake(root: Path, people: int) -> None:
    """Write the nine linked tables for ``people`` people (the contract's columns and types)."""
    root.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    con.execute("SET preserve_insertion_order = true")
    n = people
    settings = "['gp','ae','inpatient','outpatient','community','mental_health','social_care']"
    queries = {
        "person": f"""
            SELECT {_pid("i")} AS person_id,
                   '9' || lpad(CAST(i AS VARCHAR), 9, '0') AS nhs_number,
                   'Given' || {_letters("i % 997")} AS given_name,
                   'Family' || {_letters("i % 1499")} AS family_name,
                   DATE '1930-01-01' + CAST({_h("i", 1)} % 30000 AS INTEGER) AS date_of_birth,
                   CASE WHEN i % 2 = 0 THEN 'F' ELSE 'M' END AS sex,
                   'TS' || CAST(i % 30 AS VARCHAR) || ' 1AA' AS postcode,
                   ['A00001','A00002','A00003'][1 + i % 3] AS practice_code,
                   DATE '2000-01-01' + CAST({_h("i", 2)} % 8000 AS INTEGER) AS registration_date,
                   'A' AS ethnicity, CAST(NULL AS DATE) AS date_of_death,
                   CAST(2 AS INTEGER) AS record_count,
                   [['A00001','A00002','A00003'][1 + i % 3], 'RA1'] AS sources
            FROM range(1, {n} + 1) t(i)""",
        "source_record": f"""
            SELECT 'sr' || CAST(i AS VARCHAR) || '-' || CAST(k AS VARCHAR) AS record_id,
                   {_pid("i")} AS person_id,
                   CASE WHEN k = 0 THEN ['A00001','A00002','A00003'][1 + i % 3] ELSE 'RA1' END
                     AS source,
                   CASE WHEN k = 0 THEN 'gp_patients' ELSE 'apc' END AS dataset,
                   'L' || CAST(i AS VARCHAR) AS local_patient_id,
                   '9' || lpad(CAST(i AS VARCHAR), 9, '0') AS nhs_number,
                   'Given' || {_letters("i % 997")} AS given_name,
                   'Family' || {_letters("i % 1499")} AS family_name,
                   DATE '1930-01-01' + CAST({_h("i", 1)} % 30000 + k AS INTEGER)
                     AS date_of_birth,
                   'F' AS sex, 'TS1 1AA' AS postcode
            FROM range(1, {n} + 1) t(i), range(0, 2) s(k)""",
        "registration": f"""
            SELECT {_pid("i")} AS person_id, 'sr' || CAST(i AS VARCHAR) || '-0' AS record_id,
                   ['A00001','A00002','A00003'][1 + i % 3] AS practice_code,
                   DATE '2000-01-01' + CAST({_h("i", 2)} % 8000 AS INTEGER) AS registration_date,
                   CAST(NULL AS DATE) AS deregistration_date
            FROM range(1, {n} + 1) t(i)""",
        "event": f"""
            SELECT 'ev' || CAST(i AS VARCHAR) || '-' || CAST(k AS VARCHAR) AS event_id,
                   {_pid("i")} AS person_id, 'sr' || CAST(i AS VARCHAR) || '-1' AS record_id,
                   CASE WHEN k % 7 = 0 THEN 'A00001' WHEN k % 7 = 6 THEN 'E06000901'
                        WHEN k % 7 = 4 THEN 'RC1' ELSE 'RA1' END AS source,
                   'apc' AS dataset, {settings}[1 + k % 7] AS setting,
                   TIMESTAMPTZ '2015-01-01 00:00:00+00'
                     + to_minutes(CAST({_h("i * 100 + k", 3)} % 5000000 AS BIGINT))
                     AS start_time,
                   TIMESTAMPTZ '2015-01-01 00:00:00+00'
                     + to_minutes(CAST({_h("i * 100 + k", 3)} % 5000000 + 60 AS BIGINT))
                     AS end_time,
                   CAST(NULL AS DATE) AS start_date, CAST(NULL AS DATE) AS end_date,
                   'J18.9' AS code, 'icd10' AS code_system, 'Pneumonia' AS display,
                   ['J18.9', 'I10'] AS codes, k % 5 = 0 AS emergency,
                   '21' AS admission_method, 'home' AS discharge_destination,
                   '3' AS acuity, true AS attended, false AS first_attendance,
                   false AS inpatient, false AS out_of_area, '300' AS service_type,
                   'face to face' AS contact_type, CAST(123.45 AS DECIMAL(18,2)) AS cost
            FROM range(1, {n} + 1) t(i), range(0, 20) s(k)""",
        "condition": f"""
            SELECT {_pid("i")} AS person_id, 'sr' || CAST(i AS VARCHAR) || '-0' AS record_id,
                   'A00001' AS source, 'gp_events' AS dataset,
                   ['38341003','44054006','195967001'][1 + k] AS code, 'snomed' AS code_system,
                   ['Hypertension','Diabetes type 2','Asthma'][1 + k] AS display,
                   DATE '2005-01-01' + CAST({_h("i * 10 + k", 4)} % 6000 AS INTEGER)
                     AS onset_date
            FROM range(1, {n} + 1) t(i), range(0, 3) s(k)""",
        "observation": f"""
            SELECT {_pid("i")} AS person_id, 'sr' || CAST(i AS VARCHAR) || '-0' AS record_id,
                   'A00001' AS source, 'gp_events' AS dataset,
                   ['271649006','60621009'][1 + k % 2] AS code, 'snomed' AS code_system,
                   ['Systolic blood pressure','Body mass index'][1 + k % 2] AS display,
                   CAST(100 + k * 7 AS DECIMAL(18,6)) AS value, 'mm[Hg]' AS unit,
                   DATE '2015-01-01' + CAST({_h("i * 10 + k", 5)} % 3000 AS INTEGER)
                     AS observed_date
            FROM range(1, {n} + 1) t(i), range(0, 4) s(k)""",
        "medication": f"""
            SELECT {_pid("i")} AS person_id, 'sr' || CAST(i AS VARCHAR) || '-0' AS record_id,
                   'A00001' AS source, 'gp_events' AS dataset,
                   '318858000' AS code, 'snomed' AS code_system,
                   'Ramipril 5mg capsules' AS display,
                   DATE '2015-01-01' + CAST({_h("i * 10 + k", 6)} % 3000 AS INTEGER) AS date
            FROM range(1, {n} + 1) t(i), range(0, 3) s(k)""",
        "allergy": f"""
            SELECT {_pid("i")} AS person_id, 'sr' || CAST(i AS VARCHAR) || '-0' AS record_id,
                   'A00001' AS source, 'gp_fhir' AS dataset, '91936005' AS code,
                   'snomed' AS code_system, 'Allergy to penicillin' AS display,
                   DATE '2010-01-01' AS recorded_date, 'active' AS clinical_status
            FROM range(1, {n} + 1) t(i) WHERE i % 4 = 0""",
        "care_package": f"""
            SELECT {_pid("i")} AS person_id, 'sr' || CAST(i AS VARCHAR) || '-1' AS record_id,
                   'E06000901' AS source, 'home care' AS service_type,
                   DATE '2023-01-01' AS request_date, DATE '2023-02-01' AS start_date,
                   CAST(NULL AS DATE) AS end_date, CAST(312.40 AS DECIMAL(18,2)) AS weekly_cost
            FROM range(1, {n} + 1) t(i) WHERE i % 6 = 0""",
    }
    for name, sql in queries.items():
        target = str(root / f"{name}.parquet").replace("'", "''")
        con.execute(
            f"COPY ({sql} ORDER BY person_id) TO '{target}' "
            f"(FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE {ROW_GROUP})"
        )
    con.close()


def _percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return statistics.median(ordered), p95


def bare_point_reads(lake_dir: Path, people: list[str]) -> list[float]:
    """Milliseconds for one bare DuckDB read of a person's events, per person."""
    con = duckdb.connect()
    # DuckDB at its best for repeated point reads: footers cached between queries.
    con.execute("SET parquet_metadata_cache = true")
    path = str(lake_dir / "event.parquet")
    con.execute("SELECT count(*) FROM read_parquet(?) WHERE person_id = ?", [path, people[0]])
    times = []
    for pid in people:
        started = time.perf_counter()
        con.execute("SELECT * FROM read_parquet(?) WHERE person_id = ?", [path, pid]).fetchall()
        times.append((time.perf_counter() - started) * 1000)
    con.close()
    return times


def bare_searches(lake_dir: Path, details: list[tuple[str, date]]) -> list[float]:
    """Milliseconds for one bare DuckDB query of ``person`` by family name and birth date."""
    con = duckdb.connect()
    con.execute("SET parquet_metadata_cache = true")
    path = str(lake_dir / "person.parquet")
    sql = "SELECT person_id FROM read_parquet(?) WHERE date_of_birth = ? AND family_name = ?"
    times = []
    for family, born in details:
        started = time.perf_counter()
        con.execute(sql, [path, born, family]).fetchall()
        times.append((time.perf_counter() - started) * 1000)
    con.close()
    return times


def _search_url(family: str, born: date) -> str:
    query = urlencode(
        {
            "family_name": family,
            "dob-day": born.day,
            "dob-month": born.month,
            "dob-year": born.year,
        }
    )
    return f"/records?{query}"


def page_requests(
    lake_dir: Path,
    work: Path,
    people: list[str],
    warm: list[str],
    details: list[tuple[str, date]],
) -> tuple[list[float], list[float]]:
    """Milliseconds for ``GET /records/{id}`` through the real app, per person; then for
    the search by each person's ``details``."""
    from argon2 import PasswordHasher
    from fastapi.testclient import TestClient

    from wholesystem.access import passwords
    from wholesystem.access.relationships import add_care_relationship
    from wholesystem.access.users import create_user
    from wholesystem.config import Settings
    from wholesystem.footprint.pipeline import load_footprint_file
    from wholesystem.store.db import (
        make_engine,
        make_session_factory,
        session_scope,
        upgrade,
        utcnow,
    )
    from wholesystem.web.app import create_app

    # Sign-in cost is not what is measured.
    passwords._HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    passwords._DUMMY_HASH = None
    settings = Settings(
        mode="test",
        data_dir=work,
        lake_dir=lake_dir,
        database_url=f"sqlite:///{work / 'bench-record.db'}",
        secret_key="record-page-benchmark-secret-0123456789abcdef",  # noqa: S106
    )
    upgrade(settings.resolved_database_url)
    engine = make_engine(settings.resolved_database_url)
    factory = make_session_factory(engine)
    footprint = work / "footprint.json"
    footprint.write_text(json.dumps(FOOTPRINT))
    load_footprint_file(factory, footprint)
    password = "benchmark password that is long enough 42"  # noqa: S105
    started = utcnow()
    with session_scope(factory) as s:
        create_user(
            s,
            username="bench",
            display_name="Bench Carer",
            role="care_team_member",
            organisation_code="RA1",
            password=password,
            actor="bench",
        )
        for pid in sorted(set(people) | set(warm)):
            add_care_relationship(
                s,
                person_id=pid,
                organisation_code="RA1",
                kind="caseload",
                actor="bench",
                started_at=started,
            )
    engine.dispose()
    app = create_app(settings)
    times: list[float] = []
    with TestClient(app, base_url="https://testserver") as client:
        login = client.get("/login").text
        token = login.split('name="csrf_token" value="')[1].split('"')[0]
        response = client.post(
            "/login",
            data={"username": "bench", "password": password, "csrf_token": token},
            follow_redirects=False,
        )
        assert response.status_code == 303, response.text
        for i, pid in enumerate(warm + people):
            t0 = time.perf_counter()
            response = client.get(f"/records/{pid}")
            elapsed = (time.perf_counter() - t0) * 1000
            if response.status_code != 200:
                raise SystemExit(f"GET /records/{pid} answered {response.status_code}")
            if i >= len(warm):
                times.append(elapsed)
        searches: list[float] = []
        for pid, (family, born) in zip(people, details, strict=True):
            t0 = time.perf_counter()
            response = client.get(_search_url(family, born))
            elapsed = (time.perf_counter() - t0) * 1000
            if response.status_code != 200 or f'href="/records/{pid}"' not in response.text:
                raise SystemExit(f"the search for {pid} by details did not find them")
            searches.append(elapsed)
    app.state.engine.dispose()
    return times, searches


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lake", type=Path, help="an existing linked lake directory")
    parser.add_argument("--people", type=int, default=1_000_000, help="people to generate")
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--keep", type=Path, help="keep the generated lake here (reused)")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)

    scratch = Path(tempfile.mkdtemp(prefix="bench-record-"))
    try:
        if args.lake:
            lake_dir = args.lake
        else:
            lake_dir = (args.keep or scratch) / "lake"
            if not (lake_dir / "event.parquet").exists():
                t0 = time.perf_counter()
                build_lake(lake_dir, args.people)
                print(f"built a {args.people:,}-person lake in {time.perf_counter() - t0:.1f} s")
        con = duckdb.connect()
        person_path = str(lake_dir / "person.parquet")
        total = con.execute("SELECT count(*) FROM read_parquet(?)", [person_path]).fetchone()
        events = con.execute(
            "SELECT count(*) FROM read_parquet(?)", [str(lake_dir / "event.parquet")]
        ).fetchone()
        ids = [
            r[0]
            for r in con.execute(
                "SELECT person_id FROM read_parquet(?) "
                f"USING SAMPLE reservoir({int(args.requests + args.warmup)} ROWS) "
                f"REPEATABLE ({int(args.seed)})",
                [person_path],
            ).fetchall()
        ]
        con.close()
        random.Random(args.seed).shuffle(ids)
        people = ids[: args.requests]
        warm = ids[args.requests :]
        print(f"lake {lake_dir}: {total[0] if total else 0:,} people, "
              f"{events[0] if events else 0:,} events")  # fmt: skip
        con = duckdb.connect()
        found = dict(
            (r[0], (r[1], r[2]))
            for r in con.execute(
                "SELECT person_id, family_name, date_of_birth FROM read_parquet(?) "
                "WHERE list_contains(?, person_id)",
                [person_path, people],
            ).fetchall()
        )
        con.close()
        details = [found[pid] for pid in people]
        bare = bare_point_reads(lake_dir, people)
        page, search = page_requests(lake_dir, scratch, people, warm, details)
        bare_search = bare_searches(lake_dir, details)
        b50, b95 = _percentiles(bare)
        p50, p95 = _percentiles(page)
        s50, s95 = _percentiles(search)
        r50, r95 = _percentiles(bare_search)
        print(f"record page   ({len(page)} requests): p50 {p50:7.1f} ms   p95 {p95:7.1f} ms")
        print(f"bare DuckDB   ({len(bare)} point reads): p50 {b50:7.1f} ms   p95 {b95:7.1f} ms")
        print(f"ratio page/bare: p50 {p50 / b50:.1f}x   p95 {p95 / b95:.1f}x")
        print(f"search by name and date of birth ({len(search)}): "
              f"p50 {s50:7.1f} ms   p95 {s95:7.1f} ms")  # fmt: skip
        print(f"bare DuckDB query of person by name and date ({len(bare_search)}): "
              f"p50 {r50:7.1f} ms   p95 {r95:7.1f} ms")  # fmt: skip
        print(f"ratio search/bare: p50 {s50 / r50:.1f}x   p95 {s95 / r95:.1f}x")
        verdict = "meets" if p95 <= 100 else "MISSES"
        print(f"target p95 <= 100 ms: {verdict} ({p95:.1f} ms)")
        return 0
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
