"""One Jinja environment: the shell's templates, each capability's folder, NHS.UK components."""

from __future__ import annotations

from pathlib import Path

from jinja2 import (
    ChainableUndefined,
    ChoiceLoader,
    Environment,
    FileSystemLoader,
    PackageLoader,
    PrefixLoader,
    select_autoescape,
)

from wholesystem.times import uk_stamp

__all__ = ["CAPABILITY_TEMPLATE_DIRS", "make_environment"]

_SRC = Path(__file__).resolve().parent.parent

# "footprint/tree.html" resolves to src/wholesystem/footprint/templates/tree.html.
CAPABILITY_TEMPLATE_DIRS = {
    "footprint": _SRC / "footprint" / "templates",
    "access": _SRC / "access" / "templates",
    "record": _SRC / "record" / "templates",
    "recordview": _SRC / "record" / "view" / "templates",
    "metrics": _SRC / "metrics" / "templates",
    "linkage": _SRC / "record" / "linkage" / "templates",
    "governance": _SRC / "governance" / "templates",
    "govconcerns": _SRC / "governance" / "concerns" / "templates",
    "govplan": _SRC / "governance" / "plan" / "templates",
    "govmeetings": _SRC / "governance" / "meetings" / "templates",
    "finance": _SRC / "finance" / "templates",
    "population": _SRC / "population" / "templates",
}


def make_environment() -> Environment:
    """The Jinja environment every page renders with."""
    loader = ChoiceLoader(
        [
            FileSystemLoader(str(_SRC / "web" / "templates")),
            PrefixLoader(
                {
                    name: FileSystemLoader(str(path))
                    for name, path in CAPABILITY_TEMPLATE_DIRS.items()
                }
            ),
            PackageLoader("nhsuk_frontend_jinja"),
        ]
    )
    # nhsuk-frontend-jinja needs ChainableUndefined for its optional nested params.
    env = Environment(
        loader=loader,
        undefined=ChainableUndefined,
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    # Every moment a page shows is UK time, labelled GMT or BST (see wholesystem.times).
    env.filters["uk_time"] = uk_stamp
    return env
