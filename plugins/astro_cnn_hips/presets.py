"""Presets: the HiPS of a few well-known surveys, band by band, with what each survey declares about its pixels.

Where each number comes from (also in ``docs/hips.rst``):

HiPS identifiers
    The CDS HiPS registry (``https://aladin.cds.unistra.fr/hips/list``, also served by the CDS
    MocServer and listed by ``astroquery.mocserver``); identifiers are ``<authority>/P/<survey>/<band>``.
Legacy Surveys DR10 (``legacy-dr10``)
    0.262″ pixels, images in nanomaggies (AB zero point 22.5): "Legacy Surveys DR10 description",
    https://www.legacysurvey.org/dr10/description/ (and Dey et al. 2019, AJ 157, 168).  The PSF
    varies brick by brick (``psfsize_*`` maps of the release), so no single FWHM is declared.
Pan-STARRS 1 DR1 (``ps1-dr1``)
    0.25″ stack pixels and median seeing g 1.31″, r 1.19″, i 1.11″, z 1.07″, y 1.02″ of the 3π
    survey: Chambers et al. 2016 (arXiv:1612.05560).  Stack pixels are counts whose zero point is
    25 + 2.5 log10(exposure time) skycell by skycell (PS1 stack images, MAST documentation), so
    no single flux unit or zero point is declared.
SDSS DR9 (``sdss-dr9``)
    0.396″ pixels (Gunn et al. 1998, AJ 116, 3040); corrected frames in nanomaggies, AB zero point
    22.5 (SDSS DR9 ``frame`` data model); median PSF FWHM u 1.53″, g 1.44″, r 1.32″, i 1.26″,
    z 1.29″ (SDSS imaging documentation, "Understanding SDSS imaging data").
DES DR2 (``des-dr2``)
    0.263″ coadd pixels, coadd images scaled to an AB zero point of 30, median PSF FWHM g 1.11″,
    r 0.95″, i 0.88″, z 0.83″, Y 0.90″: Abbott et al. 2021, ApJS 255, 20 (DES DR2).

The HiPS tiles are the survey's images re-pixelised on HEALPix by their makers; hips2fits
resamples them again onto the requested grid, so pixel values stay in the survey's flux unit
(surface brightness is kept, not the flux per pixel, when the requested scale differs from the
native one).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import astropy.units as u

__all__ = ["Preset", "PRESETS"]


@dataclass(frozen=True)
class Preset:
    """The HiPS of one survey and what it declares about its pixels.

    Attributes
    ----------
    name : str
        Preset name (``preset=`` option).
    title : str
        Survey and release, for messages (``"outside the <title> footprint"``).
    hips : dict of str to str
        HiPS identifier of each band (FITS tiles, fluxes), in the survey's band order.
    colour_hips : str
        HiPS identifier of the survey's colour (JPEG/PNG) HiPS.
    colour_bands : tuple of str
        Band shown in the colour HiPS's red, green and blue channels.
    native_pixel_scale : Quantity
        Pixel scale of the survey's own images.
    flux_unit : Unit or None
        Unit of the FITS pixels (None: no single unit).
    zero_point : float or None
        AB magnitude of a pixel sum of 1 ``flux_unit``.
    psf_fwhm : dict of str to Quantity, or None
        Median PSF FWHM of each band.
    data_release : str
        Release of the survey.
    sources : str
        Where the numbers come from.
    """

    name: str
    title: str
    hips: dict[str, str]
    colour_hips: str
    colour_bands: tuple[str, str, str]
    native_pixel_scale: u.Quantity
    flux_unit: u.UnitBase | None
    zero_point: float | None
    psf_fwhm: dict[str, u.Quantity] | None
    data_release: str
    sources: str = field(default="", compare=False)


def _arcsec(**fwhm: float) -> dict[str, u.Quantity]:
    return {band: value * u.arcsec for band, value in fwhm.items()}


#: The presets by name.
PRESETS: dict[str, Preset] = {preset.name: preset for preset in (
    Preset("legacy-dr10", "DESI Legacy Surveys DR10",
           {band: f"CDS/P/DESI-Legacy-Surveys/DR10/{band}" for band in "griz"},
           "CDS/P/DESI-Legacy-Surveys/DR10/color", ("z", "r", "g"), 0.262 * u.arcsec, u.nanomaggy, 22.5, None,
           "DR10", "https://www.legacysurvey.org/dr10/description/; Dey et al. 2019, AJ 157, 168"),
    Preset("ps1-dr1", "Pan-STARRS 1 DR1",
           {band: f"CDS/P/PanSTARRS/DR1/{band}" for band in "grizy"},
           "CDS/P/PanSTARRS/DR1/color-z-zg-g", ("z", "zg", "g"), 0.25 * u.arcsec, None, None,
           _arcsec(g=1.31, r=1.19, i=1.11, z=1.07, y=1.02), "DR1",
           "Chambers et al. 2016, arXiv:1612.05560; PS1 stack images (MAST documentation)"),
    Preset("sdss-dr9", "SDSS DR9",
           {band: f"CDS/P/SDSS9/{band}" for band in "ugriz"},
           "CDS/P/SDSS9/color", ("i", "r", "g"), 0.396 * u.arcsec, u.nanomaggy, 22.5,
           _arcsec(u=1.53, g=1.44, r=1.32, i=1.26, z=1.29), "DR9",
           "Gunn et al. 1998, AJ 116, 3040; SDSS DR9 frame data model; SDSS imaging documentation"),
    Preset("des-dr2", "DES DR2",
           {band: f"CDS/P/DES-DR2/{band}" for band in "grizY"},
           "CDS/P/DES-DR2/ColorIRG", ("i", "r", "g"), 0.263 * u.arcsec, u.adu, 30.0,
           _arcsec(g=1.11, r=0.95, i=0.88, z=0.83, Y=0.90), "DR2", "Abbott et al. 2021, ApJS 255, 20"),
)}
