"""Footprint tables: partner organisations and the system → place → neighbourhood → practice."""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from wholesystem.store.db import Base

__all__ = ["Area", "Level", "Organisation"]


class Level(StrEnum):
    """Levels of the footprint tree, from the top."""

    system = "system"
    place = "place"
    neighbourhood = "neighbourhood"
    practice = "practice"


class Organisation(Base):
    """A partner organisation, by ODS-style code."""

    __tablename__ = "organisation"

    code: Mapped[str] = mapped_column(String(16), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    type: Mapped[str] = mapped_column(String(32), index=True)
    serves: Mapped[list[str]] = mapped_column(JSON, default=list)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Area(Base):
    """A node of the footprint tree; practices and neighbourhoods are also organisations."""

    __tablename__ = "area"

    code: Mapped[str] = mapped_column(String(16), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    level: Mapped[str] = mapped_column(String(16), index=True)
    parent_code: Mapped[str | None] = mapped_column(
        String(16), ForeignKey("area.code"), nullable=True, index=True
    )
    organisation_code: Mapped[str | None] = mapped_column(
        String(16), ForeignKey("organisation.code"), nullable=True
    )
    population: Mapped[int] = mapped_column(Integer, default=0)
    position: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
