"""The footprint file contract: every malformed file gets a specific message."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from wholesystem.footprint.pipeline import FootprintError, parse_footprint


def test_small_footprint_is_valid(footprint_data: dict[str, Any]) -> None:
    fp = parse_footprint(json.dumps(footprint_data))
    assert fp.system.code == "QXX"
    assert [p.code for p in fp.places] == ["PL1", "PL2"]


def _break(data: dict[str, Any], how: str) -> None:
    orgs = data["organisations"]
    hood = data["places"][0]["neighbourhoods"][0]
    if how == "unknown_practice":
        hood["practices"].append({"code": "Z99999", "population": 10})
    elif how == "wrong_type":
        hood["practices"][0]["code"] = "RA1"
    elif how == "duplicate_org":
        orgs.append(dict(orgs[1]))
    elif how == "negative_population":
        hood["practices"][0]["population"] = -4
    elif how == "bad_code":
        orgs[1]["code"] = "ra 1"
    elif how == "unknown_type":
        orgs[1]["type"] = "hospital"
    elif how == "la_not_la":
        data["places"][0]["local_authority"] = "RA1"
    elif how == "unknown_served_place":
        orgs[2]["serves"] = ["PL9"]
    elif how == "practice_twice":
        data["places"][1]["neighbourhoods"][0]["practices"].append(
            {"code": "A00001", "population": 1}
        )
    elif how == "no_places":
        data["places"] = []
    elif how == "extra_field":
        data["system"]["colour"] = "blue"
    elif how == "wrong_format":
        data["format"] = "something-else/9"


@pytest.mark.parametrize(
    ("how", "message"),
    [
        ("unknown_practice", "practice Z99999 refers to unknown organisation code Z99999"),
        ("wrong_type", "which is a acute trust, not a gp practice"),
        ("duplicate_org", "organisation code RA1 is listed twice"),
        ("negative_population", "population"),
        ("bad_code", "organisations[1].code"),
        ("unknown_type", "organisations[1].type"),
        ("la_not_la", "place PL1 refers to RA1"),
        ("unknown_served_place", "organisation RC1 serves unknown place PL9"),
        ("practice_twice", "practice code A00001 is used twice"),
        ("no_places", "places"),
        ("extra_field", "system.colour"),
        ("wrong_format", "unsupported format 'something-else/9'"),
    ],
)
def test_malformed_footprint_is_rejected_with_a_specific_message(
    footprint_data: dict[str, Any], how: str, message: str
) -> None:
    _break(footprint_data, how)
    with pytest.raises(FootprintError) as caught:
        parse_footprint(json.dumps(footprint_data))
    assert message in str(caught.value)


def test_not_json_names_line_and_column(tmp_path: Path) -> None:
    bad = tmp_path / "fp.json"
    bad.write_text('{"system": {\n  "code": }')
    with pytest.raises(FootprintError, match=r"not valid JSON at line 2, column 11"):
        parse_footprint(bad)


def test_not_utf8(tmp_path: Path) -> None:
    bad = tmp_path / "fp.json"
    bad.write_bytes(b'{"system": "\xff"}')
    with pytest.raises(FootprintError, match="not UTF-8"):
        parse_footprint(bad)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(FootprintError, match="cannot read the file"):
        parse_footprint(tmp_path / "absent.json")
