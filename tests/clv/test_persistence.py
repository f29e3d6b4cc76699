"""Tampered model documents: every one raises InvalidDataError naming the JSON path."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from customer_value.clv import BetaGeoModel, GammaGammaModel
from customer_value.errors import InvalidDataError

FHL = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}


@pytest.fixture(scope="module")
def document(cdnow_summary: Any) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(BetaGeoModel().fit(cdnow_summary).to_json())
    return doc


def _edit(change: Callable[[dict[str, Any]], None]) -> Callable[[dict[str, Any]], str]:
    def build(doc: dict[str, Any]) -> str:
        copy = json.loads(json.dumps(doc))
        change(copy)
        return json.dumps(copy)

    return build


def _set(key: str, value: Any) -> Callable[[dict[str, Any]], str]:
    return _edit(lambda d: d.__setitem__(key, value))


def _raw(text: str) -> Callable[[dict[str, Any]], str]:
    return lambda doc: text


# Issue 17, bug 6: each of these raised KeyError/TypeError/RecursionError or was accepted.
TAMPERED: list[tuple[str, Callable[[dict[str, Any]], Any], str]] = [
    ("missing params", _edit(lambda d: d.pop("params")), r"\$\.params is missing"),
    ("params not an object", _set("params", [1, 2, 3, 4]), r"\$\.params must be an object"),
    ("missing parameter", _edit(lambda d: d["params"].pop("b")), r"\$\.params\.b is missing"),
    ("unknown parameter", _edit(lambda d: d["params"].update(c=1.0)), r"\$\.params\.c is not"),
    ("unknown key", _set("comment", "hi"), r"\$\.comment is not a known key"),
    (
        "parameter r=true",
        _edit(lambda d: d["params"].update(r=True)),
        r"\$\.params\.r must be a number, got a boolean",
    ),
    (
        "parameter as string",
        _edit(lambda d: d["params"].update(r="0.2")),
        r"\$\.params\.r must be a number",
    ),
    (
        "negative parameter",
        _edit(lambda d: d["params"].update(a=-1.0)),
        r"\$\.params\.a must be > 0",
    ),
    (
        "ragged covariance",
        _edit(lambda d: d["covariance"][1].pop()),
        r"\$\.covariance\[1\] must have 4 values",
    ),
    ("covariance rows", _edit(lambda d: d["covariance"].pop()), r"\$\.covariance must have 4 rows"),
    (
        "negative variance",
        _edit(lambda d: d["covariance"][2].__setitem__(2, -0.1)),
        r"\$\.covariance\[2\]\[2\] is a variance and must be >= 0",
    ),
    (
        "covariance cell string",
        _edit(lambda d: d["covariance"][0].__setitem__(1, "x")),
        r"\$\.covariance\[0\]\[1\] must be a number",
    ),
    ("n as string", _set("n", "abc"), r"\$\.n must be a number"),
    ("negative n", _set("n", -5), r"\$\.n must be >= 1"),
    ("fractional n", _set("n", 2.7), r"\$\.n must be a whole number"),
    (
        "log-likelihood NaN",
        lambda doc: json.dumps(doc)[:-1] + ', "log_likelihood": NaN}',
        r"NaN is not JSON",
    ),
    (
        "log-likelihood string",
        _set("log_likelihood", "-9582"),
        r"\$\.log_likelihood must be a number",
    ),
    ("time unit number", _set("time_unit", 123), r"\$\.time_unit must be a time unit name"),
    (
        "time unit fortnight",
        _set("time_unit", "fortnight"),
        r"\$\.time_unit 'fortnight' is not a time unit",
    ),
    (
        "class not a string",
        _set("class", ["BetaGeoModel"]),
        r"\$\.class must be a non-empty string",
    ),
    (
        "unknown config",
        _set("config", {"penalizer": 0.1}),
        r"\$\.config\.penalizer is not a known key",
    ),
    ("config not object", _set("config", [1]), r"\$\.config must be an object"),
    ("duplicate key", lambda doc: json.dumps(doc)[:-1] + ', "n": 7}', r"duplicate key 'n'"),
    ("UTF-16", lambda doc: json.dumps(doc).encode("utf-16"), r"not UTF-8"),
    (
        "UTF-16 text",
        lambda doc: json.dumps(doc).encode("utf-16-le").decode("latin-1"),
        r"not UTF-8|not valid JSON",
    ),
    (
        "Latin-1 bytes",
        lambda doc: json.dumps(doc).replace("W", "\u00e9").encode("latin-1"),
        r"not UTF-8 text \(byte \d+",
    ),
    (
        "deep nesting",
        _raw('{"format": "customer_value.clv/1", "params": ' + "[" * 100_000 + "]" * 100_000 + "}"),
        r"nested deeper than 64",
    ),
    ("top level array", _raw("[1, 2]"), r"\$ must be an object"),
    ("not text", lambda doc: 42, r"expected JSON text"),
]


@pytest.mark.parametrize(("case", "build", "match"), TAMPERED, ids=[t[0] for t in TAMPERED])
def test_tampered_documents_are_refused_naming_the_path(
    case: str, build: Callable[[dict[str, Any]], Any], match: str, document: dict[str, Any]
) -> None:
    with pytest.raises(InvalidDataError, match=match):
        BetaGeoModel.from_json(build(document))


def test_the_untampered_document_and_utf8_bytes_load(document: dict[str, Any]) -> None:
    text = json.dumps(document)
    assert BetaGeoModel.from_json(text).params_.tolist() == list(document["params"].values())
    assert repr(BetaGeoModel.from_json(text.encode("utf-8"))) == repr(BetaGeoModel.from_json(text))
    # a byte-order mark is tolerated; a whole-number float n is a count
    assert BetaGeoModel.from_json(b"\xef\xbb\xbf" + text.encode()).n_ == 2357
    assert BetaGeoModel.from_json(_set("n", 2357.0)(document)).n_ == 2357


def test_load_reads_bytes_and_refuses_utf16_files(tmp_path: Path) -> None:
    model = GammaGammaModel.from_params(p=6.25, q=3.74, v=15.44)
    path = tmp_path / "gg.json"
    path.write_text(model.to_json(), encoding="utf-16")
    with pytest.raises(InvalidDataError, match="not UTF-8"):
        GammaGammaModel.load(path)
    model.save(path)
    assert GammaGammaModel.load(path).params_.tolist() == [6.25, 3.74, 15.44]
    built = BetaGeoModel.from_params(time_unit="W", **FHL)
    assert BetaGeoModel.from_json(built.to_json()).time_unit_ == "W"
