"""Evaluation: metrics tables, baselines, figures and reports (Table in, Table of metrics out)."""

from .baselines import mean_colour_forest, mean_colours, mean_predictor, photometry_forest
from .figures import gallery_figure, mzr_figure, pdf_gallery, pit_figure, prediction_figure, resolution_figure
from .metrics import binned_metrics, evaluate, nmad, regression_metrics, rmse
from .photoz import crps_binned, delta_z, evaluate_photoz, photoz_metrics, pit, pit_histogram, sigma_mad
from .qp_export import to_qp, write_qp
from .report import write_report
from .studies import mzr_study, prediction_resolution_study, rebin, resolution_study, tremonti_mzr

__all__ = ["evaluate", "binned_metrics", "regression_metrics", "rmse", "nmad", "mean_predictor", "mean_colours",
           "mean_colour_forest", "photometry_forest", "prediction_figure", "pit_figure", "pdf_gallery",
           "gallery_figure", "resolution_figure", "mzr_figure", "write_report", "evaluate_photoz",
           "photoz_metrics", "delta_z", "sigma_mad", "crps_binned", "pit", "pit_histogram",
           "rebin", "resolution_study", "prediction_resolution_study", "tremonti_mzr", "mzr_study",
           "to_qp", "write_qp"]
