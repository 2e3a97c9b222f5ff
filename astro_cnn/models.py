"""Finding trained models: by file path, by registered name, or the default one for a quantity."""

from __future__ import annotations

import copy
import functools
from pathlib import Path

from . import registry
from .exceptions import ModelNotFoundError, UnknownNameError
from .predictor import MODEL_SUFFIX, Predictor, load_predictor
from .remote_models import fetch_model, is_model_url
from .specs import ModelSpec

__all__ = ["available_models", "default_model", "resolve_predictor"]


def available_models(quantity: str | None = None) -> dict[str, ModelSpec]:
    """Return the models installed plugins ship, by name, optionally for one quantity."""
    found = {name: c.spec for name, c in registry.components("model").items()}
    if quantity is not None:
        found = {name: spec for name, spec in found.items() if spec.quantity == quantity}
    return found


def default_model(quantity: str) -> ModelSpec:
    """Return the model used for ``quantity`` when none is named.

    Raises
    ------
    ModelNotFoundError
        No installed plugin ships a model for it.
    """
    registry.get("quantity", quantity)  # unknown quantity -> error listing the known ones
    specs = available_models(quantity)
    if not specs:
        raise ModelNotFoundError(
            f"no trained model for quantity {quantity!r} is installed; train one with "
            f"`astro-cnn train` and pass it with --model PATH (Python: model=PATH)"
        )
    defaults = [s for s in specs.values() if s.default]
    return (defaults or sorted(specs.values(), key=lambda s: s.name))[0]


def resolve_predictor(model: Predictor | str | Path | None, quantity: str | None = None) -> Predictor:
    """Turn what the user passed as ``model`` into a loaded :class:`~astro_cnn.Predictor`.

    Parameters
    ----------
    model : Predictor, path, str or None
        A predictor, a saved-model file, a registered model name, a URL with its checksum
        (``https://.../m.acnn#sha256=...``, fetched once and verified: see
        :mod:`astro_cnn.remote_models`), or None for the default model of ``quantity``.
    quantity : str, optional
        Needed when ``model`` is None; otherwise checked against the model's quantity.

    Returns
    -------
    Predictor
        ``model`` itself when a predictor was passed; otherwise a private copy of the loaded
        model (files are read once and cached), so that changing one caller's copy (its ``tta``,
        device, ...) changes no other.

    Raises
    ------
    ModelNotFoundError, UnknownNameError, AstroCNNError
    """
    if isinstance(model, Predictor):
        predictor = model
    elif model is None:
        if quantity is None:
            raise ModelNotFoundError("name a quantity or a model to predict with")
        predictor = _load(str(default_model(quantity).path))
    else:
        text = str(model)
        if is_model_url(text):
            predictor = _load(str(fetch_model(text)))
        elif Path(text).is_dir():
            raise ModelNotFoundError(f"model {text!r} is a directory; give a model file ({MODEL_SUFFIX}) or name")
        elif Path(text).is_file() or text.endswith(MODEL_SUFFIX):
            predictor = _load(str(Path(text).resolve()))
        else:
            try:
                spec = registry.get("model", text)
            except UnknownNameError as exc:
                raise UnknownNameError("model (name or file)", text, exc.known) from None
            predictor = _load(str(spec.path))
    if quantity is not None and predictor.quantity.name != quantity:
        raise ModelNotFoundError(
            f"model {predictor.name!r} predicts {predictor.quantity.name!r}, not {quantity!r}"
        )
    return predictor


def _load(path: str) -> Predictor:
    try:
        stat = Path(path).stat()
    except OSError:
        return load_predictor(path)  # says what is wrong with the path (ModelNotFoundError)
    return copy.deepcopy(_cached(path, (stat.st_mtime_ns, stat.st_ctime_ns, stat.st_size, stat.st_ino)))


@functools.lru_cache(maxsize=8)
def _cached(path: str, version: tuple[int, ...]) -> Predictor:
    """A loaded model, cached per file version (a replaced file has a new inode, ctime or size)."""
    return load_predictor(path)
