"""A random forest on aperture photometry, as a :class:`~astro_cnn.Predictor` saved as plain arrays.

:class:`ForestPredictor` is the fair baseline of :func:`astro_cnn.evaluation.baselines.aperture_forest`
made into a model: the same photutils aperture photometry, the same scikit-learn forest, but kept
after training so that it can be saved, shipped and used by :func:`astro_cnn.predict` like a network.

Saving keeps no Python objects: every tree's nodes (split feature, threshold, children, leaf value)
go into one ``.npz`` archive of numeric arrays, read back with ``allow_pickle=False`` and checked
(children always lie after their parent, so evaluating a tree always ends), and the trees are
evaluated with numpy; scikit-learn is needed only to train.

Uncertainties come from the spread of the trees, calibrated on galaxies the forest did not train on
(:meth:`ForestPredictor.calibrate`): for a regression ``σ² = floor² + (scale·spread)²``
(:func:`astro_cnn.engine.calibration.fit_error_model`); for a PDF quantity the PDF is the trees'
predictions smoothed by a Gaussian kernel, whose width is fitted by maximising the likelihood of
the true bins.  The point estimate is always the forest's, the mean of its trees.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from typing import Any

import astropy.units as u
import numpy as np
from scipy.optimize import minimize_scalar
from scipy.special import ndtr

from .arguments import checked_number
from .evaluation.baselines import APERTURE_RADII, aperture_photometry_features, forest_regressor
from .exceptions import AstroCNNError
from .image_checks import MIN_CENTRE_SNR, colour_values, pixel_noise, screen_training_images, snr_range
from .predictor import Predictor, checked_labels
from .quantity import Prediction, Quantity

__all__ = ["ForestPredictor"]

#: Arrays that make up the saved trees, with the dtype each is kept in.  Thresholds are float32 rounded down,
#: which splits float32 features (what scikit-learn compares) exactly as the float64 thresholds do.
_TREE_ARRAYS = {"roots": np.int32, "feature": np.int16, "threshold": np.float32, "left": np.int32,
                "right": np.int32, "value": np.float32}
#: Rows whose PDFs are built at once (bounds the memory of rows × trees × bins).
_PDF_CHUNK = 64


class ForestPredictor(Predictor):
    """A random forest on aperture photometry of the images (see the module docstring).

    Parameters
    ----------
    quantity, survey, bands, image_size, pixel_scale, name
        As for :class:`~astro_cnn.Predictor`.
    extras : sequence of str
        Must be empty: the forest reads images only.
    radii_arcsec : sequence of float, or Quantity
        Aperture radii of :func:`~astro_cnn.evaluation.baselines.aperture_photometry_features`, in arcsec
        (or as angles), each above 0.
    """

    predictor_type = "aperture-forest"

    def __init__(self, quantity: Quantity | str, survey: str, bands: Sequence[str], image_size: int,
                 pixel_scale: u.Quantity, extras: Sequence[str] = (), name: str | None = None, *,
                 radii_arcsec: Sequence[float] = APERTURE_RADII):
        if tuple(extras):
            raise AstroCNNError(f"a {self.predictor_type} model reads images only, not extras {list(extras)}")
        super().__init__(quantity, survey, bands, image_size, pixel_scale, (), name)
        if isinstance(radii_arcsec, u.Quantity):
            if radii_arcsec.unit.physical_type != "angle":
                raise AstroCNNError(f"radii_arcsec must be angles (or numbers of arcsec), not {radii_arcsec!r}")
            radii_arcsec = radii_arcsec.to_value(u.arcsec)
        self.radii_arcsec = tuple(checked_number(r, f"radii_arcsec[{i}]") for i, r in enumerate(radii_arcsec))
        #: The trees as flat arrays (roots, feature, threshold, left, right, value); empty until :meth:`fit`.
        self.trees_: dict[str, np.ndarray] = {}
        #: Uncertainty calibration learned on held-out galaxies (empty: raw spread / one-bin kernel).
        self.calibration_: dict[str, Any] = {}
        #: Median pixel noise of each band over the training images, None for a band measured in none (see
        #: :attr:`training_pixel_noise`).
        self.pixel_noise_: list[float | None] | None = None

    # --- training -------------------------------------------------------------------------------------
    def fit(self, images: np.ndarray, labels: np.ndarray, extras: Mapping[str, np.ndarray] | None = None, *,
            seed: int = 0, min_centre_snr: float | None = MIN_CENTRE_SNR, log=print,
            **options: Any) -> ForestPredictor:
        """Train the forest on the aperture photometry of ``images``.

        Parameters
        ----------
        images : ndarray, shape (N, C, H, W)
        labels : ndarray, shape (N,)
        extras : None
            Not used (the forest takes none).
        seed : int
            Seed of the forest.
        min_centre_snr : float or None
            Images that prediction would flag are left out, as a network's training leaves them out
            (:meth:`astro_cnn.engine.NetworkPredictor.fit`): non-finite or blank ones, and those whose
            centre S/N is below this (None: no presence check).
        log : callable
            Receives the line saying what was left out.
        **options
            Passed to :func:`~astro_cnn.evaluation.baselines.forest_regressor` (e.g. ``n_estimators``).

        Returns
        -------
        ForestPredictor
            ``self``, uncalibrated.

        Raises
        ------
        AstroCNNError
            A label is missing, not finite or outside the quantity's valid range (the rows are named), or
            fewer than 2 rows have usable images and finite photometry.
        IncompatibleImagesError
            ``images`` is not an array of shape ``(N, bands, size, size)`` as the model takes.
        """
        images = self.images_of_shape(images)
        labels = checked_labels(labels, self.quantity, len(images))
        screened = screen_training_images(images, self.pixel_scale, min_centre_snr)
        if screened.left_out:
            log(screened.summary())
        features = self.features(images)
        usable = screened.usable & np.isfinite(features).all(axis=1)
        if usable.sum() < 2:
            left_out = f" ({screened.reasons()})" if screened.left_out else ""
            raise AstroCNNError(f"{int(usable.sum())} of {len(labels)} training rows have usable images{left_out} "
                                "and finite photometry; at least 2 are needed (min_centre_snr=None skips the presence "
                                "check)")
        forest = forest_regressor(seed, **options).fit(features[usable], labels[usable])
        self.trees_ = _flatten(forest)
        self.calibration_ = {}
        colour = colour_values(images, rows=np.flatnonzero(usable))  # no copy of the usable images
        if not colour:  # 8-bit colour images have a fixed scale
            with np.errstate(invalid="ignore"):  # images with infinite pixels (not usable) give NaN
                self.pixel_noise_ = _median_noise(pixel_noise(images)[usable])
        else:
            self.pixel_noise_ = None
        self.info.update({"seed": seed, "trees": len(self.trees_["roots"]), "features": int(features.shape[1]),
                          "forest_settings": forest.get_params(),
                          "training_data": {"rows": int(usable.sum()), "left_out": screened.left_out,
                                            "min_centre_snr": min_centre_snr, "colour_values": colour},
                          "label_range": [float(labels[usable].min()), float(labels[usable].max())],
                          "centre_snr_range": snr_range(screened.snr[usable])})
        return self

    @property
    def training_pixel_noise(self) -> np.ndarray | None:
        """For flux images, each band's median pixel noise (:func:`astro_cnn.image_checks.pixel_noise`) over the
        images the forest trained on (NaN for a band it could not be measured in, which is not checked): aperture
        photometry in another flux scale would be read as other galaxies.  None for 8-bit colour images, whose
        scale is fixed, and for forests saved before it was recorded."""
        return None if self.pixel_noise_ is None else np.asarray(self.pixel_noise_, dtype=float)

    def features(self, images: np.ndarray) -> np.ndarray:
        """The aperture photometry the forest reads, one row per image."""
        return aperture_photometry_features(images, self.pixel_scale, self.radii_arcsec)

    def calibrate(self, images: np.ndarray, labels: np.ndarray, extras: Mapping[str, np.ndarray] | None = None,
                  min_centre_snr: float | None = MIN_CENTRE_SNR, log=print) -> dict[str, Any]:
        """Calibrate the uncertainties on galaxies the forest did not train on.

        Regression: ``*_err`` becomes ``sqrt(floor² + (scale·spread)²)`` (with a power of the spread
        where the residuals ask for one, :func:`~astro_cnn.engine.calibration.fit_error_model`); PDF:
        the width of the Gaussian kernel that smooths the trees' predictions.  Images that prediction
        would flag (``Predictor.calibration_set``) are left out, as training leaves
        them out, and ``log`` says which.

        Parameters
        ----------
        images : ndarray, shape (N, C, H, W)
        labels : ndarray, shape (N,)
        extras : mapping of str to ndarray, optional
            Not used (the forest reads the images' photometry only).
        min_centre_snr : float or None
            Lowest centre S/N that counts as a source (prediction's threshold; None: no presence check).
        log : callable
            Receives the line saying which images were left out, if any.

        Returns
        -------
        dict
            The calibration, with ``left_out`` (the images left out, counted by reason); also kept in
            :attr:`calibration_` and ``info["calibration"]``.

        Raises
        ------
        AstroCNNError, IncompatibleImagesError
            As ``Predictor.calibration_set``.
        """
        from .engine.calibration import fit_error_model

        images, labels, screened = self.calibration_set(np.asarray(images), labels, min_centre_snr, log)
        images, labels = images[screened.rows], labels[screened.rows]
        trees = self.tree_predictions(images)
        keep = np.isfinite(trees).all(axis=0)
        if self.quantity.kind == "pdf":
            calibration = {"kind": "kernel", "bandwidth": _fit_bandwidth(trees[:, keep], labels[keep],
                                                                         self.quantity.bin_edges),
                           "rows": int(keep.sum())}
        else:
            calibration = fit_error_model(labels[keep], trees[:, keep].mean(axis=0), trees[:, keep].std(axis=0))
        calibration["left_out"] = screened.left_out
        self.calibration_ = calibration
        self.info["calibration"] = calibration
        return calibration

    # --- prediction -----------------------------------------------------------------------------------
    def predict_images(self, images: np.ndarray, extras: Mapping[str, np.ndarray] | None = None) -> Prediction:
        """The forest's prediction (mean of the trees) with calibrated uncertainties; NaN where the photometry
        is not finite.

        Raises
        ------
        IncompatibleImagesError
            ``images`` is not an array of shape ``(N, bands, size, size)`` as the model takes.
        """
        images = self.images_of_shape(images)
        return self.predict_from_trees(self.tree_predictions(images), calibrated=True)

    def predict_from_trees(self, trees: np.ndarray, calibrated: bool = True) -> Prediction:
        """Summarise the trees' predictions ``(T, N)`` as a :class:`~astro_cnn.Prediction`.

        Without calibration a regression's error is the trees' spread, and a PDF's kernel is one bin wide.
        """
        value, spread = trees.mean(axis=0), trees.std(axis=0)
        calibration = self.calibration_ if calibrated else {}
        if self.quantity.kind == "pdf":
            edges = self.quantity.bin_edges
            pdf = _kernel_pdf(trees, edges, calibration.get("bandwidth", float(edges[1] - edges[0])))
            pdf[~np.isfinite(value)] = np.nan  # no value, no PDF and no error (its summary gave an error of 0)
            return Prediction(value, np.where(np.isfinite(value), self.quantity.summarise_pdf(pdf).error, np.nan),
                              pdf, edges)
        if calibration:
            from .engine.calibration import apply_error_model

            spread = apply_error_model(calibration, spread)
        return Prediction(value, np.where(np.isfinite(value), spread, np.nan))  # no value, no error (not the floor)

    @property
    def trained(self) -> bool:
        """Whether the forest has been fitted."""
        return bool(self.trees_)

    def tree_predictions(self, images: np.ndarray) -> np.ndarray:
        """Every tree's prediction, shape ``(trees, N)``; NaN where an image's photometry is not finite."""
        if not self.trained:
            raise AstroCNNError(f"model {self.name!r} has not been trained")
        if not len(images):
            return np.empty((len(self.trees_["roots"]), 0))
        features = self.features(images)
        finite = np.isfinite(features).all(axis=1)
        out = np.full((len(self.trees_["roots"]), len(features)), np.nan)
        out[:, finite] = _evaluate(self.trees_, features[finite]).T
        return out

    # --- persistence ----------------------------------------------------------------------------------
    def metadata(self) -> dict[str, Any]:
        """Base metadata plus the aperture radii and the calibration."""
        meta = super().metadata()
        meta.update({"radii_arcsec": list(self.radii_arcsec), "calibration": self.calibration_,
                     "training_pixel_noise": self.pixel_noise_})
        return meta

    def _state_bytes(self) -> bytes:
        """The trees as an ``.npz`` archive (numpy writes it without time stamps: the same trees, the same bytes)."""
        buffer = io.BytesIO()
        np.savez_compressed(buffer, **self.trees_)
        return buffer.getvalue()

    @classmethod
    def _from_state(cls, metadata: dict[str, Any], state: bytes) -> ForestPredictor:
        predictor = cls(metadata["quantity"], metadata["survey"], metadata["bands"], metadata["image_size"],
                        metadata["pixel_scale_arcsec"] * u.arcsec, metadata["extras"], metadata["name"],
                        radii_arcsec=metadata["radii_arcsec"])
        predictor.calibration_ = dict(metadata.get("calibration") or {})
        predictor.pixel_noise_ = _checked_noise(metadata.get("training_pixel_noise"), len(predictor.bands))
        with np.load(io.BytesIO(state), allow_pickle=False) as stored:
            predictor.trees_ = _checked_trees({k: stored[k] for k in stored.files})
        return predictor


def _median_noise(noise: np.ndarray) -> list[float | None] | None:
    """Each band's median of the pixel noise ``(N, C)`` over the images it was measured in (None for a band measured
    in none); None when no band was measured."""
    medians = [float(np.median(band[np.isfinite(band)])) if np.isfinite(band).any() else None for band in noise.T]
    return None if all(m is None for m in medians) else medians


def _checked_noise(noise: Any, bands: int) -> list[float | None] | None:
    """The stored training pixel noise, refusing one that is not a positive number (or null) per band."""
    if noise is None:
        return None
    if not isinstance(noise, list) or len(noise) != bands or not all(
            v is None or (isinstance(v, (int, float)) and not isinstance(v, bool) and np.isfinite(v) and v > 0)
            for v in noise):
        raise AstroCNNError(f"training_pixel_noise must be a positive number (or null) for each of the {bands} "
                            f"bands, not {noise!r}")
    return [None if v is None else float(v) for v in noise]


def _flatten(forest) -> dict[str, np.ndarray]:
    """A fitted scikit-learn forest's trees as one flat node list (children indices global, -1 at leaves)."""
    parts: dict[str, list[np.ndarray]] = {k: [] for k in _TREE_ARRAYS}
    offset = 0
    for estimator in forest.estimators_:
        tree = estimator.tree_
        leaf = tree.children_left < 0
        parts["roots"].append(np.array([offset]))
        parts["feature"].append(np.where(leaf, -1, tree.feature))
        parts["threshold"].append(np.where(leaf, 0.0, _round_down(tree.threshold)))
        parts["left"].append(np.where(leaf, -1, tree.children_left + offset))
        parts["right"].append(np.where(leaf, -1, tree.children_right + offset))
        parts["value"].append(tree.value[:, 0, 0])
        offset += tree.node_count
    return {k: np.concatenate(v).astype(_TREE_ARRAYS[k]) for k, v in parts.items()}


def _round_down(threshold: np.ndarray) -> np.ndarray:
    """The largest float32 not above each float64 threshold (so ``x <= t`` is unchanged for float32 ``x``)."""
    rounded = threshold.astype(np.float32)
    above = rounded.astype(np.float64) > threshold
    rounded[above] = np.nextafter(rounded[above], np.float32(-np.inf))
    return rounded


def _checked_trees(trees: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The stored trees, refusing arrays that are missing, mis-shaped, or whose children do not lie after
    their parent (which could make evaluation loop or index out of range)."""
    missing = sorted(set(_TREE_ARRAYS) - set(trees))
    if missing:
        raise AstroCNNError(f"the trees lack the arrays {missing}")
    trees = {k: np.asarray(trees[k]) for k in _TREE_ARRAYS}
    if any(trees[k].dtype.kind not in "iuf" or trees[k].ndim != 1 for k in trees):
        raise AstroCNNError("the trees' arrays must be one-dimensional numbers")
    trees = {k: v.astype(_TREE_ARRAYS[k]) for k, v in trees.items()}
    nodes = len(trees["value"])
    if any(len(trees[k]) != nodes for k in ("feature", "threshold", "left", "right")) or not len(trees["roots"]):
        raise AstroCNNError("the trees' arrays have inconsistent lengths")
    index = np.arange(nodes)
    leaf = trees["left"] < 0
    inner_ok = (trees["left"] > index) & (trees["right"] > index) & (trees["right"] < nodes) & \
               (trees["left"] < nodes) & (trees["feature"] >= 0)
    roots_ok = (trees["roots"] >= 0) & (trees["roots"] < nodes)
    if not (np.all(leaf | inner_ok) and np.all(roots_ok) and np.isfinite(trees["value"]).all()):
        raise AstroCNNError("the trees' nodes are inconsistent (a child before its parent, or out of range)")
    return trees


def _evaluate(trees: dict[str, np.ndarray], features: np.ndarray) -> np.ndarray:
    """Every tree's prediction for every row, shape ``(N, trees)``; features are compared in float32, as
    scikit-learn does."""
    x = features.astype(np.float32)
    if len(x) and trees["feature"].max(initial=-1) >= x.shape[1]:
        raise AstroCNNError(f"the trees split on feature {trees['feature'].max()} but the photometry has "
                            f"{x.shape[1]} features")
    node = np.tile(trees["roots"], (len(x), 1))
    rows = np.arange(len(x))[:, None]
    while True:
        inner = trees["left"][node] >= 0
        if not inner.any():
            return trees["value"][node].astype(np.float64)
        at = node[inner]
        go_left = x[np.broadcast_to(rows, node.shape)[inner], trees["feature"][at]] <= trees["threshold"][at]
        node[inner] = np.where(go_left, trees["left"][at], trees["right"][at])


def _kernel_pdf(trees: np.ndarray, edges: np.ndarray, bandwidth: float) -> np.ndarray:
    """PDFs over the bins: the trees' predictions ``(T, N)`` each smoothed by a Gaussian of ``bandwidth``,
    averaged, and normalised within the bins' range; rows with non-finite predictions are NaN."""
    pdf = np.full((trees.shape[1], len(edges) - 1), np.nan)
    for start in range(0, trees.shape[1], _PDF_CHUNK):
        chunk = trees[:, start:start + _PDF_CHUNK]
        cdf = ndtr((edges[None, None, :] - chunk[..., None]) / bandwidth).mean(axis=0)
        mass = np.diff(cdf, axis=-1)
        pdf[start:start + _PDF_CHUNK] = mass / np.maximum(mass.sum(axis=-1, keepdims=True), 1e-300)
    return pdf


def _fit_bandwidth(trees: np.ndarray, truth: np.ndarray, edges: np.ndarray) -> float:
    """The kernel width maximising the likelihood of the true bins (searched from a tenth of a bin to the
    whole range)."""
    from .engine.calibration import check_calibration_rows

    check_calibration_rows(len(truth), "PDFs")
    true_bin = np.clip(np.searchsorted(edges, truth, side="right") - 1, 0, len(edges) - 2)
    rows = np.arange(len(truth))

    def negative_log_likelihood(log_width: float) -> float:
        pdf = _kernel_pdf(trees, edges, float(np.exp(log_width)))
        return float(-np.sum(np.log(np.clip(pdf[rows, true_bin], 1e-12, None))))

    width = float(edges[1] - edges[0])
    best = minimize_scalar(negative_log_likelihood, bounds=(np.log(width / 10), np.log(edges[-1] - edges[0])),
                           method="bounded")
    return float(np.exp(best.x))
