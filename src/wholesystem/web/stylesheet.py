"""The NHS.UK frontend stylesheet, made to ask only for what this site serves.

The design system's compiled stylesheet loads its typeface from assets.nhs.uk and its
icons from ``/assets/``. The site's Content Security Policy allows no outside source
(see docs/access.md), so the browser blocks the typeface (pages use the design system's
fallback, Arial) and logs the refusal on every page; and the site serves the icons under
``/static/nhsuk/assets/``, so those URLs are broken. ``make install`` runs this module on
the copied stylesheet: the outside ``@font-face`` rules go (as the design system's own
``$nhsuk-include-font-face: false`` leaves them out) and the icons' URLs point where they
are served.

Usage: ``python -m wholesystem.web.stylesheet CSS_FILE ASSETS_URL``.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

__all__ = ["localised", "outside_urls"]

_FONT_FACE = re.compile(r"@font-face\s*\{[^}]*\}")
_URL = re.compile(r"""url\(\s*['"]?([^'")]+)""")


def outside_urls(css: str) -> list[str]:
    """The URLs ``css`` loads from another origin (``data:`` URLs are the page's own)."""
    return [u for u in _URL.findall(css) if re.match(r"(?i)(https?:)?//", u)]


def localised(css: str, assets_url: str) -> str:
    """``css`` without the ``@font-face`` rules that load from another origin, and with
    its ``/assets/`` URLs under ``assets_url``. Raises ``ValueError`` when another outside
    URL is left (a new release of the design system would need a look)."""
    kept = _FONT_FACE.sub(lambda m: "" if outside_urls(m.group(0)) else m.group(0), css)
    kept = re.sub(r"url\((['\"]?)/assets/", rf"url(\g<1>{assets_url.rstrip('/')}/", kept)
    left = outside_urls(kept)
    if left:
        raise ValueError(f"the stylesheet still loads from outside the site: {left[:3]}")
    return kept


def main(argv: list[str]) -> int:
    """Rewrite the file in place."""
    if len(argv) != 2:
        print(__doc__.strip().splitlines()[-1], file=sys.stderr)
        return 2
    path, assets_url = Path(argv[0]), argv[1]
    path.write_text(localised(path.read_text(encoding="utf-8"), assets_url), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
