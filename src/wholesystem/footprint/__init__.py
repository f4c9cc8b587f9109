"""The footprint: system → place → neighbourhood → practice, partner organisations, populations."""

from wholesystem.footprint.models import Area, Level, Organisation
from wholesystem.footprint.pipeline import (
    FootprintError,
    LoadSummary,
    load_footprint,
    parse_footprint,
)
from wholesystem.footprint.queries import (
    AreaNode,
    OrgRow,
    footprint_tree,
    list_organisations,
    organisation_codes_by_type,
    organisation_names,
)
from wholesystem.footprint.schema import FOOTPRINT_FORMAT, FootprintFile, OrgType

__all__ = [
    "FOOTPRINT_FORMAT",
    "Area",
    "AreaNode",
    "FootprintError",
    "FootprintFile",
    "Level",
    "LoadSummary",
    "OrgRow",
    "OrgType",
    "Organisation",
    "footprint_tree",
    "list_organisations",
    "load_footprint",
    "organisation_codes_by_type",
    "organisation_names",
    "parse_footprint",
]
