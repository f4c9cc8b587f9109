"""A person at a real browser: sign in, see the footprint, sign out; axe on every page type."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import axe_violations, sign_in

pytestmark = pytest.mark.browser


def test_sign_in_see_the_footprint_sign_out(page: Any) -> None:
    page.goto("/footprint")
    assert "/login" in page.url  # signed-out people are sent to sign in
    sign_in(page, "carer")
    page.goto("/")
    assert page.get_by_role("heading", level=1).inner_text() == "Testshire Integrated Care System"
    page.get_by_role("link", name="Footprint", exact=True).first.click()
    page.wait_for_url("**/footprint")
    table = page.locator("table").first
    assert "Testshire North" in table.inner_text()
    assert "24,600" in table.inner_text()
    page.select_option("#place", "PL2")
    page.get_by_role("button", name="Apply filters").click()
    page.wait_for_url("**/footprint?place=PL2*")
    assert "Seaton" in page.get_by_test_id("active-filters").inner_text()
    assert "Hill Surgery" not in page.locator("table").first.inner_text()
    assert page.get_by_test_id("data-as-at").is_visible()
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_load_state()
    page.goto("/footprint")
    assert "/login" in page.url


def test_wrong_password_says_so_without_saying_which(page: Any) -> None:
    sign_in(page, "carer", "not the password at all")
    assert "The username or password is not correct" in page.content()
    assert axe_violations(page) == []


PAGES = [
    ("/login", None),
    ("/", "carer"),
    ("/footprint", "carer"),
    ("/footprint?place=PL1&type=gp_practice", "carer"),
    ("/footprint/areas/U00001", "analyst"),
    ("/no/such/page", "carer"),
    ("/admin/users", "carer"),  # 403 page
    ("/admin/users", "admin"),
    ("/admin/audit", "admin"),
    ("/admin/break-glass?show=all", "admin"),
    ("/admin/opt-outs", "admin"),
    ("/data-quality", "admin"),
    ("/data-quality?status=rejected", "analyst"),
    ("/dashboard", "carer"),  # before a snapshot: says so
    ("/dashboard/snapshots", "analyst"),
    ("/public/dashboard", None),
    ("/linkage", "analyst"),
    ("/records", "carer"),
    ("/records?nhs_number=9434765919", "carer"),
    ("/records?family_name=Lovelace&dob-day=1&dob-month=3&dob-year=1950", "carer"),
    ("/records?family_name=&dob-day=31&dob-month=2&dob-year=1950", "carer"),  # its errors
    ("/records/WP0000000001", "carer"),  # the joined-up record (tests/record/view lake)
    ("/records/WP0000000003", "carer"),  # no relationship: the 404
    ("/population", "cllr"),  # no stratification in the live lake: the empty state
    ("/population/cohorts", "analyst"),
    ("/population/case-finding", "carer"),
    ("/population/models", "analyst"),
    ("/governance", "carer"),
    ("/governance/decisions?kind=policy", "carer"),
    ("/governance/interests", "carer"),
    ("/public/governance/decisions", None),
    ("/public/governance/interests", None),
    ("/public/governance/forward-plan", None),
    ("/governance/concerns?status=open", "carer"),
    ("/governance/concerns/new", "carer"),
    ("/governance/questions", "cllr"),
    ("/public/governance/questions", None),
    ("/public/governance/open-data", None),
    ("/governance/plan", "carer"),
    ("/governance/risks?band=high", "carer"),
    ("/public/governance/plan", None),
    ("/public/governance/risks", None),
    ("/governance/meetings?when=upcoming", "carer"),
    ("/governance/actions?view=overdue", "carer"),
    ("/public/governance/meetings", None),
    ("/public/finance", None),
    ("/finance", "fin"),
    ("/finance/submit", "fin"),
    ("/finance/transfers", "fin"),
    ("/finance/what-if", "fin"),
    ("/finance/contracts", "fin"),
    ("/finance/contracts/1", "fin"),
    ("/finance/settlements", "fin"),
    ("/finance/settlements/1", "fin"),
]


@pytest.mark.parametrize(("path", "user"), PAGES)
def test_no_serious_accessibility_violations(page: Any, path: str, user: str | None) -> None:
    if user:
        sign_in(page, user)
    page.goto(path)
    assert axe_violations(page) == []


@pytest.mark.parametrize("width", [1024, 320])
def test_the_header_gathers_what_does_not_fit_under_more(page: Any, width: int) -> None:
    """The NHS.UK components are started on every page: the header of a role with many
    sections (an administrator's) keeps within the screen, the rest under "More", at a
    laptop's width and at a phone's (WCAG 2.2 reflow, 320 CSS pixels)."""
    sign_in(page, "admin")
    page.set_viewport_size({"width": width, "height": 800})
    page.goto("/")
    page.wait_for_load_state()
    more = page.locator(".nhsuk-header__menu-toggle")
    assert more.is_visible()
    header_width = page.evaluate("document.querySelector('header').scrollWidth")
    assert header_width <= width
    more.click()
    assert page.get_by_role("link", name="Opt-outs").is_visible()
    assert axe_violations(page) == []


def test_pages_load_with_nothing_refused_or_broken(page: Any) -> None:
    """No console error on a page: nothing the CSP refuses (the design system's outside
    typeface), no failed script, no missing asset."""
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    sign_in(page, "admin")
    for path in ("/", "/data-quality", "/admin/users", "/linkage"):
        page.goto(path)
        page.wait_for_load_state("networkidle")
    assert errors == []


def test_the_joined_up_record_fits_a_phone(page: Any) -> None:
    """At 320 CSS pixels (WCAG 2.2 reflow) the record's tables stack, each value under
    its heading, and the page needs no sideways scrolling."""
    sign_in(page, "carer")
    page.set_viewport_size({"width": 320, "height": 800})
    page.goto("/records/WP0000000001")
    page.wait_for_load_state()
    assert page.evaluate("document.documentElement.scrollWidth") <= 320
    first = page.get_by_test_id("timeline").locator("tbody tr").first
    assert "Start" in first.inner_text()  # the stacked row names its values
    assert axe_violations(page) == []
