"""A subject export gives each entry as stored: its schema and hash as written, to check against the chain."""

from __future__ import annotations

import dataclasses

from motcua.adapters.bootstrap import Motcua
from motcua.adapters.render.timeline import entry_json, subject_dossiers
from motcua.workflow.dossiers.desk import Applicant
from tests.conftest import OFFICER

MARITAL = "1.004873"


def test_an_entry_written_in_an_older_schema_is_exported_in_it(motcua: Motcua) -> None:
    case = motcua.desk.receive(MARITAL, "direct", Applicant("Trần Văn An", id_number="001203004005"), OFFICER)
    entries = list(motcua.store.entries())
    older = [dataclasses.replace(entry, schema_version=2) if entry.case_code == case.code else entry
             for entry in entries]  # as a database written before schema 3 holds them
    [(found, exported)] = list(subject_dossiers(older, "001203004005"))
    assert found.code == case.code
    assert [entry_json(entry)["schema_version"] for entry in exported] == [2] * len(exported)
    assert [entry_json(entry)["hash"] for entry in exported] == [e.hash for e in older if e.case_code == case.code]
