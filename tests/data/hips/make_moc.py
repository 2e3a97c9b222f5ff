"""Rebuild ``moc.fits``, the recorded HiPS MOC of the HiPS tests (run from the repository root).

The MOC (IVOA MOC FITS, ``ORDERING = 'NUNIQ'``, written by :meth:`astro_cnn_hips.moc.MOC.to_fits`)
holds the HEALPix order-15 cells (about 6.4 arcsec) whose centre and four corners all fall on the
r-band test frame ``tests/data/sdss/frames/frame-r-003918-3-0213.fits.bz2`` (200 x 200 px around
RA 229.5256, Dec +42.7459): a footprint of about 75 x 75 arcsec that the test server can fill with
real pixels, standing in for the MOC the CDS MOC server returns for a survey's HiPS.
"""

import warnings
from pathlib import Path

import astropy.units as u
import numpy as np
from astropy.coordinates import ICRS
from astropy.io import fits
from astropy.wcs import WCS
from astropy_healpix import HEALPix

from astro_cnn_hips.moc import MOC

ORDER = 15
HERE = Path(__file__).resolve().parent
FRAME = HERE.parent / "sdss" / "frames" / "frame-r-003918-3-0213.fits.bz2"


def main() -> None:
    with fits.open(FRAME) as hdul, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        shape, wcs = hdul[0].data.shape, WCS(hdul[0].header)
    healpix = HEALPix(nside=2**ORDER, order="nested", frame=ICRS())
    centre = wcs.pixel_to_world(shape[1] / 2, shape[0] / 2)
    cells = healpix.cone_search_lonlat(centre.ra, centre.dec, 60 * u.arcsec)
    corners = healpix.boundaries_lonlat(cells, step=1)
    lon = np.concatenate([corners[0].to_value(u.deg), healpix.healpix_to_lonlat(cells)[0].deg[:, None]], 1)
    lat = np.concatenate([corners[1].to_value(u.deg), healpix.healpix_to_lonlat(cells)[1].deg[:, None]], 1)
    x, y = wcs.all_world2pix(lon, lat, 0)
    inside = np.all((x >= 0) & (x <= shape[1] - 1) & (y >= 0) & (y <= shape[0] - 1), axis=1)
    (HERE / "moc.fits").write_bytes(MOC.from_cells(ORDER, np.sort(cells[inside])).to_fits())
    print(f"{inside.sum()} cells of order {ORDER}")


if __name__ == "__main__":
    main()
