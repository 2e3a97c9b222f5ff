"""Rebuild the SDSS test fixtures from the real files in /work/shared/data (run from the repository root).

- ``frames/``: 200 x 200 px crops (astropy Cutout2D, WCS kept exact) of the five DR17 corrected frames
  of field 3918-3-213 around the SkyServer default galaxy objID 1237662301903192106
  (RA 229.525575753922, Dec 42.7458537608544), primary header kept, saved as ``.fits.bz2``
  under the SAS file names.
- ``jpeg/``: three SkyServer ImgCutout JPEGs (Wu & Boada 2019 demo set), byte-identical.
- ``sql/``: SkyServer CSV answers (``#Table1`` line, header, rows); the first line of each file is
  ``-- <substring of the SQL it answers>``.
"""

import bz2
import shutil
from pathlib import Path

import astropy.units as u
from astropy.coordinates import SkyCoord
from astropy.io import fits
from astropy.nddata import Cutout2D
from astropy.wcs import WCS

SHARED = Path("/work/shared/data")
OUT = Path(__file__).resolve().parent
GALAXY = SkyCoord(229.525575753922 * u.deg, 42.7458537608544 * u.deg)
JPEGS = ("1237648674532688079.jpg", "1237648702973411443.jpg", "1237648702994383943.jpg")


def main() -> None:
    for band in "ugriz":
        name = f"frame-{band}-003918-3-0213.fits.bz2"
        with fits.open(SHARED / "sdss_dr17_frames_ugriz_4fields" / name) as hdul:
            header = hdul[0].header.copy()
            cut = Cutout2D(hdul[0].data, GALAXY, (200, 200), wcs=WCS(header), mode="partial", fill_value=0.0)
        for key in list(header):
            if key.startswith(("CD1_", "CD2_", "CRPIX", "CRVAL", "CTYPE", "CUNIT")):
                del header[key]
        header.update(cut.wcs.to_header())
        raw = fits.PrimaryHDU(cut.data.astype("float32"), header)
        target = OUT / "frames" / name
        target.parent.mkdir(exist_ok=True)
        with bz2.open(target, "wb") as handle:
            raw.writeto(handle)
    (OUT / "jpeg").mkdir(exist_ok=True)
    for name in JPEGS:
        shutil.copyfile(SHARED / "sdss_gri_metallicity_wu2019_demo" / "jpeg" / name, OUT / "jpeg" / name)


if __name__ == "__main__":
    main()
