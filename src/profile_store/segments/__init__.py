"""Segments: a rule DSL over profiles and their events (``dsl``), compiled to parameterised SQL
(``compile``) or decided in Python for one profile (``evaluate``), with a short text form (``text``);
``fields`` is the whitelist."""

from profile_store.segments.compile import compile_rule, rule_condition
from profile_store.segments.dsl import SegmentRule, parse_rule
from profile_store.segments.evaluate import matches
from profile_store.segments.text import parse_text, to_text

__all__ = ["SegmentRule", "compile_rule", "matches", "parse_rule", "parse_text", "rule_condition", "to_text"]
