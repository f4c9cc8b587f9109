"""The NHS.UK stylesheet as served: it asks for nothing the site's CSP refuses."""

from __future__ import annotations

import re

import pytest

from wholesystem.web.app import STATIC_DIR
from wholesystem.web.stylesheet import localised, outside_urls

FONT = (
    "@font-face{font-family:Frutiger W01;font-weight:400;"
    'src:url(https://assets.nhs.uk/fonts/F.woff2) format("woff2")}'
)


@pytest.mark.parametrize(
    ("css", "expected"),
    [
        (FONT + "body{color:red}", "body{color:red}"),
        # a typeface the site serves itself stays
        (
            "@font-face{font-family:X;src:url(/static/x.woff2)}",
            "@font-face{font-family:X;src:url(/static/x.woff2)}",
        ),
        (".a{background:url(/assets/images/i.svg)}", ".a{background:url(/s/a/images/i.svg)}"),
        (".a{mask:url('/assets/i.svg')}", ".a{mask:url('/s/a/i.svg')}"),
        ('.a{mask:url("/assets/i.svg")}', '.a{mask:url("/s/a/i.svg")}'),
        # the page's own data, and paths that only look alike, are left as they are
        (
            '.a{background:url("data:image/svg+xml,<svg xmlns=\\"http://www.w3.org/2000/svg\\"/>")}',
            '.a{background:url("data:image/svg+xml,<svg xmlns=\\"http://www.w3.org/2000/svg\\"/>")}',
        ),
        (".a{background:url(/static/assets/i.svg)}", ".a{background:url(/static/assets/i.svg)}"),
    ],
)
def test_localised(css: str, expected: str) -> None:
    assert localised(css, "/s/a/") == expected


@pytest.mark.parametrize(
    "css",
    [
        ".a{background:url(https://cdn.example.org/i.svg)}",
        ".a{background:url('//cdn.example.org/i.svg')}",
        "@import url(http://example.org/x.css);",
    ],
)
def test_any_other_outside_url_is_refused(css: str) -> None:
    with pytest.raises(ValueError, match="loads from outside the site"):
        localised(css, "/s/a")


def test_the_installed_stylesheet_loads_only_what_the_site_serves() -> None:
    """``make install`` localised it: no outside URL, and every icon it names is there."""
    css = (STATIC_DIR / "nhsuk" / "nhsuk-frontend.min.css").read_text(encoding="utf-8")
    assert outside_urls(css) == []
    local = sorted(set(re.findall(r"url\(['\"]?(/static/[^'\")]+)", css)))
    assert local, "the design system's icons are referenced"
    missing = [u for u in local if not (STATIC_DIR / u.removeprefix("/static/")).is_file()]
    assert missing == []
    assert "url(/assets/" not in css
