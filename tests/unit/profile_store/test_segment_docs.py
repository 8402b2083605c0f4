"""The ten examples of docs/segments.md: each JSON rule and its text form are the same rule, and select the
same customers of the shared cases in SQL (SQLite) as in Python."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from segment_cases import EVENTS, NOW, PROFILES, payloads_of, python_members, store
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from profile_store.database import make_engine
from profile_store.segments import compile_rule, parse_rule, parse_text
from profile_store.tables import ProfileBase

DOC = (Path(__file__).resolve().parents[3] / "docs" / "segments.md").read_text()
EXAMPLES = list(zip(re.findall(r"```json\n(.*?)```", DOC, re.S), re.findall(r"```segment\n(.*?)```", DOC, re.S),
                    strict=True))
SELECTS = [{"ann"}, {"ann"}, {"bo", "cy"}, {"cy"}, {"ann"}, {"ann"}, {"dee"}, set(), {"ann"}, {"ann"}]


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('docs')}/docs.db")
    ProfileBase.metadata.create_all(engine)
    with Session(engine) as session, session.begin():
        store(session, PROFILES, EVENTS)
    yield engine
    engine.dispose()


def test_the_doc_has_ten_examples_in_both_forms() -> None:
    assert len(EXAMPLES) == len(SELECTS) == 10


@pytest.mark.parametrize(("number", "example", "expected"),
                         [(n, e, s) for n, (e, s) in enumerate(zip(EXAMPLES, SELECTS, strict=True), 1)])
def test_an_example_is_one_rule_in_both_forms_selecting_the_same_customers(
    engine: Engine, number: int, example: tuple[str, str], expected: set[str]
) -> None:
    rule = parse_rule(json.loads(example[0]))
    assert parse_text(example[1]) == rule, f"example {number}"
    with Session(engine) as session:
        assert set(session.scalars(compile_rule(rule, now=NOW, dialect="sqlite"))) == expected
    assert python_members(PROFILES, payloads_of(PROFILES, EVENTS), rule) == expected
