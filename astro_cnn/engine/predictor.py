""":class:`NetworkPredictor`: a trained network (or an ensemble of them) with its normalisation."""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import astropy.units as u
import numpy as np
import torch

from ..predictor import Predictor
from ..quantity import Prediction, Quantity
from .augment import ALL_TRANSFORMS, dihedral
from .network import Network, build_network
from .speed import autocast, prepare_input, prepare_network

__all__ = ["NetworkPredictor", "default_device"]


def default_device() -> torch.device:
    """CUDA when a GPU is visible, else the CPU."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


class NetworkPredictor(Predictor):
    """A backbone and head (see :mod:`astro_cnn.hookspecs`) trained on images of one survey.

    Parameters
    ----------
    quantity, survey, bands, image_size, pixel_scale, extras, name
        As :class:`astro_cnn.Predictor`.
    backbone, head : str, optional
        Registry names; default: the quantity's defaults.
    weights : path, optional
        Local pretrained backbone weights (ImageNet state dict); None means random initial weights.
    head_options : dict, optional
        Keyword arguments for the head factory.
    tta : bool or sequence of int
        Test-time augmentation: True for all 8 dihedral transforms, False for none, or the
        transform indices to average over.

    Attributes
    ----------
    members_ : list of dict
        State dicts of the trained networks (more than one for an ensemble).
    """

    predictor_type = "network"

    def __init__(self, quantity: Quantity | str, survey: str, bands: Sequence[str], image_size: int,
                 pixel_scale: u.Quantity, extras: Sequence[str] = (), name: str | None = None, *,
                 backbone: str | None = None, head: str | None = None, weights: str | Path | None = None,
                 head_options: Mapping[str, Any] | None = None, tta: bool | Sequence[int] = True):
        super().__init__(quantity, survey, bands, image_size, pixel_scale, extras, name)
        self.architecture = {
            "backbone": backbone or self.quantity.default_backbone,
            "head": head or self.quantity.default_head,
            "in_channels": len(self.bands),
            "image_size": self.image_size,
            "n_extras": len(self.extras),
            "head_options": dict(head_options or {}),
            "weights": str(weights) if weights else None,
        }
        self.tta = tta
        self.members_: list[dict[str, torch.Tensor]] = []
        self.half_precision_storage = False
        self.device = default_device()
        #: Speed settings for prediction (see :mod:`astro_cnn.engine.speed`); all off by default.
        self.channels_last = False
        self.bf16 = False
        self.normalisation_: dict[str, Any] = {}
        self._networks: list[Network] = []
        self._networks_key: tuple | None = None

    # --- fitting --------------------------------------------------------------------------------------
    def fit(self, images: np.ndarray, labels: np.ndarray, extras: Mapping[str, np.ndarray] | None = None,
            **options: Any) -> NetworkPredictor:
        """Train (see :func:`astro_cnn.engine.train.fit_predictor` for ``options``: recipe, epochs, run_dir,
        seed, resume, ensemble, progress, ...)."""
        from .train import fit_predictor

        return fit_predictor(self, images, labels, extras, **options)

    def new_network(self) -> Network:
        """Build an untrained network of this predictor's architecture."""
        return build_network(self.architecture, self.quantity)

    # --- normalisation --------------------------------------------------------------------------------
    def learn_normalisation(self, images: np.ndarray, labels: np.ndarray | None,
                            extras: Mapping[str, np.ndarray] | None) -> None:
        """Learn per-band input statistics (and label and extra-input statistics) from training data.

        Colour images in [0, 1] are standardised per band; flux images (any negative pixel) first get
        an asinh stretch with a per-band noise scale (1.4826 × MAD), as sky-subtracted fluxes have
        heavy tails.
        """
        images = np.asarray(images, dtype=np.float32)
        stretch = "asinh" if images.min() < 0 else "linear"
        per_band = images.transpose(1, 0, 2, 3).reshape(images.shape[1], -1)
        scale = np.ones(images.shape[1], np.float32)
        if stretch == "asinh":
            median = np.median(per_band, axis=1, keepdims=True)
            scale = np.maximum(1.4826 * np.median(np.abs(per_band - median), axis=1), 1e-6).astype(np.float32)
            per_band = np.arcsinh(per_band / scale[:, None])
        norm: dict[str, Any] = {"stretch": stretch, "scale": scale.tolist(),
                                "mean": per_band.mean(axis=1).tolist(),
                                "std": np.maximum(per_band.std(axis=1), 1e-6).tolist()}
        if labels is not None and self.quantity.kind == "regression":
            norm["label_mean"] = float(np.mean(labels))
            norm["label_std"] = float(max(np.std(labels), 1e-6))
        norm["extras_mean"] = [float(np.mean(extras[e])) for e in self.extras] if extras else []
        norm["extras_std"] = [float(max(np.std(extras[e]), 1e-6)) for e in self.extras] if extras else []
        self.normalisation_ = norm

    def prepare(self, images: np.ndarray | torch.Tensor) -> torch.Tensor:
        """Images ``(N, C, H, W)`` → normalised float32 tensor."""
        x = torch.as_tensor(np.asarray(images, dtype=np.float32))
        norm = self.normalisation_
        if norm["stretch"] == "asinh":
            x = torch.asinh(x / torch.tensor(norm["scale"]).view(1, -1, 1, 1))
        return (x - torch.tensor(norm["mean"]).view(1, -1, 1, 1)) / torch.tensor(norm["std"]).view(1, -1, 1, 1)

    def prepare_extras(self, extras: Mapping[str, np.ndarray] | None, n: int) -> torch.Tensor | None:
        """Extra inputs → standardised tensor ``(N, E)``, or None when the model takes none."""
        if not self.extras:
            return None
        norm = self.normalisation_
        columns = [(np.asarray(extras[e], dtype=np.float32) - m) / s
                   for e, m, s in zip(self.extras, norm["extras_mean"], norm["extras_std"])]
        return torch.as_tensor(np.stack(columns, axis=1)).reshape(n, len(self.extras))

    def encode_labels(self, labels: np.ndarray) -> torch.Tensor:
        """Labels → training targets: standardised values (regression) or bin indices (PDF)."""
        labels = np.asarray(labels, dtype=np.float64)
        if self.quantity.kind == "pdf":
            lo, hi = self.quantity.pdf_range
            index = np.floor((labels - lo) / (hi - lo) * self.quantity.pdf_bins)
            return torch.as_tensor(np.clip(index, 0, self.quantity.pdf_bins - 1).astype(np.int64))
        norm = self.normalisation_
        return torch.as_tensor(((labels - norm["label_mean"]) / norm["label_std"]).astype(np.float32))

    # --- prediction -----------------------------------------------------------------------------------
    def predict_images(self, images: np.ndarray, extras: Mapping[str, np.ndarray] | None = None,
                       batch_size: int = 128) -> Prediction:
        """Predict with test-time augmentation over the chosen dihedral transforms and every ensemble member.

        The uncertainty of a regression is the standard deviation over transforms and members; for a
        PDF quantity the PDFs are averaged and summarised (mean, 68 % interval).
        """
        if not self.members_:
            raise RuntimeError(f"model {self.name!r} has not been trained")
        outputs = [self.raw_outputs(images[i:i + batch_size], None if extras is None else
                                    {k: np.asarray(v)[i:i + batch_size] for k, v in extras.items()})
                   for i in range(0, len(images), batch_size)]
        stacked = np.concatenate(outputs, axis=1) if outputs else np.zeros((1, 0))
        if self.quantity.kind == "pdf":
            return self.quantity.summarise_pdf(stacked.mean(axis=0))
        return Prediction(stacked.mean(axis=0), stacked.std(axis=0))

    def raw_outputs(self, images: np.ndarray, extras: Mapping[str, np.ndarray] | None) -> np.ndarray:
        """Outputs for every (member, transform): shape (M·T, N) in label units, or (M·T, N, bins) PDFs."""
        x = prepare_input(self.prepare(images).to(self.device), channels_last=self.channels_last)
        e = self.prepare_extras(extras, len(x))
        e = None if e is None else e.to(self.device)
        transforms = self._transforms()
        results = []
        with torch.inference_mode(), autocast(self.device, self.bf16):
            for network in self.networks():
                for k in transforms:
                    out = network(dihedral(x, k), e)
                    if self.quantity.kind == "pdf":
                        results.append(torch.softmax(out.float(), dim=1).cpu().numpy())
                    else:
                        norm = self.normalisation_
                        results.append(out.float().cpu().numpy() * norm["label_std"] + norm["label_mean"])
        return np.stack(results)

    def networks(self) -> list[Network]:
        """The trained networks in evaluation mode (built once from :attr:`members_`)."""
        key = (id(self.members_), len(self.members_), self.channels_last, str(self.device))
        if self._networks_key != key:
            self._networks_key = key
            self._networks = []
            for state in self.members_:
                network = self.new_network()
                network.load_state_dict(state)
                network.to(self.device).eval()
                self._networks.append(prepare_network(network, channels_last=self.channels_last))
        return self._networks

    def _transforms(self) -> tuple[int, ...]:
        if self.tta is True:
            return ALL_TRANSFORMS
        if self.tta is False:
            return (0,)
        return tuple(int(k) for k in self.tta)

    # --- persistence ----------------------------------------------------------------------------------
    def metadata(self) -> dict[str, Any]:
        """Base metadata plus architecture, normalisation, ensemble size and TTA."""
        meta = super().metadata()
        meta.update({"architecture": self.architecture, "normalisation": self.normalisation_,
                     "ensemble_size": len(self.members_), "half_precision_storage": self.half_precision_storage,
                     "tta": self.tta if isinstance(self.tta, bool) else list(self.tta)})
        return meta

    def _state_bytes(self) -> bytes:
        buffer = io.BytesIO()
        members = self.members_
        if self.half_precision_storage:  # halves the file; predictions change by ~1e-3 of their spread
            members = [{k: v.half() if v.is_floating_point() else v for k, v in m.items()} for m in members]
        torch.save({"members": members}, buffer)
        return buffer.getvalue()

    @classmethod
    def _from_state(cls, metadata: dict[str, Any], state: bytes) -> NetworkPredictor:
        arch = metadata["architecture"]
        predictor = cls(metadata["quantity"], metadata["survey"], metadata["bands"], metadata["image_size"],
                        metadata["pixel_scale_arcsec"] * u.arcsec, metadata["extras"], metadata["name"],
                        backbone=arch["backbone"], head=arch["head"], head_options=arch["head_options"],
                        tta=metadata["tta"])
        predictor.architecture["weights"] = arch.get("weights")
        predictor.normalisation_ = metadata["normalisation"]
        predictor.half_precision_storage = bool(metadata.get("half_precision_storage", False))
        members = torch.load(io.BytesIO(state), map_location="cpu", weights_only=True)["members"]
        predictor.members_ = [{k: v.float() if v.is_floating_point() else v for k, v in m.items()}
                              for m in members]
        return predictor
