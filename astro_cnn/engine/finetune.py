"""Fine-tuning across surveys: start a network from a trained model's weights, its first layer mapped onto new bands.

The first convolution's input channels are matched by band name (or through an explicit
``band_map`` from the new survey's bands to the trained model's): a band the model knows keeps its
filters; a band it does not know starts from the mean of the model's filters over its bands
(inputs are standardised per band, so every band enters on the same scale).  The rest of the backbone is
copied; the head is kept when it fits (same quantity, output and extra inputs) and otherwise
starts afresh.  Training then uses the recipe's discriminative learning rates (``wu2019``: the
earliest layers learn 100 times slower than the head).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch

from ..exceptions import AstroCNNError

__all__ = ["initial_state"]


def initial_state(source: Any, target: Any, band_map: Mapping[str, str] | None = None,
                  log=print) -> dict[str, torch.Tensor]:
    """The starting weights of ``target`` (an untrained NetworkPredictor) taken from trained ``source``.

    Parameters
    ----------
    source : NetworkPredictor
        The trained model (its first ensemble member is used).
    target : NetworkPredictor
        The model to fine-tune; must have the same backbone.
    band_map : mapping of str to str, optional
        New band → band of ``source`` whose filters it starts from (default: same names).
    log : callable

    Returns
    -------
    dict
        A state dict for ``target.new_network()``.

    Raises
    ------
    AstroCNNError
        The backbones or their options differ, ``source`` is untrained, ``band_map`` maps a band the new images
        do not have, or names a band ``source``
        does not have.
    """
    if not getattr(source, "members_", None):
        raise AstroCNNError(f"model {source.name!r} has no trained network to start from")
    if source.architecture["backbone"] != target.architecture["backbone"]:
        raise AstroCNNError(f"model {source.name!r} has backbone {source.architecture['backbone']!r}; fine-tuning "
                            f"it needs the same backbone, not {target.architecture['backbone']!r}")
    source_options, target_options = (m.architecture.get("backbone_options", {}) for m in (source, target))
    if source_options != target_options:
        raise AstroCNNError(f"model {source.name!r} has backbone options {source_options}; fine-tuning it needs the "
                            f"same, not {target_options}")
    strays = sorted(set(band_map or {}) - set(target.bands))
    if strays:
        raise AstroCNNError(f"band_map maps bands {strays} that the new images do not have "
                            f"(they have {list(target.bands)})")
    mapping = {band: (band_map or {}).get(band, band) for band in target.bands}
    unknown = sorted({m for m in mapping.values() if m not in source.bands} & set((band_map or {}).values()))
    if unknown:
        raise AstroCNNError(f"band_map names bands {unknown} that model {source.name!r} does not have "
                            f"(it has {list(source.bands)})")
    trained = source.members_[0]
    state = target.new_network().state_dict()
    first = next(k for k, v in state.items() if k.startswith("backbone.") and v.ndim == 4)
    kept_head = _head_fits(source, target)
    for key, value in state.items():
        if key == first:
            state[key] = _first_layer(trained[key], source.bands, [mapping[b] for b in target.bands])
        elif key.startswith("backbone.") or (kept_head and key.startswith("head.")):
            if key not in trained or trained[key].shape != value.shape:
                raise AstroCNNError(f"model {source.name!r}'s layer {key} does not fit the new network "
                                    f"(image size or architecture differ)")
            state[key] = trained[key].clone()
    new = [b for b in target.bands if mapping[b] not in source.bands]
    log(f"starting from model {source.name!r}: bands {''.join(target.bands)} from {''.join(source.bands)}"
        + (f" (new bands {new} from the mean filter)" if new else "")
        + ("; head kept" if kept_head else "; new head"))
    return state


def _head_fits(source: Any, target: Any) -> bool:
    return (source.quantity.name == target.quantity.name and source.architecture["head"] == target.architecture["head"]
            and source.architecture.get("head_options") == target.architecture.get("head_options")
            and tuple(source.extras) == tuple(target.extras))


def _first_layer(weight: torch.Tensor, source_bands: Sequence[str], wanted: Sequence[str]) -> torch.Tensor:
    """First-layer filters for the ``wanted`` source bands, known ones copied, unknown ones the mean filter.

    A backbone that folds pixels into channels first (``small_cnn``'s ``space_to_depth``) gives each band a
    run of adjacent input channels, which move together.
    """
    out, channels = weight.shape[:2]
    per_band = channels // len(source_bands)
    grouped = weight.reshape(out, len(source_bands), per_band, *weight.shape[2:])
    mean = grouped.mean(dim=1)
    columns = [grouped[:, list(source_bands).index(b)] if b in source_bands else mean for b in wanted]
    return torch.stack(columns, dim=1).reshape(out, len(wanted) * per_band, *weight.shape[2:]).clone()
