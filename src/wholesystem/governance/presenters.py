"""Turn governance rows into what templates and CSV files show."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from markupsafe import Markup, escape

from wholesystem.governance.conflicts import InterestCategory, Management
from wholesystem.governance.interests import GiftOutcome
from wholesystem.governance.models import CrgStatus, DecisionStatus, DecisionVersion
from wholesystem.governance.queries import DecisionDetail, DecisionRow, RegisterRow
from wholesystem.governance.scheme import BodyKind, DecisionKind
from wholesystem.governance.services import MeetingCheck, from_pence
from wholesystem.times import uk_datetime

__all__ = [
    "DECISION_CSV_COLUMNS",
    "REGISTER_CSV_COLUMNS",
    "changed_fields",
    "check_conflict_items",
    "decision_csv_rows",
    "decision_record",
    "decision_summary",
    "decision_table_rows",
    "money",
    "register_csv_rows",
    "register_table_rows",
    "seat_rows",
    "version_rows",
]

DECISION_CSV_COLUMNS = (
    "reference",
    "version",
    "title",
    "kind",
    "status",
    "level",
    "place",
    "body",
    "value_gbp",
    "crg",
    "needs_ratification",
    "ratified_on",
    "decided_on",
    "planned_on",
    "effective_date",
    "review_date",
    "proposer",
)
REGISTER_CSV_COLUMNS = (
    "name",
    "organisation",
    "job_title",
    "entry",
    "category",
    "about",
    "description",
    "from",
    "to",
    "value_gbp",
    "outcome",
)


def money(pence: int) -> str:
    return f"£{from_pence(pence):,.2f}"


def _day(value: date | None) -> str:
    return value.strftime("%-d %b %Y") if value else ""


def _link(href: str, text: str) -> Markup:
    return Markup('<a href="{}">{}</a>').format(escape(href), escape(text))


def _status_tag(status: str) -> Markup:
    colour = {
        "made": "green",
        "ratified": "green",
        "rejected": "red",
        "withdrawn": "grey",
        "awaiting_crg": "yellow",
        "ready": "blue",
        "deferred": "orange",
        "proposed": "blue",
    }[status]
    return Markup('<strong class="nhsuk-tag nhsuk-tag--{}">{}</strong>').format(
        colour, DecisionStatus(status).label
    )


def decision_table_rows(rows: Sequence[DecisionRow], base: str) -> list[list[dict[str, Any]]]:
    """Rows for the NHS.UK table macro; ``base`` is the detail pages' path."""
    out: list[list[dict[str, Any]]] = []
    for r in rows:
        v = r.version
        out.append(
            [
                {"html": _link(f"{base}/{r.decision.reference}", r.decision.reference)},
                {"text": v.title},
                {"text": DecisionKind(v.kind).label},
                {
                    "text": ("Place " + (v.routed_place_code or ""))
                    if v.routed_level == "place"
                    else "System"
                },
                {"text": r.body.name if r.body else "Not set up"},
                {"text": money(v.value_pence), "format": "numeric"},
                {"html": _status_tag(v.status)},
                {"text": _day(v.decided_on)},
            ]
        )
    return out


def decision_record(row: DecisionRow) -> dict[str, object]:
    """One decision at its latest version, keyed by the CSV columns (None where empty).

    The CSV and the JSON API are both built from this, so they always hold the same rows.
    """
    v = row.version
    values: list[object] = [
        row.decision.reference,
        v.version,
        v.title,
        v.kind,
        v.status,
        v.routed_level,
        v.routed_place_code,
        row.body.code if row.body else None,
        from_pence(v.value_pence),
        v.crg_status,
        v.needs_ratification,
        v.ratified_on,
        v.decided_on,
        v.planned_on,
        v.effective_date,
        v.review_date,
        v.proposer,
    ]
    return dict(zip(DECISION_CSV_COLUMNS, values, strict=True))


def decision_csv_rows(rows: Sequence[DecisionRow]) -> list[list[object]]:
    return [["" if value is None else value for value in decision_record(r).values()] for r in rows]


def decision_summary(detail: DecisionDetail) -> list[dict[str, Any]]:
    """Summary-list rows for one decision at its latest version."""
    v = detail.row.version
    body = detail.row.body
    votes = (
        f"For {v.votes_for}, against {v.votes_against}, abstained {v.votes_abstain}"
        if v.method == "vote"
        else ("By consensus" if v.method == "consensus" else "")
    )
    pairs = [
        ("Status", _status_tag(v.status)),
        ("Kind", DecisionKind(v.kind).label),
        ("Proposer", v.proposer),
        ("Value", money(v.value_pence)),
        ("Places affected", ", ".join(v.places) or "The whole system"),
        ("Parties", ", ".join(v.parties) or "None"),
        ("Matters", ", ".join(v.matters) or "None"),
        ("Reserved matters", ", ".join(m.replace("_", " ") for m in v.reserved_matters) or "None"),
        ("Decision maker", body.name if body else "No body set up"),
        ("Why it goes there", v.routing_explanation),
        (
            "Clinical reference group",
            CrgStatus(v.crg_status).label + (f": {v.crg_note}" if v.crg_note else ""),
        ),
        ("Reasons", v.reasons or "Not recorded"),
        ("Alternatives considered", v.alternatives or "Not recorded"),
        ("Vote or consensus", votes or "Not yet decided"),
        ("Attendance and quorum", v.quorum_note or "Not yet decided"),
        ("Decided", _day(v.decided_on) or "Not yet"),
        (
            "Statutory ratification",
            (
                f"Ratified by {v.ratified_by} on {_day(v.ratified_on)}"
                if v.ratified_on
                else ("Required" if v.needs_ratification else "Not required")
            ),
        ),
        ("Effective date", _day(v.effective_date) or "Not set"),
        ("Review date", _day(v.review_date) or "Not set"),
        ("Progress", v.progress or "None recorded"),
    ]
    return [
        {"key": {"text": k}, "value": {"html": val} if isinstance(val, Markup) else {"text": val}}
        for k, val in pairs
    ]


# Fields a reader of the history cares about, in the order they are listed as changed.
_VERSION_FIELDS = {
    "title": "title",
    "kind": "kind",
    "proposer": "proposer",
    "value_pence": "value",
    "places": "places",
    "parties": "parties",
    "matters": "matters",
    "reserved_matters": "reserved matters",
    "reasons": "reasons",
    "alternatives": "alternatives",
    "routed_level": "level",
    "routed_body_id": "decision maker",
    "status": "status",
    "crg_status": "CRG",
    "method": "vote or consensus",
    "decided_on": "decided",
    "planned_on": "planned date",
    "effective_date": "effective date",
    "review_date": "review date",
    "progress": "progress",
    "ratified_on": "ratification",
}


def changed_fields(before: DecisionVersion | None, after: DecisionVersion) -> list[str]:
    """What a version changed against the one before it (everything, for the first)."""
    if before is None:
        return ["proposed"]
    return [
        label
        for key, label in _VERSION_FIELDS.items()
        if getattr(before, key) != getattr(after, key)
    ]


def version_rows(versions: Sequence[DecisionVersion]) -> list[list[dict[str, Any]]]:
    """The full history, newest first, each with what it changed."""
    rows: list[list[dict[str, Any]]] = []
    previous: DecisionVersion | None = None
    for v in versions:
        rows.append(
            [
                {"text": str(v.version), "format": "numeric"},
                {"text": uk_datetime(v.recorded_at)},
                {"text": v.recorded_by},
                {"text": DecisionStatus(v.status).label},
                {"text": money(v.value_pence), "format": "numeric"},
                {"text": ", ".join(changed_fields(previous, v)) or "nothing"},
                {"text": v.change_note},
            ]
        )
        previous = v
    return list(reversed(rows))


def conflict_rows(detail: DecisionDetail) -> list[list[dict[str, Any]]]:
    return [
        [
            {"text": person.name},
            {"text": InterestCategory(c.category).label if c.category else "Employer is a party"},
            {"text": c.reason},
            {"text": "; ".join(Management(m).label for m in c.management)},
            {"text": f"Version {c.version}"},
        ]
        for c, person in detail.conflicts
    ]


def check_conflict_items(
    check: MeetingCheck, chosen: Mapping[int, Sequence[str]] | None = None
) -> list[dict[str, Any]]:
    """Each conflicted member present, their reasons and the proposed management.

    The options are ticked as proposed, or as the chair ``chosen`` when the form comes back
    with a problem (so their choices are not lost).

    A member may be conflicted more than once (an interest and an employer that is a party);
    the chair confirms one management per member, the union of what is proposed.
    """
    order = list(Management)
    people: dict[int, dict[str, Any]] = {}
    for c in check.conflicts:
        entry = people.setdefault(
            c.person_id,
            {"person_id": c.person_id, "name": c.name, "reasons": [], "proposed": set()},
        )
        entry["reasons"].append(c.reason)
        entry["proposed"].update(c.management)
    out = []
    for entry in people.values():
        proposed = sorted(entry["proposed"], key=order.index)
        out.append(
            {
                "person_id": entry["person_id"],
                "name": entry["name"],
                "reasons": entry["reasons"],
                "proposed": "; ".join(m.label for m in proposed),
                "options": [
                    {
                        "value": m.value,
                        "text": m.label,
                        "checked": (
                            m.value in chosen[entry["person_id"]]
                            if chosen is not None and entry["person_id"] in chosen
                            else m in proposed
                        ),
                    }
                    for m in order
                    if m is not Management.no_vote  # never optional: shown as fixed text
                ],
            }
        )
    return out


def seat_rows(check: MeetingCheck) -> list[list[dict[str, Any]]]:
    """The members present and what each may do on this decision."""
    rows: list[list[dict[str, Any]]] = []
    for s in check.seats:
        if s.person_id not in check.present:
            continue
        if s.person_id in check.excluded:
            standing = Markup(
                '<strong class="nhsuk-tag nhsuk-tag--red">Excluded: conflict</strong>'
            )
        elif s.voting:
            standing = Markup('<strong class="nhsuk-tag nhsuk-tag--green">Votes</strong>')
        else:
            standing = Markup('<strong class="nhsuk-tag nhsuk-tag--grey">Non-voting</strong>')
        rows.append(
            [
                {"text": s.name},
                {"text": s.role},
                {"text": s.group.replace("_", " ")},
                {"text": s.organisation_code},
                {"html": standing},
            ]
        )
    return rows


def _about(row: RegisterRow) -> str:
    if row.interest is not None:
        i = row.interest
        parts = [i.organisation_name or i.organisation_code or "", i.matter or ""]
        return ": ".join(p for p in parts if p)
    assert row.gift is not None
    return row.gift.offered_by


def register_table_rows(rows: Sequence[RegisterRow]) -> list[list[dict[str, Any]]]:
    out: list[list[dict[str, Any]]] = []
    for r in rows:
        if r.interest is not None:
            i = r.interest
            out.append(
                [
                    {"text": r.person.name},
                    {"text": "Interest"},
                    {"text": InterestCategory(i.category).label},
                    {"text": _about(r)},
                    {"text": i.description},
                    {"text": f"{_day(i.starts)} to {_day(i.ends) or 'date'}"},
                ]
            )
        else:
            assert r.gift is not None
            g = r.gift
            out.append(
                [
                    {"text": r.person.name},
                    {"text": g.kind.capitalize()},
                    {"text": money(g.value_pence)},
                    {"text": _about(r)},
                    {"text": f"{g.description} ({GiftOutcome(g.outcome).label.lower()})"},
                    {"text": _day(g.received_on)},
                ]
            )
    return out


def register_csv_rows(rows: Sequence[RegisterRow]) -> list[list[object]]:
    out: list[list[object]] = []
    for r in rows:
        p = r.person
        if r.interest is not None:
            i = r.interest
            out.append(
                [
                    p.name,
                    p.organisation_code,
                    p.job_title,
                    "interest",
                    i.category,
                    _about(r),
                    i.description,
                    i.starts,
                    i.ends or "",
                    "",
                    "",
                ]
            )
        else:
            assert r.gift is not None
            g = r.gift
            out.append(
                [
                    p.name,
                    p.organisation_code,
                    p.job_title,
                    g.kind,
                    "",
                    _about(r),
                    g.description,
                    g.received_on,
                    "",
                    f"{from_pence(g.value_pence)}",
                    g.outcome,
                ]
            )
    return out


def body_kind_label(kind: str) -> str:
    return BodyKind(kind).label
