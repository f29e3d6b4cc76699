"""Versioned JSON persistence of the maximum-likelihood models (private)."""

from __future__ import annotations

import inspect
import json
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from customer_value._json import (
    check_keys,
    expect_list,
    expect_number,
    expect_object,
    expect_string,
    loads_strict,
)
from customer_value._validation import FloatArray
from customer_value._version import __version__
from customer_value.clv._core import ModelCore
from customer_value.clv._units import check_time_unit
from customer_value.errors import InvalidDataError

__all__ = ["JSON_FORMAT", "Persistence"]

PersistenceT = TypeVar("PersistenceT", bound="Persistence")

JSON_FORMAT = "customer_value.clv/1"
"""Identifier written into every saved model; bumped when the layout changes."""


class Persistence(ModelCore):
    """``to_json``/``from_json``/``save``/``load`` (private)."""

    # ------------------------------------------------------------------ persistence
    def to_json(self) -> str:
        """Serialise the model (class, library version, time unit, parameters, covariance,
        log-likelihood, n) to a JSON string. Training data is not stored.

        Returns
        -------
        str
            A JSON document readable by :meth:`from_json`.

        Raises
        ------
        NotFittedError
            Before ``fit`` or ``from_params``.

        Examples
        --------
        >>> import json
        >>> from customer_value.clv import BetaGeoModel
        >>> model = BetaGeoModel.from_params(r=0.243, alpha=4.414, a=0.793, b=2.426)
        >>> json.loads(model.to_json())["params"]
        {'r': 0.243, 'alpha': 4.414, 'a': 0.793, 'b': 2.426}
        """
        params = self._params_array()
        cov = self._covariance
        doc = {
            "format": JSON_FORMAT,
            "class": type(self).__name__,
            "version": __version__,
            "time_unit": self.time_unit_,
            "config": self._config(),
            "params": {n: float(v) for n, v in zip(self._names(), params, strict=True)},
            "covariance": None
            if cov is None
            else [[None if not np.isfinite(v) else float(v) for v in row] for row in cov],
            "log_likelihood": self._log_likelihood,
            "n": self._n,
        }
        return json.dumps(doc, indent=2)

    @classmethod
    def from_json(cls: type[PersistenceT], text: str | bytes) -> PersistenceT:
        """Rebuild a model saved with :meth:`to_json`.

        Parameters
        ----------
        text : str or bytes
            The JSON document (bytes must be UTF-8).

        Returns
        -------
        model
            A model that predicts exactly like the saved one (without training data).

        Raises
        ------
        InvalidDataError
            Not a customer_value model document, a document of another class, or one
            that breaks its schema: not UTF-8, duplicate keys, too deep, a missing or
            unknown key, a parameter that is not a positive number, a covariance that is
            not k x k with a non-negative diagonal, ``n`` not a whole number >= 1, a
            non-finite log-likelihood, an unknown time unit. The message names the JSON
            path (``$.params.r``).

        Examples
        --------
        >>> from customer_value.clv import BetaGeoModel
        >>> model = BetaGeoModel.from_params(r=0.243, alpha=4.414, a=0.793, b=2.426)
        >>> BetaGeoModel.from_json(model.to_json())
        BetaGeoModel(r=0.243, alpha=4.414, a=0.793, b=2.426)
        """
        what = "model document"
        doc = expect_object(loads_strict(text, what=what), "$", what=what)
        if doc.get("format") != JSON_FORMAT:
            raise InvalidDataError(
                f"not a customer_value model document (expected format {JSON_FORMAT!r})"
            )
        check_keys(
            doc,
            "$",
            what=what,
            required=("format", "class", "params"),
            optional=("version", "time_unit", "config", "covariance", "log_likelihood", "n"),
        )
        name = expect_string(doc["class"], "$.class", what=what)
        target = ModelCore._registry.get(name)
        if target is None or not issubclass(target, cls):
            raise InvalidDataError(f"the document holds a {name!r}, which is not a {cls.__name__}")
        if doc.get("version") is not None:
            expect_string(doc["version"], "$.version", what=what)
        config = doc.get("config")
        config = {} if config is None else expect_object(config, "$.config", what=what)
        accepted = [
            p.name
            for p in inspect.signature(target.__init__).parameters.values()
            if p.kind is inspect.Parameter.KEYWORD_ONLY
        ]
        check_keys(config, "$.config", what=what, optional=accepted)
        model = target(**config)
        names = model._names()  # validates the covariate configuration
        n_base = len(model._param_names)
        params = expect_object(doc["params"], "$.params", what=what)
        check_keys(params, "$.params", what=what, required=names)
        model._params = np.array(
            [
                expect_number(params[n], f"$.params.{n}", what=what, low=0.0, low_inclusive=False)
                if i < n_base
                else expect_number(params[n], f"$.params.{n}", what=what)
                for i, n in enumerate(names)
            ],
            dtype=np.float64,
        )
        if doc.get("covariance") is not None:
            model._covariance = _covariance_from_json(doc["covariance"], len(names), what)
        if doc.get("log_likelihood") is not None:
            model._log_likelihood = expect_number(
                doc["log_likelihood"], "$.log_likelihood", what=what
            )
        if doc.get("n") is not None:
            model._n = int(expect_number(doc["n"], "$.n", what=what, low=1.0, integer=True))
        try:
            model.time_unit_ = check_time_unit(doc.get("time_unit"), "$.time_unit")
        except InvalidDataError as exc:
            raise InvalidDataError(f"{what}: {exc}") from None
        return model

    def save(self, path: str | Path) -> None:
        """Write :meth:`to_json` to ``path`` (UTF-8).

        Parameters
        ----------
        path : str or Path
            Destination file.

        Raises
        ------
        NotFittedError
            Before ``fit`` or ``from_params``.

        Examples
        --------
        >>> import tempfile, pathlib
        >>> from customer_value.clv import BetaGeoModel
        >>> model = BetaGeoModel.from_params(r=0.243, alpha=4.414, a=0.793, b=2.426)
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "bgnbd.json"
        >>> model.save(path)
        >>> BetaGeoModel.load(path).params_.tolist()
        [0.243, 4.414, 0.793, 2.426]
        """
        Path(path).write_text(self.to_json(), encoding="utf-8")

    @classmethod
    def load(cls: type[PersistenceT], path: str | Path) -> PersistenceT:
        """Read a model written by :meth:`save`.

        Parameters
        ----------
        path : str or Path
            The file.

        Returns
        -------
        model
            The rebuilt model.

        Raises
        ------
        InvalidDataError
            Not a model document of this class.

        Examples
        --------
        See :meth:`save`.
        """
        return cls.from_json(Path(path).read_bytes())


def _covariance_from_json(value: Any, k: int, what: str) -> FloatArray:
    """A k x k covariance from JSON (``null`` for a non-finite entry), diagonal >= 0."""
    rows = expect_list(value, "$.covariance", what=what)
    if len(rows) != k:
        raise InvalidDataError(f"{what}: $.covariance must have {k} rows, got {len(rows)}")
    out = np.empty((k, k))
    for i, row in enumerate(rows):
        cells = expect_list(row, f"$.covariance[{i}]", what=what)
        if len(cells) != k:
            raise InvalidDataError(
                f"{what}: $.covariance[{i}] must have {k} values, got {len(cells)}"
            )
        for j, cell in enumerate(cells):
            path = f"$.covariance[{i}][{j}]"
            out[i, j] = np.nan if cell is None else expect_number(cell, path, what=what)
    diagonal = np.diag(out)
    bad = np.flatnonzero(diagonal < 0)
    if bad.size:
        i = int(bad[0])
        raise InvalidDataError(
            f"{what}: $.covariance[{i}][{i}] is a variance and must be >= 0, got {diagonal[i]!r}"
        )
    return out
