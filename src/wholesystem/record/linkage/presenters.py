"""Shape the linkage figures for the page and its CSVs, withholding identity values.

Lists naming identity values (NHS numbers, names, dates of birth, sex, postcodes, local
patient ids) are identifiable: only those who manage data quality see the values;
everyone else sees record ids, pseudonymised person ids and counts, and
:data:`WITHHELD` where a value would be.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from wholesystem.record.linkage.report import (
    ChangeCounts,
    Duplicate,
    DuplicatesBySource,
    MatchRate,
    MemberRecord,
    PairExplanation,
    SharedNhsNumber,
    Summary,
)
from wholesystem.record.presenters import WITHHELD, partner_label
from wholesystem.times import uk_stamp

__all__ = [
    "COMPARISON_LABELS",
    "DUPLICATES_BY_SOURCE_CSV_COLUMNS",
    "DUPLICATES_CSV_COLUMNS",
    "MATCH_RATE_CSV_COLUMNS",
    "METHOD_CSV_COLUMNS",
    "SHARED_NHS_CSV_COLUMNS",
    "SIZE_CSV_COLUMNS",
    "SUMMARY_CSV_COLUMNS",
    "DuplicatesBySourceRow",
    "Page",
    "duplicate_rows",
    "duplicates_by_source_csv_rows",
    "duplicates_by_source_rows",
    "duplicates_csv_rows",
    "identity_text",
    "match_rate_csv_rows",
    "match_rate_rows",
    "method_csv_rows",
    "method_rows",
    "paging",
    "pair_href",
    "pair_view",
    "share",
    "shared_nhs_csv_rows",
    "shared_nhs_rows",
    "size_csv_rows",
    "size_rows",
    "summary_csv_rows",
    "summary_items",
]

_IDENTITY_FIELDS = (
    "local_patient_id",
    "nhs_number",
    "given_name",
    "family_name",
    "date_of_birth",
    "sex",
    "postcode",
)

COMPARISON_LABELS = {
    "given": "Given name",
    "family": "Family name",
    "dob": "Date of birth",
    "sex": "Sex",
    "postcode": "Postcode",
    "address": "Address",
    "nhs": "NHS number",
}
"""Plain names of the model's comparisons (the keys of the evidence's weights)."""


def share(part: int, whole: int) -> str:
    """``part`` of ``whole`` as a percentage with one decimal ("-" when ``whole`` is 0)."""
    return f"{100 * part / whole:.1f}%" if whole else "-"


def _n(value: int) -> str:
    return f"{value:,}"


def pair_href(a: str, b: str) -> str:
    """The "why linked" page of two records."""
    return "/linkage/pairs?" + urlencode({"a": a, "b": b})


def _text(value: Any) -> str:
    if value is None:
        return ""
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def _value(value: Any, identifiable: bool) -> str:
    if not identifiable:
        return WITHHELD if value not in (None, "") else ""
    return _text(value)


def identity_text(rec: MemberRecord, identifiable: bool) -> str:
    """Name, date of birth, sex, postcode and NHS number on one line, or withheld."""
    if not identifiable:
        return WITHHELD
    parts = [
        " ".join(p for p in (rec.given_name, rec.family_name) if p) or "(no name)",
        f"born {_text(rec.date_of_birth) or '?'}",
        f"sex {rec.sex or '?'}",
        rec.postcode or "(no postcode)",
        f"NHS {rec.nhs_number}" if rec.nhs_number else "(no NHS number)",
        f"local id {rec.local_patient_id}",
    ]
    return ", ".join(parts)


# --- summary ---------------------------------------------------------------------------


def summary_items(
    s: Summary, changes: ChangeCounts | None, last_run: datetime | None
) -> list[tuple[str, str]]:
    """The summary as (label, value) pairs, for a summary list and its CSV."""
    items = [
        ("Source records", _n(s.source_records)),
        ("Records in the person index", _n(s.indexed_records)),
        ("Records not yet linked (ingested since the last run)", _n(s.not_indexed)),
        ("Persons", _n(s.persons)),
        ("Records per person (mean)", f"{s.records_per_person:.2f}"),
        ("Most records for one person", _n(s.largest_person)),
        (
            "Last linkage run",
            uk_stamp(last_run, "%-d %B %Y %H:%M") if last_run else "not recorded",
        ),
    ]
    if changes is not None:
        items += [
            ("Merges in the last run", _n(changes.merges)),
            ("Splits in the last run", _n(changes.splits)),
            ("Records moved by them", _n(changes.records_moved)),
        ]
    return items


SUMMARY_CSV_COLUMNS = ("measure", "value")


def summary_csv_rows(items: Sequence[tuple[str, str]]) -> list[list[object]]:
    """Summary pairs as CSV rows (numbers without thousands separators)."""
    return [[label, value.replace(",", "")] for label, value in items]


@dataclass(frozen=True)
class _ShareRow:
    label: str
    persons: str
    persons_share: str
    records: str
    records_share: str


def method_rows(s: Summary) -> list[_ShareRow]:
    """Persons and records by how they were linked, with shares."""
    return [
        _ShareRow(
            m.label,
            _n(m.persons),
            share(m.persons, s.persons),
            _n(m.records),
            share(m.records, s.indexed_records),
        )
        for m in s.methods
    ]


METHOD_CSV_COLUMNS = ("method", "label", "persons", "records")


def method_csv_rows(s: Summary) -> list[list[object]]:
    return [[m.key, m.label, m.persons, m.records] for m in s.methods]


def size_rows(s: Summary) -> list[_ShareRow]:
    """The records-per-person distribution, with shares."""
    return [
        _ShareRow(
            b.label,
            _n(b.persons),
            share(b.persons, s.persons),
            _n(b.records),
            share(b.records, s.indexed_records),
        )
        for b in s.sizes
    ]


SIZE_CSV_COLUMNS = ("records_per_person", "persons", "records")


def size_csv_rows(s: Summary) -> list[list[object]]:
    return [[b.label, b.persons, b.records] for b in s.sizes]


# --- match rates ----------------------------------------------------------------------


@dataclass(frozen=True)
class MatchRateRow:
    source: str
    dataset: str
    total: bool
    records: str
    indexed: str
    gp_elsewhere: str
    other_source: str
    nhs_missing: str
    nhs_invalid: str
    without_nhs_share: str
    href: str


def match_rate_rows(rates: Sequence[MatchRate], names: Mapping[str, str]) -> list[MatchRateRow]:
    """Match rates with shares of the records in the index; totals marked; each source
    by the name the footprint gives it (``names``)."""
    rows = []
    for r in rates:
        query = {k: v for k, v in (("source", r.source), ("dataset", r.dataset)) if v}
        rows.append(
            MatchRateRow(
                source=partner_label(r.source, names) if r.source else "All sources",
                dataset=r.dataset or "All datasets",
                total=r.dataset is None,
                records=_n(r.records),
                indexed=_n(r.indexed),
                gp_elsewhere=share(r.gp_elsewhere, r.indexed),
                other_source=share(r.other_source, r.indexed),
                nhs_missing=_n(r.nhs_missing),
                nhs_invalid=_n(r.nhs_invalid),
                without_nhs_share=share(r.without_nhs, r.records),
                href="/linkage?" + urlencode(query) if query else "/linkage",
            )
        )
    return rows


MATCH_RATE_CSV_COLUMNS = (
    "source",
    "dataset",
    "records",
    "records_indexed",
    "with_gp_registration_elsewhere",
    "with_gp_registration_elsewhere_pct",
    "in_another_source",
    "in_another_source_pct",
    "nhs_number_missing",
    "nhs_number_invalid",
    "without_valid_nhs_number_pct",
)


def _pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:.2f}" if whole else ""


def match_rate_csv_rows(rates: Sequence[MatchRate]) -> list[list[object]]:
    """Match rates as CSV rows; blank source or dataset marks a total."""
    return [
        [
            r.source or "",
            r.dataset or "",
            r.records,
            r.indexed,
            r.gp_elsewhere,
            _pct(r.gp_elsewhere, r.indexed),
            r.other_source,
            _pct(r.other_source, r.indexed),
            r.nhs_missing,
            r.nhs_invalid,
            _pct(r.without_nhs, r.records),
        ]
        for r in rates
    ]


# --- lists ------------------------------------------------------------------------------


@dataclass(frozen=True)
class MemberRow:
    record_id: str
    source: str
    dataset: str
    person_id: str
    identity: str
    pair_href: str | None


def _member_rows(
    members: Sequence[MemberRecord],
    identifiable: bool,
    anchor: str | None,
    names: Mapping[str, str],
) -> list[MemberRow]:
    return [
        MemberRow(
            m.record_id,
            partner_label(m.source, names),
            m.dataset,
            m.person_id or "",
            identity_text(m, identifiable),
            pair_href(anchor, m.record_id) if anchor and anchor != m.record_id else None,
        )
        for m in members
    ]


@dataclass(frozen=True)
class SharedNhsRow:
    nhs_number: str
    records: str
    persons: tuple[str, ...]
    sources: str
    status: str
    pair_href: str
    members: list[MemberRow]


def shared_nhs_rows(
    items: Sequence[SharedNhsNumber], identifiable: bool, names: Mapping[str, str]
) -> list[SharedNhsRow]:
    """Shared NHS numbers for the list; the number itself only when ``identifiable``."""
    rows = []
    for item in items:
        if item.split:
            status = "In different persons" + (
                " (contradiction rule)" if item.contradicted else " (not contradicted)"
            )
        else:
            status = "Contradicted, joined into one person by the model"
        rows.append(
            SharedNhsRow(
                nhs_number=item.nhs_number if identifiable else WITHHELD,
                records=_n(item.records),
                persons=item.persons,
                sources=", ".join(partner_label(s, names) for s in item.sources),
                status=status,
                pair_href=pair_href(*item.pair),
                members=_member_rows(item.members, identifiable, item.pair[0], names),
            )
        )
    return rows


SHARED_NHS_CSV_COLUMNS = (
    "nhs_number",
    "persons",
    "contradicted",
    "record_id",
    "source",
    "dataset",
    "person_id",
    *_IDENTITY_FIELDS[:1],
    *_IDENTITY_FIELDS[2:],
)


def _identity_cells(m: MemberRecord, identifiable: bool) -> list[object]:
    return [_value(getattr(m, f), identifiable) for f in _IDENTITY_FIELDS if f != "nhs_number"]


def shared_nhs_csv_rows(items: Sequence[SharedNhsNumber], identifiable: bool) -> list[list[object]]:
    """One CSV row per record on a shared number; identity values withheld unless allowed."""
    return [
        [
            item.nhs_number if identifiable else WITHHELD,
            len(item.persons),
            "yes" if item.contradicted else "no",
            m.record_id,
            m.source,
            m.dataset,
            m.person_id or "",
            *_identity_cells(m, identifiable),
        ]
        for item in items
        for m in item.members
    ]


@dataclass(frozen=True)
class DuplicateRow:
    source: str
    person_id: str
    local_ids: str
    pair_href: str
    members: list[MemberRow]


def duplicate_rows(
    items: Sequence[Duplicate], identifiable: bool, names: Mapping[str, str]
) -> list[DuplicateRow]:
    """Within-source duplicates for the list."""
    return [
        DuplicateRow(
            partner_label(d.source, names),
            d.person_id,
            _n(d.local_ids),
            pair_href(*d.pair),
            _member_rows(d.members, identifiable, d.pair[0], names),
        )
        for d in items
    ]


DUPLICATES_CSV_COLUMNS = (
    "source",
    "person_id",
    "local_ids",
    "record_id",
    "dataset",
    "nhs_number",
    *_IDENTITY_FIELDS[:1],
    *_IDENTITY_FIELDS[2:],
)


def duplicates_csv_rows(items: Sequence[Duplicate], identifiable: bool) -> list[list[object]]:
    """One CSV row per record of a duplicated person at the source."""
    return [
        [
            d.source,
            d.person_id,
            d.local_ids,
            m.record_id,
            m.dataset,
            _value(m.nhs_number, identifiable),
            *_identity_cells(m, identifiable),
        ]
        for d in items
        for m in d.members
    ]


@dataclass(frozen=True)
class DuplicatesBySourceRow:
    source: str  # the code, for the link
    partner: str  # as shown
    persons: int
    extra_ids: int


def duplicates_by_source_rows(
    rows: Sequence[DuplicatesBySource], names: Mapping[str, str]
) -> list[DuplicatesBySourceRow]:
    """Within-source duplicates per source, each source by its footprint name."""
    return [
        DuplicatesBySourceRow(r.source, partner_label(r.source, names), r.persons, r.extra_ids)
        for r in rows
    ]


DUPLICATES_BY_SOURCE_CSV_COLUMNS = ("source", "persons_with_several_local_ids", "extra_local_ids")


def duplicates_by_source_csv_rows(rows: Sequence[DuplicatesBySource]) -> list[list[object]]:
    return [[r.source, r.persons, r.extra_ids] for r in rows]


# --- paging -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Page:
    number: int
    pages: int
    total: int
    first: int
    last: int
    previous_href: str | None
    next_href: str | None


def paging(path: str, page: int, size: int, total: int, **filters: str | None) -> Page:
    """Page ``page`` (from 1) of ``total`` items, with links that keep the filters."""
    pages = max(1, -(-total // size))
    kept = {k: v for k, v in filters.items() if v}

    def href(n: int) -> str:
        return f"{path}?{urlencode({**kept, 'page': n})}"

    first = (page - 1) * size + 1 if total else 0
    return Page(
        number=page,
        pages=pages,
        total=total,
        first=min(first, total),
        last=min(page * size, total),
        previous_href=href(page - 1) if page > 1 else None,
        next_href=href(page + 1) if page < pages else None,
    )


# --- why linked -------------------------------------------------------------------------


_KIND_TEXT = {
    "identical": "Identical after standardisation (spacing, case, punctuation)",
    "nhs": "Same valid NHS number, and the demographics do not contradict it",
    "model": "The probabilistic model scored the pair at or above the threshold",
    "not compared": "No direct link between these two records was kept",
}


@dataclass(frozen=True)
class PairRecordView:
    record_id: str
    source: str
    dataset: str
    person_id: str
    fields: list[tuple[str, str]]


@dataclass(frozen=True)
class PairView:
    a: PairRecordView
    b: PairRecordView
    same_person: bool
    verdict: str
    kind_text: str
    rule: str | None
    match_weight: str | None
    match_probability: str | None
    weights: list[tuple[str, str, str]]
    path: list[dict[str, str]]
    shared_nhs_number: bool
    contradiction: list[tuple[str, str]]
    contradicts: bool | None


_FIELD_LABELS = {
    "local_patient_id": "Local patient id",
    "nhs_number": "NHS number",
    "given_name": "Given name",
    "family_name": "Family name",
    "date_of_birth": "Date of birth",
    "sex": "Sex",
    "postcode": "Postcode",
}


def _record_view(rec: MemberRecord, identifiable: bool, names: Mapping[str, str]) -> PairRecordView:
    return PairRecordView(
        rec.record_id,
        partner_label(rec.source, names),
        rec.dataset,
        rec.person_id or "",
        [(_FIELD_LABELS[f], _value(getattr(rec, f), identifiable)) for f in _IDENTITY_FIELDS],
    )


def _weight(value: float | None) -> str | None:
    return None if value is None else f"{value:+.2f}"


def _probability(value: float | None) -> str | None:
    return None if value is None else f"{value:.6f}"


def pair_view(e: PairExplanation, identifiable: bool, names: Mapping[str, str]) -> PairView:
    """The explanation of a pair for the page."""
    if e.same_person:
        verdict = f"One person: both records are {e.a.person_id}."
    else:
        verdict = f"Two persons: {e.a.person_id} and {e.b.person_id}."
    contradiction: list[tuple[str, str]] = []
    if e.contradiction is not None:
        c = e.contradiction
        contradiction = [
            ("Given names disagree", "yes" if c.given_names else "no"),
            ("Dates of birth disagree", "yes" if c.dates_of_birth else "no"),
            ("Sex and family names both disagree", "yes" if c.sex_and_family_names else "no"),
        ]
    return PairView(
        a=_record_view(e.a, identifiable, names),
        b=_record_view(e.b, identifiable, names),
        same_person=e.same_person,
        verdict=verdict,
        kind_text=_KIND_TEXT.get(e.kind, e.kind),
        rule=e.rule,
        match_weight=_weight(e.match_weight),
        match_probability=_probability(e.match_probability),
        weights=[
            (COMPARISON_LABELS.get(name, name), f"{w:+.2f}", "for" if w > 0 else "against")
            if w
            else (COMPARISON_LABELS.get(name, name), f"{w:+.2f}", "neutral")
            for name, w in e.weights
        ],
        path=[
            {
                "record_id_l": p.record_id_l,
                "record_id_r": p.record_id_r,
                "kind": p.kind,
                "match_weight": _weight(p.match_weight) or "",
                "match_probability": _probability(p.match_probability) or "",
                "href": pair_href(p.record_id_l, p.record_id_r),
            }
            for p in e.path
        ],
        shared_nhs_number=e.shared_nhs_number,
        contradiction=contradiction,
        contradicts=e.contradiction.any if e.contradiction is not None else None,
    )
