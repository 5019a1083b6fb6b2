"""The report's status parser against the committed vectors (tests/vectors/status_text.json),
the same table the C++ value type is tested with."""

import json
import pathlib

import pytest

from modebench_report import status

VECTORS = json.loads((pathlib.Path(__file__).resolve().parents[2] / "tests" / "vectors" / "status_text.json").read_text())


def test_statuses_in_severity_order_and_classes():
    assert list(status.STATUSES) == VECTORS["statuses"]
    assert [s for s, _ in sorted(status.SEVERITY.items(), key=lambda kv: kv[1])] == VECTORS["statuses"]
    assert list(status.FAILED_CLASSES) == VECTORS["error_classes"]


@pytest.mark.parametrize("vector", VECTORS["valid"], ids=lambda v: v["text"][:40])
def test_valid_texts_parse_to_their_fields_and_format_back(vector):
    parsed = status.parse(vector["text"])
    assert parsed == status.StatusText(vector["status"], vector["error_class"], vector["detail"])
    assert parsed.format() == vector["text"]


@pytest.mark.parametrize("vector", VECTORS["valid"], ids=lambda v: v["text"][:40])
def test_valid_error_messages_give_their_status(vector):
    expected = ("failed", "other") if vector["status"] == "ok" else (vector["status"], vector["error_class"])
    assert status.parse_status(vector["text"]) == expected


@pytest.mark.parametrize("text", VECTORS["invalid"])
def test_invalid_texts_are_refused_and_read_as_failed_other(text):
    assert status.parse(text) is None
    assert status.parse_status(text) == ("failed", "other")


def test_every_status_and_class_has_a_valid_vector():
    seen = {v["status"] for v in VECTORS["valid"]}
    classes = {v["error_class"] for v in VECTORS["valid"] if v["status"] == "failed"}
    assert seen == set(VECTORS["statuses"]) and classes == set(VECTORS["error_classes"])
