"""The joined-up care record: one person's linked-lake rows as a page, JSON and FHIR R4.

``queries`` reads the lake, ``assemble`` builds the typed record (pure),
``fhir_bundle`` maps it to a FHIR R4 Bundle (pure), ``presenters`` shapes it for the
templates, and ``routes`` serves it under information governance (docs/record.md).
"""

from wholesystem.record.view.assemble import JoinedRecord, assemble
from wholesystem.record.view.fhir_bundle import everything_bundle
from wholesystem.record.view.queries import person_context

__all__ = ["JoinedRecord", "assemble", "everything_bundle", "person_context"]
