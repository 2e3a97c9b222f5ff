""":class:`NetworkPredictor`: a trained network (or an ensemble of them) with its normalisation."""

from __future__ import annotations

import datetime
import io
import operator
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import astropy.units as u
import numpy as np
import torch

from .. import registry
from ..arguments import checked_count, checked_number
from ..exceptions import AstroCNNError
from ..image_checks import MIN_CENTRE_SNR, TrainingImages, colour_values, screen_training_images
from ..predictor import Predictor, checked_extras, checked_labels, image_array
from ..quantity import Prediction, Quantity
from .augment import ALL_TRANSFORMS, dihedral
from .batches import TrainingData, subset_extras
from .calibration import apply_error_model, apply_temperature, coverage, fit_error_model, fit_temperature
from .devices import default_workers, resolve_device
from .losses import rise_limit, split_mean_variance
from .network import Network, build_network
from .normalisation import ImageNormaliser, as_float_images, image_statistics, sample_rows, scalar_statistics
from .speed import SPEED_SETTINGS, autocast, prepare_input, prepare_network, speed_setting
from .trainer import checked_recipe_settings, fit_network

__all__ = ["NetworkPredictor", "ImageRows"]


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
    backbone_options, head_options : dict, optional
        Keyword arguments for the backbone and head factories (e.g. ``{"width": 16}`` for
        ``small_cnn``).
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
                 backbone_options: Mapping[str, Any] | None = None, head_options: Mapping[str, Any] | None = None,
                 tta: bool | Sequence[int] = True):
        super().__init__(quantity, survey, bands, image_size, pixel_scale, extras, name)
        self.architecture = {
            "backbone": backbone or self.quantity.default_backbone,
            "head": head or self.quantity.default_head,
            "in_channels": len(self.bands),
            "image_size": self.image_size,
            "n_extras": len(self.extras),
            "backbone_options": dict(backbone_options or {}),
            "head_options": dict(head_options or {}),
            "weights": str(weights) if weights else None,
        }
        self.tta = tta
        self.members_: list[dict[str, torch.Tensor]] = []
        self.half_precision_storage = False
        #: Where the networks run: "auto" (a GPU when one is visible, resolved in the process that
        #: predicts), "cpu", "cuda" or "cuda:N".
        self.device = "auto"
        #: Speed settings for prediction (see :mod:`astro_cnn.engine.speed`): channels-last layout
        #: follows the device ("auto": on a CUDA GPU, where it gives the same numbers faster), and a
        #: model may be saved with it on (True) where it measured faster on CPUs too;
        #: bfloat16 autocast changes the numbers slightly, so it is off unless asked for.
        self.channels_last: bool | str = "auto"
        self.bf16: bool | str = False
        self.normalisation_: dict[str, Any] = {}
        #: Uncertainty calibration learned on held-out galaxies (empty: ``*_err`` is the raw spread).
        self.calibration_: dict[str, Any] = {}
        #: Weights training starts from (fine-tuning, see :meth:`start_from`); None: random or ``weights``.
        self.initial_state_: dict[str, torch.Tensor] | None = None
        self._networks: list[Network] = []
        self._networks_key: tuple | None = None
        self._device_normaliser: ImageNormaliser | None = None

    # --- fitting --------------------------------------------------------------------------------------
    def fit(self, images: Any, labels: np.ndarray, extras: Mapping[str, np.ndarray] | None = None, *,
            recipe: str | None = None, epochs: int | None = None, ensemble: int = 1,
            run_dir: str | Path | None = None, resume: bool = False, seed: int = 0, progress: bool = True,
            log=print, data_summary: Mapping[str, Any] | None = None, workers: int | None = None,
            min_centre_snr: float | None = MIN_CENTRE_SNR, **overrides: Any) -> NetworkPredictor:
        """Train on images and labels; records recipe, weights origin and training summary in :attr:`info`.

        Parameters
        ----------
        images : ndarray or StoreImages, shape (N, C, H, W)
            Float32 pixels, uint8 colour values, or the images of a
            :class:`~astro_cnn.engine.store.TrainingStore` (read a batch at a time).
        labels : ndarray, shape (N,) or (N, K)
            One column per output of a quantity with K > 1 outputs, in the order of ``quantity.outputs``.
        extras : mapping of str to ndarray, optional
        recipe : str, optional
            Registered recipe name (default: the quantity's).
        epochs : int, optional
            All-layer epochs, overriding the recipe.
        ensemble : int
            Number of networks (seeds ``seed``, ``seed + 1``, ...).
        run_dir : path, optional
            Checkpoints, ``history.ecsv`` and ``loss_curve.png``; members of an ensemble use
            ``run_dir/member_<i>``.
        resume : bool
            Continue an interrupted run from ``run_dir``.
        seed : int
        progress : bool
        log : callable
        data_summary : mapping, optional
            Recorded in the model's metadata.
        workers : int, optional
            Processes reading batches ahead of the training step (default: none on a CPU, where
            reading costs little next to the step; up to 8 on a GPU).
        min_centre_snr : float or None
            Images that prediction would flag are left out of training, counted in the log and in
            ``info["training_data"]["left_out"]``: non-finite or blank ones, and those whose centre
            S/N is below this (prediction's own threshold, see :mod:`astro_cnn.image_checks`; None:
            no presence check).
        **overrides
            Recipe settings to override (``batch_size``, ``lr``, ...; the names and checks of
            :data:`~astro_cnn.engine.trainer.RECIPE_SETTINGS`: an unknown one or a value training cannot use
            is refused).

        Returns
        -------
        NetworkPredictor
            ``self``.
        """
        overrides = {k: v for k, v in overrides.items() if v is not None}  # None: keep the recipe's
        images = image_array(images)
        labels = checked_labels(labels, self.quantity, len(images))
        extras = checked_extras(extras, self.extras, len(images), self.name, training=True)
        checked_count(seed, "seed", 0)
        _check_counts(epochs=epochs, ensemble=ensemble, batch_size=overrides.get("batch_size"),
                      workers=workers, lr=overrides.get("lr"))
        weights = self.architecture.get("weights")
        if weights and not Path(weights).is_file():
            what = "is a directory, not a weights file" if Path(weights).is_dir() else "does not exist"
            raise AstroCNNError(f"pretrained weights file {weights!r} {what}")
        recipe_name = recipe or default_recipe(self.quantity.default_recipe, len(labels), overrides, log)
        settings = checked_recipe_settings({**registry.get("recipe", recipe_name).settings, **overrides}, recipe_name,
                                           epochs)
        recipe_tta = _checked_tta(settings.get("tta", True))  # before training: a bad override fails at once
        self._check_shape(images.shape)
        device = resolve_device(self.device)
        init_model = self.architecture.get("init_model")
        origin = (f"the weights of model {init_model!r} (fine-tuning)" if self.initial_state_ is not None
                  else f"pretrained weights from {weights}" if weights
                  else "random initial weights (no pretrained file given)")
        log(f"training {self.name}: {self.architecture['backbone']} + {self.architecture['head']}, "
            f"recipe {recipe_name}, {len(images)} images, on {device}, starting from {origin}")
        screened, data = self.training_set(images, labels, extras, float(settings.get("val_fraction", 0.0)), seed,
                                           min_centre_snr, log)
        workers = default_workers(device, "training") if workers is None else int(workers)
        torch.use_deterministic_algorithms(True, warn_only=True)
        members, histories = [], []
        for member in range(ensemble):
            torch.manual_seed(seed + member)
            np.random.seed(seed + member)
            network = self.new_network()
            member_dir = None
            if run_dir is not None:
                member_dir = Path(run_dir) / f"member_{member}" if ensemble > 1 else Path(run_dir)
            history = fit_network(network, data, settings, self.quantity.kind, seed=seed + member, epochs=epochs,
                                  run_dir=member_dir, resume=resume, progress=progress, log=log, device=device,
                                  workers=workers)
            members.append({k: v.detach().cpu().clone() for k, v in network.state_dict().items()})
            histories.append(history)
        self.members_ = members
        self.calibration_ = {}
        self.tta = recipe_tta if self.tta is True else self.tta  # calibrated as it will predict
        _warn_if_diverging(histories, log, can_be_negative=network.predicts_variance)
        if data.val_rows is not None and len(data.val_rows) >= MIN_CALIBRATION_ROWS:
            rows = np.sort(data.val_rows)
            # the validation rows passed the training screen and the label checks already
            held_out = self._calibrate_on(ImageRows(images, rows), labels[rows], subset_extras(extras, rows), {})
            log(f"uncertainties calibrated on {len(rows)} validation galaxies: coverage of ±1σ "
                f"{held_out['coverage_before']:.0%} before, {held_out['coverage_after']:.0%} after")
        self.info.update({
            "recipe": recipe_name, "recipe_settings": {k: list(v) if isinstance(v, tuple) else v
                                                       for k, v in settings.items()},
            "weights_origin": f"model {init_model}" if self.initial_state_ is not None else weights or "random",
            "seed": seed, "ensemble_size": ensemble,
            "epochs": len(histories[0]), "final_train_loss": histories[0][-1]["train_loss"] if histories[0] else None,
            "training_data": {**(data_summary or {"rows": len(images)}), "rows_trained": len(screened.rows),
                              "left_out": screened.left_out, "min_centre_snr": min_centre_snr,
                              "colour_values": colour_values(images[screened.rows[sample_rows(len(screened.rows))]])},
            "training_device": str(device) if device.type == "cpu" else f"{device} ({_device_name(device)})",
            "training_speed_settings": {name: speed_setting(name, settings.get(name), device)
                                        for name in SPEED_SETTINGS},
            "label_range": _label_range(labels[screened.rows]),
            "centre_snr_range": screened.snr_range,
            "trained": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        })
        return self

    def training_set(self, images: Any, labels: np.ndarray, extras: Mapping[str, np.ndarray] | None = None,
                     val_fraction: float = 0.0, seed: int = 0, min_centre_snr: float | None = MIN_CENTRE_SNR,
                     log=print) -> tuple[TrainingImages, TrainingData]:
        """Screen the training images (those prediction would flag are left out, see
        :func:`~astro_cnn.image_checks.screen_training_images`, and ``log`` says which), learn the
        normalisation from the images kept, and return :meth:`training_data` over them.

        Raises
        ------
        AstroCNNError
            Fewer than 2 images are left to learn from.
        """
        screened = screen_training_images(images, self.pixel_scale, min_centre_snr)
        if len(screened.rows) < 2:
            needs = "training needs at least 2, as batch normalisation learns from several images at once"
            if not screened.left_out:
                raise AstroCNNError(f"{screened.total} training image{'' if screened.total == 1 else 's'} "
                                    f"{'is' if screened.total == 1 else 'are'} too few: {needs}")
            raise AstroCNNError(f"{'none' if not len(screened.rows) else 'only 1'} of the {screened.total} training "
                                f"images can be used ({screened.reasons()}): is each image centred on its galaxy? "
                                f"(min_centre_snr=None skips the presence check); {needs}")
        if screened.left_out:
            log(screened.summary())
        rows = screened.rows
        self.learn_normalisation(images[rows[sample_rows(len(rows))]], labels[rows], subset_extras(extras, rows))
        return screened, self.training_data(images, labels, extras, val_fraction, seed, rows)

    def training_data(self, images: Any, labels: np.ndarray, extras: Mapping[str, np.ndarray] | None = None,
                      val_fraction: float = 0.0, seed: int = 0, rows: np.ndarray | None = None) -> TrainingData:
        """What the training loop reads: ``images`` as given, encoded labels, the normaliser, standardised
        extras, and a random validation split of ``val_fraction`` (none below 20 rows) of ``rows``
        (row numbers, ndarray of int; default: all).

        :meth:`learn_normalisation` must have run.
        """
        n = len(labels)
        order = np.random.default_rng(seed).permutation(n)
        if rows is not None:
            order = order[np.isin(order, rows)]  # the same order as all rows give, less those left out
        n_val = int(round(val_fraction * len(order))) if len(order) >= 20 else 0
        return TrainingData(images, self.encode_labels(labels), self.normaliser(), self.prepare_extras(extras, n),
                            fit_rows=order[n_val:], val_rows=order[:n_val] if n_val else None)

    def new_network(self) -> Network:
        """Build a network of this predictor's architecture: untrained, or starting from :attr:`initial_state_`."""
        network = build_network(self.architecture, self.quantity)
        if self.initial_state_:
            network.load_state_dict(self.initial_state_)
        return network

    @property
    def trained(self) -> bool:
        """Whether the model has trained networks."""
        return bool(self.members_)

    def start_from(self, model: NetworkPredictor | str | Path, band_map: Mapping[str, str] | None = None,
                   log=print) -> None:
        """Fine-tune from ``model`` (a trained network, or its file, name or URL): :meth:`fit` starts from its
        weights (see :mod:`astro_cnn.engine.finetune`).

        Raises
        ------
        AstroCNNError
            ``model`` is not a trained network whose backbone fits this one's, or ``band_map`` is not a
            mapping of this model's bands to ``model``'s.
        """
        from ..models import resolve_predictor
        from .finetune import initial_state

        model = resolve_predictor(model)
        if band_map is not None and not isinstance(band_map, Mapping):
            raise AstroCNNError(f"band_map must be a mapping of new band to the model's band (e.g. {{'y': 'z'}}), "
                                f"not {band_map!r}")
        self.initial_state_ = initial_state(model, self, band_map, log)
        self.architecture["init_model"] = model.name

    # --- normalisation --------------------------------------------------------------------------------
    def learn_normalisation(self, images: np.ndarray, labels: np.ndarray | None,
                            extras: Mapping[str, np.ndarray] | None) -> None:
        """Learn per-band input statistics (see :func:`~astro_cnn.engine.normalisation.image_statistics`)
        from ``images`` (a sample of the training set is enough), and label and extra-input statistics."""
        norm = image_statistics(images)
        if labels is not None and self.quantity.kind == "regression":
            encoded = self.quantity.encode(np.asarray(labels, dtype=float))  # per output: a float, or a list
            norm["label_mean"] = np.mean(encoded, axis=0).tolist()
            norm["label_std"] = np.maximum(np.std(encoded, axis=0), 1e-6).tolist()
        norm["extras_mean"], norm["extras_std"] = scalar_statistics(extras, self.extras)
        self.normalisation_ = norm

    @property
    def tta(self) -> bool | tuple[int, ...]:
        """Test-time augmentation: True (all 8 dihedral transforms), False (none) or the indices (0-7) of the
        transforms averaged over."""
        return self._tta

    @tta.setter
    def tta(self, value: bool | Sequence[int]) -> None:
        self._tta = _checked_tta(value)

    @property
    def training_pixel_noise(self) -> np.ndarray | None:
        """For flux images, the per-band noise scale of the input stretch (1.4826 × MAD of the pixels of a
        sample of the training images, see :func:`~astro_cnn.engine.normalisation.image_statistics`); None for
        8-bit colour images, whose scale is fixed, and before training."""
        if self.normalisation_.get("stretch") != "asinh":
            return None
        return np.asarray(self.normalisation_["scale"], dtype=float)

    def normaliser(self) -> ImageNormaliser:
        """The learned input normalisation as a module (raw pixels → network input, on any device)."""
        return ImageNormaliser(self.normalisation_)

    def prepare(self, images: np.ndarray | torch.Tensor) -> torch.Tensor:
        """Images ``(N, C, H, W)`` → normalised float32 tensor (on the CPU)."""
        with torch.no_grad():
            return self.normaliser()(torch.as_tensor(as_float_images(images)))

    def prepare_extras(self, extras: Mapping[str, np.ndarray] | None, n: int) -> torch.Tensor | None:
        """Extra inputs → standardised tensor ``(N, E)``, or None when the model takes none."""
        if not self.extras:
            return None
        norm = self.normalisation_
        columns = [(np.asarray(extras[e], dtype=np.float32) - m) / s
                   for e, m, s in zip(self.extras, norm["extras_mean"], norm["extras_std"])]
        return torch.as_tensor(np.stack(columns, axis=1)).reshape(n, len(self.extras))

    def encode_labels(self, labels: np.ndarray) -> torch.Tensor:
        """Labels → training targets: standardised values on each output's scale (regression) or bin indices (PDF)."""
        labels = np.asarray(labels, dtype=np.float64)
        if self.quantity.kind == "pdf":
            lo, hi = self.quantity.pdf_range
            index = np.floor((labels - lo) / (hi - lo) * self.quantity.pdf_bins)
            return torch.as_tensor(np.clip(index, 0, self.quantity.pdf_bins - 1).astype(np.int64))
        norm = self.normalisation_
        encoded = self.quantity.encode(labels)
        return torch.as_tensor(((encoded - _stat(norm["label_mean"])) / _stat(norm["label_std"])).astype(np.float32))

    # --- prediction -----------------------------------------------------------------------------------
    def predict_images(self, images: np.ndarray, extras: Mapping[str, np.ndarray] | None = None,
                       batch_size: int = 128) -> Prediction:
        """Predict with test-time augmentation over the chosen dihedral transforms and every ensemble member.

        The uncertainty of a regression is the standard deviation over transforms and members (taken,
        like the mean, on each output's learned scale, see :class:`astro_cnn.quantity.Output`), with the
        variance a variance head predicts, as calibrated; a model with none of these (one network, no
        test-time augmentation, no variance head, not calibrated) measures no uncertainty: its error is NaN
        rather than 0, with a warning, and the Table contract keeps its values.  For a PDF quantity the PDFs
        are averaged and summarised (mean, 68 % interval).

        Raises
        ------
        IncompatibleImagesError
            ``images`` is not an array of shape ``(N, bands, size, size)`` as the model takes.
        """
        images = self.images_of_shape(images)
        extras = checked_extras(extras, self.extras, len(images), self.name, training=False)
        return self._predict(images, extras, batch_size, calibrated=True)

    def _predict(self, images: Any, extras: Mapping[str, np.ndarray] | None, batch_size: int,
                 calibrated: bool) -> Prediction:
        stacked, variances = self._stacked_outputs(images, extras, batch_size)
        calibration = self.calibration_ if calibrated else {}
        if self.quantity.kind == "pdf":
            pdf = stacked.mean(axis=0)
            if "temperature" in calibration:
                pdf = apply_temperature(pdf, calibration["temperature"])
            return self.quantity.summarise_pdf(pdf)
        mean, spread = self._encoded_spread(stacked, variances)
        if calibration:
            spread = _calibrated_spread(calibration, spread)
        elif calibrated and len(stacked) == 1 and variances is None:
            spread = np.full_like(spread, np.nan)  # one network seeing one view: its spread of 0 measures nothing
            warnings.warn(f"model {self.name!r} measures no uncertainty (one network, no test-time augmentation, no "
                          f"variance head, not calibrated): its errors are NaN; calibrate it on held-out galaxies, "
                          f"or predict with model.tta = True", UserWarning, stacklevel=3)
        return Prediction(self.quantity.decode(mean), self.quantity.decode_error(mean, spread))

    def _stacked_outputs(self, images: Any, extras: Mapping[str, np.ndarray] | None,
                         batch_size: int) -> tuple[np.ndarray, np.ndarray | None]:
        """:meth:`outputs_and_variances` of all images, a batch at a time."""
        if not self.trained:
            raise AstroCNNError(f"model {self.name!r} has not been trained")
        batch_size = checked_count(batch_size, "batch_size")
        outputs = [self.outputs_and_variances(images[i:i + batch_size] if isinstance(images, np.ndarray)  # a view
                                              else images[np.arange(i, min(i + batch_size, len(images)))],
                                              None if extras is None else
                                              {k: np.asarray(v)[i:i + batch_size] for k, v in extras.items()})
                   for i in range(0, len(images), batch_size)]
        if not outputs:
            return np.zeros((1, 0)), None
        values = np.concatenate([o[0] for o in outputs], axis=1)
        return values, None if outputs[0][1] is None else np.concatenate([o[1] for o in outputs], axis=1)

    def _encoded_spread(self, values: np.ndarray, variances: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        """Mean and spread of regression outputs on each output's learned scale: the spread over (member,
        transform), combined with the mean variance the head predicted where it predicts one."""
        encoded = self.quantity.encode(values)
        variance = encoded.var(axis=0)
        if variances is not None:
            variance = variance + variances.mean(axis=0)
        return encoded.mean(axis=0), np.sqrt(variance)

    def calibrate(self, images: Any, labels: np.ndarray, extras: Mapping[str, np.ndarray] | None = None,
                  batch_size: int = 128, min_centre_snr: float | None = MIN_CENTRE_SNR,
                  log=print) -> dict[str, Any]:
        """Calibrate the uncertainties on held-out galaxies (see :mod:`astro_cnn.engine.calibration`).

        Regression: ``*_err`` becomes ``sqrt(floor² + (scale·spread)²)``, with a power of the spread
        where the residuals ask for one (:func:`~astro_cnn.engine.calibration.fit_error_model`; for
        each output, on its learned scale); PDF: a temperature. Use
        galaxies the model did not train on; :meth:`fit` does this itself on the recipe's
        validation split.  Images that prediction would flag (:meth:`calibration_set`) are left
        out, as training leaves them out, and ``log`` says which.

        Parameters
        ----------
        images : ndarray or StoreImages, shape (N, C, H, W)
        labels : ndarray, shape (N,) or (N, K)
        extras : mapping of str to ndarray, optional
        batch_size : int
        min_centre_snr : float or None
            Lowest centre S/N that counts as a source (prediction's threshold; None: no presence check).
        log : callable
            Receives the line saying which images were left out, if any.

        Returns
        -------
        dict
            The calibration, with the ±1σ (68 %) coverage before and after and ``left_out`` (the
            images left out, counted by reason); also kept in :attr:`calibration_` and
            ``info["calibration"]``.

        Raises
        ------
        AstroCNNError, IncompatibleImagesError
            As :meth:`calibration_set`: labels it cannot use, images of another shape than the
            model's, or none that prediction would measure.
        """
        images, labels, screened = self.calibration_set(images, labels, min_centre_snr, log)
        extras = checked_extras(extras, self.extras, len(images), self.name, training=True)
        if screened.left_out:
            rows = screened.rows
            images, labels, extras = ImageRows(images, rows), labels[rows], subset_extras(extras, rows)
        return self._calibrate_on(images, labels, extras, screened.left_out, batch_size)

    def _calibrate_on(self, images: Any, labels: np.ndarray, extras: Mapping[str, np.ndarray] | None,
                      left_out: dict[str, int], batch_size: int = 128) -> dict[str, Any]:
        """:meth:`calibrate` on images and labels already checked and screened (``left_out``: those it left out)."""
        if self.quantity.kind == "pdf":
            raw = self._predict(images, extras, batch_size, calibrated=False)
            temperature = fit_temperature(raw.pdf, self.encode_labels(labels).numpy())
            after = self.quantity.summarise_pdf(apply_temperature(raw.pdf, temperature))
            calibration = {"kind": "temperature", "temperature": temperature, "rows": int(len(labels)),
                           "coverage_before": interval_coverage(labels, raw),
                           "coverage_after": interval_coverage(labels, after)}
        else:
            mean, spread = self._encoded_spread(*self._stacked_outputs(images, extras, batch_size))
            calibration = fit_error_models(self.quantity, labels, mean, spread)
        calibration["left_out"] = left_out
        self.calibration_ = calibration
        self.info["calibration"] = calibration
        return calibration

    def raw_outputs(self, images: np.ndarray, extras: Mapping[str, np.ndarray] | None) -> np.ndarray:
        """Outputs for every (member, transform): shape (M·T, N) in label units ((M·T, N, K) for K outputs),
        or (M·T, N, bins) PDFs."""
        return self.outputs_and_variances(images, extras)[0]

    def outputs_and_variances(self, images: np.ndarray,
                              extras: Mapping[str, np.ndarray] | None) -> tuple[np.ndarray, np.ndarray | None]:
        """:meth:`raw_outputs`, and the variances a variance head predicts with them.

        Returns
        -------
        outputs : ndarray
            As :meth:`raw_outputs`.
        variances : ndarray or None
            For a head that predicts variances (see :mod:`astro_cnn.engine.losses`), the variance of
            each output on its learned scale (:meth:`Quantity.encode`), shaped like ``outputs``;
            otherwise None.
        """
        device = resolve_device(self.device)
        with torch.inference_mode():
            pixels = torch.as_tensor(np.asarray(images)).to(device, non_blocking=True)
            x = prepare_input(self._normaliser_on(device)(pixels),
                              channels_last=speed_setting("channels_last", self.channels_last, device))
        e = self.prepare_extras(extras, len(x))
        e = None if e is None else e.to(device)
        transforms = self._transforms()
        results, variances = [], []
        norm = self.normalisation_
        with torch.inference_mode(), autocast(device, speed_setting("bf16", self.bf16, device)):
            for network in self.networks():
                for k in transforms:
                    out = network(dihedral(x, k), e).float()
                    if self.quantity.kind == "pdf":
                        results.append(torch.softmax(out, dim=1).cpu().numpy())
                        continue
                    if network.predicts_variance:
                        out, log_variance = split_mean_variance(out)
                        shape = (-1,) if self.quantity.n_outputs == 1 else (-1, self.quantity.n_outputs)
                        out = out.reshape(shape)
                        variances.append(torch.exp(log_variance).reshape(shape).cpu().numpy()
                                         * _stat(norm["label_std"]) ** 2)
                    results.append(self.quantity.decode(out.cpu().numpy() * _stat(norm["label_std"])
                                                        + _stat(norm["label_mean"])))
        return np.stack(results), np.stack(variances) if variances else None

    def networks(self) -> list[Network]:
        """The trained networks in evaluation mode (built once from :attr:`members_`)."""
        device = resolve_device(self.device)
        channels_last = speed_setting("channels_last", self.channels_last, device)
        key = (id(self.members_), len(self.members_), channels_last, str(device))
        if self._networks_key != key:
            self._networks_key = key
            self._networks = []
            for state in self.members_:
                network = self.new_network()
                network.load_state_dict(state)
                network.to(device).eval()
                self._networks.append(prepare_network(network, channels_last=channels_last))
            self._device_normaliser = self.normaliser().to(device)
        return self._networks

    def _normaliser_on(self, device: torch.device) -> ImageNormaliser:
        self.networks()
        return self._device_normaliser

    def _transforms(self) -> tuple[int, ...]:
        if self.tta is True:
            return ALL_TRANSFORMS
        if self.tta is False:
            return (0,)
        return self.tta

    # --- persistence ----------------------------------------------------------------------------------
    def metadata(self) -> dict[str, Any]:
        """Base metadata plus architecture, normalisation, ensemble size and TTA."""
        meta = super().metadata()
        meta.update({"architecture": self.architecture, "normalisation": self.normalisation_,
                     "calibration": self.calibration_,
                     "ensemble_size": len(self.members_), "half_precision_storage": self.half_precision_storage,
                     "tta": self.tta if isinstance(self.tta, bool) else list(self.tta),
                     "channels_last": self.channels_last})
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
                        backbone=arch["backbone"], head=arch["head"],
                        backbone_options=arch.get("backbone_options"), head_options=arch["head_options"],
                        tta=metadata["tta"])
        predictor.architecture["weights"] = arch.get("weights")
        predictor.normalisation_ = metadata["normalisation"]
        predictor.calibration_ = dict(metadata.get("calibration") or {})
        predictor.half_precision_storage = bool(metadata.get("half_precision_storage", False))
        predictor.channels_last = metadata.get("channels_last", "auto")
        members = torch.load(io.BytesIO(state), map_location="cpu", weights_only=True)["members"]
        predictor.members_ = [{k: v.float() if v.is_floating_point() else v for k, v in m.items()}
                              for m in members]
        return predictor


def _stat(value: float | list[float]) -> float | np.ndarray:
    """A label statistic as stored: a float (one output) or a list (one per output), ready to broadcast."""
    return np.asarray(value, dtype=np.float32) if isinstance(value, list) else value


def _label_range(labels: np.ndarray) -> list:
    """Smallest and largest label: ``[lo, hi]``, or ``[[lo, hi], ...]`` per output of a multi-output quantity."""
    if labels.ndim == 1:
        return [float(labels.min()), float(labels.max())]
    return [[float(lo), float(hi)] for lo, hi in zip(labels.min(axis=0), labels.max(axis=0))]


def fit_error_models(quantity: Quantity, labels: np.ndarray, mean: np.ndarray, spread: np.ndarray) -> dict[str, Any]:
    """Calibrate each output's uncertainty (:func:`~astro_cnn.engine.calibration.fit_error_model`) on its learned scale.

    A single output gives that output's error model as before; several give ``{"kind": "gaussian",
    "outputs": [model, ...], "rows", "coverage_before", "coverage_after"}``, one model per output in
    the quantity's order (each with its ``column`` and own coverages), the coverages averaged.
    """
    encoded = quantity.encode(labels)
    if quantity.n_outputs == 1:
        return fit_error_model(encoded, mean, spread)
    models = [{"column": o.column, **fit_error_model(encoded[:, k], mean[:, k], spread[:, k])}
              for k, o in enumerate(quantity.outputs)]
    return {"kind": "gaussian", "outputs": models, "rows": int(len(labels)),
            "coverage_before": float(np.mean([m["coverage_before"] for m in models])),
            "coverage_after": float(np.mean([m["coverage_after"] for m in models]))}


def _calibrated_spread(calibration: dict[str, Any], spread: np.ndarray) -> np.ndarray:
    """Calibrated 1σ from raw spreads: one error model, or one per output (columns in the outputs' order)."""
    if "outputs" not in calibration:
        return apply_error_model(calibration, spread)
    return np.stack([apply_error_model(model, spread[:, k]) for k, model in enumerate(calibration["outputs"])], axis=1)


#: Fewest validation galaxies :meth:`NetworkPredictor.fit` calibrates uncertainties on.
MIN_CALIBRATION_ROWS = 20


class ImageRows:
    """Rows of an image array or store, read when indexed (so a validation split is never copied whole).

    Training, calibration and prediction take it as they take a store's images.

    Parameters
    ----------
    images : ndarray or StoreImages, shape (N, C, H, W)
        All the images.
    rows : ndarray of int
        The rows of ``images`` these are, in order.
    """

    def __init__(self, images: Any, rows: np.ndarray):
        self.images, self.rows = images, rows

    def __len__(self) -> int:
        return len(self.rows)

    @property
    def row_shape(self) -> tuple[int, ...]:
        """``(C, H, W)``: one image's shape (as a store's images give it, so training reads these a batch at a
        time rather than copying them whole)."""
        return tuple(self.images.shape[1:])

    @property
    def shape(self) -> tuple[int, ...]:
        """``(rows, C, H, W)``."""
        return (len(self.rows),) + self.row_shape

    def __getitem__(self, index: np.ndarray) -> np.ndarray:
        return np.asarray(self.images[self.rows[index]])

    @property
    def table_rows(self) -> np.ndarray:
        """The table row of each of these images, for logs: the images' own where they know them (a store's),
        else their positions in ``images``."""
        known = getattr(self.images, "table_rows", None)
        return self.rows if known is None else np.asarray(known)[self.rows]


def interval_coverage(truth: np.ndarray, prediction: Prediction) -> float:
    """Fraction of true values inside the predicted 68 % interval (±1σ, or the PDF's 16-84 % range)."""
    if prediction.pdf is not None:
        from ..pdf import pdf_quantile

        low = pdf_quantile(prediction.pdf, prediction.bin_edges, 0.16)
        high = pdf_quantile(prediction.pdf, prediction.bin_edges, 0.84)
        return float(np.mean((truth >= low) & (truth <= high)))
    return coverage(truth, prediction.value, prediction.error)


#: Fewest optimiser steps per epoch a default recipe is used with (fewer leave the schedule meaningless).
MIN_STEPS_PER_EPOCH = 20


def default_recipe(name: str, rows: int, overrides: Mapping[str, Any], log=print) -> str:
    """The recipe to train ``rows`` images with when the user named none: the quantity's, or its small-data variant.

    A recipe whose batch size leaves fewer than :data:`MIN_STEPS_PER_EPOCH` steps per epoch does
    not train (Wu & Boada's batch of 256 on 400 images is 2 steps an epoch); its registered
    ``<name>-small-data`` variant is used instead, and without one the run is refused with advice.

    Raises
    ------
    AstroCNNError
        The default recipe is too coarse for ``rows`` images and has no small-data variant.
    """
    batch = int(overrides.get("batch_size") or registry.get("recipe", name).settings["batch_size"])
    steps = -(-rows // batch)
    if steps >= MIN_STEPS_PER_EPOCH or "batch_size" in overrides:
        return name
    small = f"{name}-small-data"
    if small in registry.names("recipe"):
        log(f"{rows} training images give only {steps} steps per epoch with recipe {name!r} (batch {batch}): "
            f"using {small!r}")
        return small
    raise AstroCNNError(f"{rows} training images give only {steps} steps per epoch with recipe {name!r} "
                        f"(batch {batch}), too few to train: pass batch_size={max(1, rows // MIN_STEPS_PER_EPOCH)} "
                        f"or a recipe made for small training sets (recipe='wu2019-small-data')")


def _check_counts(*, epochs: Any, ensemble: Any, batch_size: Any, workers: Any, lr: Any) -> None:
    """Refuse arguments that cannot train: counts below 1 (0 for workers; 2 for a batch, as batch normalisation
    needs 2 images), a learning rate ≤ 0 or not finite."""
    for name, value, least in (("epochs", epochs, 1), ("ensemble", ensemble, 1), ("batch_size", batch_size, 2),
                               ("workers", workers, 0)):
        if value is not None:
            checked_count(value, name, least)
    if lr is not None:
        checked_number(lr, "lr")


def _warn_if_diverging(histories: list[list[dict[str, Any]]], log, can_be_negative: bool = False) -> None:
    """Warn when a network's validation loss ended well above its best (overfitting or a learning rate too high):
    above :func:`~astro_cnn.engine.losses.rise_limit` at 1.5."""
    for member, history in enumerate(histories):
        losses = [r["val_loss"] for r in history if "val_loss" in r]
        if len(losses) < 2:
            continue
        best, limit = min(losses), rise_limit(losses, 1.5, can_be_negative)
        how = (f"above 1.5 x its best {best:.4g}" if best > 0 and not can_be_negative else
               f"above {limit:.4g} (its best {best:.4g} plus half its fall from {losses[0]:.4g}, or of its size)")
        if losses[-1] > limit or not np.isfinite(losses[-1]):
            message = (f"validation loss ended at {losses[-1]:.4g}, {how} (network {member}): the model may be "
                       f"overfitting or the learning rate too high; check the loss curve and consider fewer epochs "
                       f"or a lower lr")
            log(f"warning: {message}")
            warnings.warn(message, RuntimeWarning, stacklevel=3)


def _device_name(device: torch.device) -> str:
    return torch.cuda.get_device_name(device) if device.type == "cuda" else str(device)


def _checked_tta(value: Any) -> bool | tuple[int, ...]:
    """``tta`` as True, False or a tuple of distinct dihedral transform indices; refuses anything else."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    indices = None
    if isinstance(value, Sequence | np.ndarray) and not isinstance(value, str | bytes):
        try:
            indices = tuple(operator.index(k) for k in value if not isinstance(k, (bool, np.bool_)))
        except TypeError:
            indices = None
        if indices is not None and len(indices) != len(value):  # [True] is not transform 1
            indices = None
    if not indices or len(set(indices)) != len(indices) or not set(indices) <= set(ALL_TRANSFORMS):
        raise AstroCNNError(f"tta must be True, False or a sequence of distinct dihedral transform indices "
                            f"{ALL_TRANSFORMS[0]}-{ALL_TRANSFORMS[-1]}, not {value!r}")
    return indices
