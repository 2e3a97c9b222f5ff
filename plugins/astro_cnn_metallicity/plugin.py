"""Registers the ``metallicity`` quantity (12+log(O/H) in dex from SDSS gri colour cutouts) and its bundled model."""

from pathlib import Path

import astropy.units as u

import astro_cnn

HERE = Path(__file__).parent

METALLICITY = astro_cnn.Quantity(
    name="metallicity",
    column="log_oh",
    unit=u.dex,
    description="gas-phase metallicity 12+log(O/H) (MPA-JHU oh_p50), as in Wu & Boada (2019, MNRAS 484, 4683)",
    kind="regression",
    label_columns=("oh_p50", "log_oh", "12_log_oh"),
    valid_range=(7.0, 10.0),
    default_survey="sdss-jpeg",
    default_backbone="resnet34",
    default_head="regression",
    default_recipe="wu2019",
    ucd="phys.abund.Z",
)

MODEL = astro_cnn.ModelSpec(
    name="metallicity-sdss-gri-v1",
    quantity="metallicity",
    path=HERE / "models" / "metallicity-sdss-gri-v1.acnn",
    card=HERE / "models" / "metallicity-sdss-gri-v1.md",
    default=True,
    description="small CNN trained on 400 real SDSS gri cutouts (demonstration scale; the demo galaxies are "
                "among them)",
    demo_table=HERE / "demo" / "galaxies.ecsv",
    demo_image_column=None,
    demo_truth_column="oh_p50",
    demo_reference_column="cnn_pred_128",
)


@astro_cnn.hookimpl
def astro_cnn_quantities():
    """Metallicity."""
    return [METALLICITY]


@astro_cnn.hookimpl
def astro_cnn_models():
    """The bundled metallicity model, with the 100 demo galaxies."""
    return [MODEL]
