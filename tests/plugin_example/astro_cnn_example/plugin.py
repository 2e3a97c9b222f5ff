"""Hook implementations of the example plugin: one survey, one quantity, one predictor type."""

from __future__ import annotations

import io
import time
from collections.abc import Mapping
from typing import Any

import astropy.units as u
import numpy as np

import astro_cnn

EXAMPLE_COLOUR = astro_cnn.Quantity(
    name="example_colour",
    column="colour_ab",
    unit=u.mag,
    description="a-b colour of a toy galaxy (example plugin)",
    label_columns=("colour_ab",),
    valid_range=(-5.0, 5.0),
    default_survey="example-sky",
)


def true_colour(dec_deg: np.ndarray) -> np.ndarray:
    """The colour the example survey paints on a galaxy at declination ``dec_deg``."""
    return 0.5 + 0.01 * np.asarray(dec_deg, dtype=float)


class ExampleSky(astro_cnn.TargetSurvey):
    """Toy survey: a Gaussian galaxy at the centre, band ratio set by declination.

    Parameters
    ----------
    delay : float
        Seconds each call to :meth:`cutouts` waits, like a slow archive.
    """

    name = "example-sky"
    bands = ("a", "b")
    pixel_scale = 1.0 * u.arcsec
    image_size = 16

    def __init__(self, delay: float = 0.0):
        self.delay = float(delay)

    def cutouts(self, targets, *, size=None, progress=False):
        """Wait :attr:`delay` seconds, then render one image per target (see :class:`astro_cnn.TargetSurvey`)."""
        time.sleep(self.delay)
        return super().cutouts(targets, size=size, progress=progress)

    def cutout(self, target, size):
        """Render one galaxy; targets north of +80 deg are outside the footprint."""
        if target.coord is None:
            raise ValueError(f"row {target.row} has no position")
        dec = target.coord.dec.deg
        if dec > 80:
            raise ValueError(f"Dec {dec:.2f} deg is outside the example-sky footprint")
        y, x = np.mgrid[:size, :size] - (size - 1) / 2
        blob = np.exp(-(x**2 + y**2) / 8.0)
        flux_b = 10.0
        flux_a = flux_b * 10 ** (-0.4 * true_colour(dec))
        return np.stack([flux_a * blob, flux_b * blob]).astype(np.float32)


class BandRatioPredictor(astro_cnn.Predictor):
    """Linear fit of the label on -2.5 log10(flux_a / flux_b)."""

    predictor_type = "band-ratio"

    def __init__(self, quantity="example_colour", survey="example-sky", bands=("a", "b"), image_size=16,
                 pixel_scale=1.0 * u.arcsec, extras=(), name=None):
        super().__init__(quantity, survey, bands, image_size, pixel_scale, extras, name)
        self.coef_: np.ndarray | None = None

    def fit(self, images, labels, extras: Mapping[str, np.ndarray] | None = None, **options: Any):
        """Least-squares fit of labels on the band-ratio feature."""
        design = np.column_stack([self._feature(np.asarray(images)), np.ones(len(images))])
        self.coef_, *_ = np.linalg.lstsq(design, np.asarray(labels, dtype=float), rcond=None)
        residual = design @ self.coef_ - labels
        self.info["train_rmse"] = float(np.sqrt(np.mean(residual**2)))
        return self

    def predict_images(self, images, extras=None):
        """Apply the fit; the error is the training RMSE."""
        design = np.column_stack([self._feature(images), np.ones(len(images))])
        value = design @ self.coef_
        return astro_cnn.Prediction(value, np.full(len(value), self.info.get("train_rmse", 0.0)))

    def _state_bytes(self) -> bytes:
        buffer = io.BytesIO()
        np.save(buffer, self.coef_)
        return buffer.getvalue()

    @classmethod
    def _from_state(cls, metadata, state):
        predictor = cls(metadata["quantity"], metadata["survey"], metadata["bands"], metadata["image_size"],
                        metadata["pixel_scale_arcsec"] * u.arcsec, metadata["extras"], metadata["name"])
        predictor.coef_ = np.load(io.BytesIO(state))
        return predictor

    @staticmethod
    def _feature(images: np.ndarray) -> np.ndarray:
        totals = images.sum(axis=(2, 3))
        return -2.5 * np.log10(totals[:, 0] / totals[:, 1])


@astro_cnn.hookimpl
def astro_cnn_surveys():
    """The toy survey."""
    return [astro_cnn.SurveySpec("example-sky", ExampleSky, "toy two-band survey of the example plugin")]


@astro_cnn.hookimpl
def astro_cnn_quantities():
    """The toy colour."""
    return [EXAMPLE_COLOUR]


@astro_cnn.hookimpl
def astro_cnn_predictor_types():
    """The band-ratio predictor."""
    return [astro_cnn.PredictorTypeSpec("band-ratio", BandRatioPredictor, "least squares on a band ratio")]
