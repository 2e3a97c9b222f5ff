"""MOC FITS read and written without mocpy: NUNIQ and RANGE orderings, positions in and out, garbage refused."""

import io

import astropy.units as u
import numpy as np
import pytest
from astropy.coordinates import ICRS
from astropy.io import fits
from astropy_healpix import HEALPix

from astro_cnn_hips.moc import MAX_ORDER, MOC

from .hips_fixtures import GALAXY, MOC_PATH


def test_recorded_moc_covers_the_test_frame_only():
    moc = MOC.from_fits(MOC_PATH.read_bytes())
    assert list(moc.contains([GALAXY[0], GALAXY[0] + 0.02, 10.0], [GALAXY[1], GALAXY[1], -30.0])) == \
        [True, False, False]
    with fits.open(MOC_PATH) as hdul:
        assert hdul[1].header["ORDERING"] == "NUNIQ" and hdul[1].header["MOCORDER"] == 15


def test_round_trip_merges_aligned_cells_into_their_parent():
    healpix = HEALPix(nside=2**10, order="nested", frame=ICRS())
    cell = int(healpix.lonlat_to_healpix(40 * u.deg, 20 * u.deg)) // 4 * 4
    moc = MOC.from_cells(10, [cell, cell + 1, cell + 2, cell + 3, 12345])
    with fits.open(io.BytesIO(moc.to_fits())) as hdul:
        uniq = sorted(hdul[1].data["UNIQ"].tolist())
    assert uniq == sorted([4 * 4**9 + cell // 4, 4 * 4**10 + 12345])
    again = MOC.from_fits(moc.to_fits())
    lon, lat = healpix.healpix_to_lonlat([cell, cell + 3, 12345, cell + 4])
    assert list(again.contains(lon.deg, lat.deg)) == [True, True, True, False]


def test_range_ordering_of_moc_2():
    shift = 2 * (MAX_ORDER - 3)
    hdu = fits.BinTableHDU.from_columns([fits.Column("RANGE", "K", array=np.array([5 << shift, 7 << shift]))])
    hdu.header["ORDERING"] = "RANGE"
    buffer = io.BytesIO()
    fits.HDUList([fits.PrimaryHDU(), hdu]).writeto(buffer)
    moc = MOC.from_fits(buffer.getvalue())
    lon, lat = HEALPix(nside=8, order="nested", frame=ICRS()).healpix_to_lonlat([5, 6, 7])
    assert list(moc.contains(lon.deg, lat.deg)) == [True, True, False]


@pytest.mark.parametrize("body", [b"", b"<html>busy</html>", MOC_PATH.read_bytes()[:3000],
                                  fits.PrimaryHDU(np.zeros((2, 2))).data.tobytes()])
def test_garbage_is_a_value_error(body):
    with pytest.raises(ValueError):
        MOC.from_fits(body)
