"""The break-glass review and opt-out pages, through the real app."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.access.conftest import Clock, MakeUser
from tests.access.helpers import TestClient, page_csrf, sign_in
from wholesystem.access.break_glass import start_break_glass
from wholesystem.access.models import AuditEvent, BreakGlassGrant
from wholesystem.access.opt_outs import opted_out_nhs_numbers, record_opt_out
from wholesystem.access.permissions import Role
from wholesystem.store.db import session_scope

PERSON = "WP0000000042"
REASON = "Collapsed in clinic; need allergies and current medicines now"
VALID = "9434765919"


def _grant(factory: sessionmaker[Session], make_user: MakeUser, clock: Clock) -> int:
    carer = make_user("edoc", Role.care_team_member, "RA1")
    with session_scope(factory) as s:
        return start_break_glass(s, carer, PERSON, REASON, now=clock.now - timedelta(hours=2)).id


def _actions(factory: sessionmaker[Session]) -> list[tuple[str, str, str]]:
    with factory() as s:
        return [
            (a, b, c)
            for a, b, c in s.execute(
                select(AuditEvent.actor, AuditEvent.action, AuditEvent.object_type).order_by(
                    AuditEvent.seq
                )
            )
        ]


def test_a_reviewer_lists_reviews_and_downloads_grants(
    app: FastAPI,
    app_client: TestClient,
    factory: sessionmaker[Session],
    make_user: MakeUser,
    clock: Clock,
) -> None:
    grant_id = _grant(factory, make_user, clock)
    make_user("privacy", Role.governance_lead, "QXX")
    sign_in(app_client, "privacy")

    page = app_client.get("/admin/break-glass")
    assert page.status_code == 200
    assert "1 grant awaits review" in page.text
    assert REASON.replace("'", "&#39;") in page.text
    assert PERSON in page.text
    assert "Expired" in page.text
    assert 'href="/admin/break-glass"' in page.text  # the nav entry
    assert "Data as at" in page.text or "data as at" in page.text.lower()

    detail = app_client.get(f"/admin/break-glass/{grant_id}")
    assert detail.status_code == 200
    assert 'name="outcome"' in detail.text

    token = page_csrf(app_client)
    missing = app_client.post(
        f"/admin/break-glass/{grant_id}/review",
        data={"csrf_token": token, "note": "checked"},
        follow_redirects=False,
    )
    assert missing.status_code == 400
    assert "Choose whether the access was appropriate or inappropriate" in missing.text
    assert "checked" in missing.text  # the note is kept

    done = app_client.post(
        f"/admin/break-glass/{grant_id}/review",
        data={"csrf_token": token, "outcome": "appropriate", "note": "ED attendance confirmed"},
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert done.headers["location"] == f"/admin/break-glass?reviewed={grant_id}"
    after = app_client.get(done.headers["location"])
    assert f"Your review of grant {grant_id} has been recorded" in after.text
    assert "0 grants await review" in after.text
    assert "No grants match" in after.text

    everything = app_client.get("/admin/break-glass?show=all&user=EDOC")
    assert "Appropriate (privacy)" in everything.text
    assert app_client.get("/admin/break-glass?show=all&user=nobody").text.count("No grants match")

    again = app_client.post(
        f"/admin/break-glass/{grant_id}/review",
        data={"csrf_token": token, "outcome": "inappropriate"},
        follow_redirects=False,
    )
    assert again.status_code == 400
    assert "already been reviewed" in again.text

    download = app_client.get("/admin/break-glass.csv?show=all")
    assert download.status_code == 200
    rows = list(csv.DictReader(io.StringIO(download.text)))
    assert [(r["grant_id"], r["username"], r["review_outcome"]) for r in rows] == [
        (str(grant_id), "edoc", "appropriate")
    ]
    assert rows[0]["reason"] == REASON
    with factory() as s:
        grant = s.get(BreakGlassGrant, grant_id)
        assert grant is not None
        assert grant.review_note == "ED attendance confirmed"
    actions = _actions(factory)
    assert ("privacy", "break_glass.review", "break_glass_grant") in actions
    assert ("privacy", "export", "break_glass_list") in actions
    assert ("privacy", "view", "break_glass_list") in actions


def test_unknown_grants_are_404(app_client: TestClient, make_user: MakeUser) -> None:
    make_user("privacy", Role.governance_lead, "QXX")
    sign_in(app_client, "privacy")
    assert app_client.get("/admin/break-glass/999").status_code == 404
    token = page_csrf(app_client)
    response = app_client.post(
        "/admin/break-glass/999/review",
        data={"csrf_token": token, "outcome": "appropriate"},
        follow_redirects=False,
    )
    assert response.status_code == 404


def test_other_roles_cannot_see_the_review_or_opt_out_pages(
    app_client: TestClient, make_user: MakeUser
) -> None:
    make_user("carer", Role.care_team_member, "A00001")
    sign_in(app_client, "carer")
    for path in ("/admin/break-glass", "/admin/break-glass.csv", "/admin/opt-outs"):
        assert app_client.get(path).status_code == 403, path
    page = app_client.get("/")
    assert "/admin/break-glass" not in page.text
    assert "/admin/opt-outs" not in page.text


def test_an_administrator_records_lists_and_withdraws_opt_outs(
    app_client: TestClient, factory: sessionmaker[Session], make_user: MakeUser
) -> None:
    with session_scope(factory) as s:
        record_opt_out(s, "9990000026", actor="system", source="national list")
    make_user("admin", Role.system_admin, "QXX")
    sign_in(app_client, "admin")
    page = app_client.get("/admin/opt-outs")
    assert page.status_code == 200
    assert "999 000 0026" in page.text
    assert "1 current opt-out." in page.text

    token = page_csrf(app_client)
    bad = app_client.post(
        "/admin/opt-outs",
        data={"csrf_token": token, "nhs_number": "9434765918", "source": "letter"},
        follow_redirects=False,
    )
    assert bad.status_code == 400
    assert "fails the modulus-11 check digit" in bad.text
    assert 'value="9434765918"' in bad.text
    no_source = app_client.post(
        "/admin/opt-outs",
        data={"csrf_token": token, "nhs_number": VALID, "source": ""},
        follow_redirects=False,
    )
    assert no_source.status_code == 400
    assert "Say where the opt-out came from" in no_source.text

    added = app_client.post(
        "/admin/opt-outs",
        data={"csrf_token": token, "nhs_number": "943 476 5919", "source": "patient letter"},
        follow_redirects=False,
    )
    assert added.status_code == 303
    assert "The opt-out has been recorded" in app_client.get(added.headers["location"]).text
    with factory() as s:
        assert opted_out_nhs_numbers(s) == frozenset({VALID, "9990000026"})

    withdrawn = app_client.post(
        "/admin/opt-outs/withdraw",
        data={"csrf_token": token, "nhs_number": VALID},
        follow_redirects=False,
    )
    assert withdrawn.status_code == 303
    not_there = app_client.post(
        "/admin/opt-outs/withdraw",
        data={"csrf_token": token, "nhs_number": VALID},
        follow_redirects=False,
    )
    assert not_there.status_code == 400
    assert "no current opt-out to withdraw" in not_there.text

    assert "1 current opt-out." in app_client.get("/admin/opt-outs").text
    found = app_client.get("/admin/opt-outs?show=all&nhs_number=943+476+5919")
    assert "Withdrawn" in found.text
    assert "999 000 0026" not in found.text

    download = app_client.get("/admin/opt-outs.csv?show=all")
    rows = list(csv.DictReader(io.StringIO(download.text)))
    assert sorted((r["nhs_number"], r["withdrawn_by"]) for r in rows) == [
        ("9434765919", "admin"),
        ("9990000026", ""),
    ]
    actions = _actions(factory)
    assert ("admin", "opt_out.record", "nhs_number") in actions
    assert ("admin", "opt_out.withdraw", "nhs_number") in actions
    assert ("admin", "export", "opt_out_list") in actions


def test_forms_without_the_csrf_token_change_nothing(
    app_client: TestClient, factory: sessionmaker[Session], make_user: MakeUser, clock: Clock
) -> None:
    grant_id = _grant(factory, make_user, clock)
    make_user("admin", Role.system_admin, "QXX")
    sign_in(app_client, "admin")
    assert (
        app_client.post(
            "/admin/opt-outs", data={"nhs_number": VALID, "source": "x"}, follow_redirects=False
        ).status_code
        == 403
    )
    assert (
        app_client.post(
            f"/admin/break-glass/{grant_id}/review",
            data={"outcome": "appropriate"},
            follow_redirects=False,
        ).status_code
        == 403
    )
    with factory() as s:
        assert opted_out_nhs_numbers(s) == frozenset()
        grant = s.get(BreakGlassGrant, grant_id)
        assert grant is not None
        assert grant.reviewed_at is None
