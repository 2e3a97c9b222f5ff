"""Check: galaxies injected into the real SDSS frames come out with the flux, size, PSF and noise they should.

Frames: the 20 DR17 corrected frames (4 fields x ugriz) in ``../shared/data/sdss_dr17_frames_ugriz_4fields``
(or the directory given as the first argument).  Everything goes through the injection plugin's own code
(``plan_injections``, ``inject``, ``render_galaxy``, the ``sdss-injected`` survey).

1. PSF: each frame's FWHM measured from its stars (``measure_psf``); then 10 point-like galaxies (r_e 0.01″,
   16.5 mag) injected into each frame at random places and fitted with a circular Gaussian (photutils
   ``fit_fwhm``) on the injected frame itself: median ratio injected / stars per band (goal within 3 % of 1).
2. Size: 200 planned galaxies (r = 15.5-17.7, 0.03 < z < 0.25, half de Vaucouleurs) rendered without noise
   through their field's r-band WCS and PSF; Petrosian R50 measured with circular apertures
   (``measure_petrosian_r50``) vs the relation's ``r50_petrosian`` of the plan: median ratio per Sérsic index
   (goal within 5 % of 1; the remaining offset is ellipticity, which the round-profile table ignores).
3. Flux: the same galaxies injected with photon noise into their r frame.  All the light added (injected minus
   original frame, summed over the 121 x 121 px part) vs the catalogue magnitude (goal Δm = 0); then aperture
   photometry in a circle of twice the Petrosian radius (4 R50, at least 4″), (a) of the light added and (b) of
   the injected frame alone with the background from an annulus (what a photometrist would measure, neighbours
   included), vs the catalogue magnitude, per Sérsic index, next to the Δm the noise-free model has in the same
   aperture (a Petrosian aperture misses about 0.2 mag of a de Vaucouleurs profile by definition): medians and
   NMADs.
4. Noise: per galaxy, the robust (MAD) standard deviation of the injected frame's pixels more than twice
   the aperture radius from the galaxy vs the frame's own there (ratio, goal 1), and the injected photon noise
   divided by its expected σ = sqrt(model × NMGY / gain) where the model is brighter than 0.05 nMgy (goal 1).
   Then 40 of the galaxies stacked by the ``sdss-injected`` survey: background MAD of the stacks vs plain
   ``sdss-stack`` stacks of the same places (goal 1) and the r-band light added to the 64 x 64 stack vs the
   catalogue (goal 0 up to the light of large galaxies outside the 25″ stack).

Prints ``name: value`` lines.  Run from the repository root: ``python benchmarks/bench_injection_check.py``.
"""

import sys
import warnings
from pathlib import Path

import numpy as np
from astropy.stats import mad_std
from astropy.table import Table
from astropy.utils.exceptions import AstropyUserWarning
from photutils.aperture import CircularAnnulus, CircularAperture, aperture_photometry
from photutils.psf import fit_fwhm

from astro_cnn.target import TargetList
from astro_cnn_injection.inject import GAIN, inject, magnitude_to_nanomaggies
from astro_cnn_injection.plan import BANDS, plan_injections
from astro_cnn_injection.profiles import GalaxyShape, render_galaxy
from astro_cnn_injection.psf import measure_psf, pixel_scale
from astro_cnn_injection.sizes import measure_petrosian_r50
from astro_cnn_injection.survey import SDSSInjectedSurvey
from astro_cnn_sdss.frames import LocalFrameIndex, read_frame
from astro_cnn_sdss.surveys import SDSSStackSurvey

FRAMES = Path(__file__).resolve().parents[2] / "shared" / "data" / "sdss_dr17_frames_ugriz_4fields"
N_GALAXIES = 200
N_STACKED = 40
HALF = 60


def _nmad(values: np.ndarray) -> float:
    return float(1.4826 * np.median(np.abs(values - np.median(values))))


def main(frames_dir: Path) -> None:
    rng = np.random.default_rng(0)
    warnings.simplefilter("ignore", AstropyUserWarning)
    frames = {}
    for fid, bands in sorted(LocalFrameIndex(frames_dir).fields().items(), key=lambda item: item[0].run):
        name = f"{fid.run:06d}-{fid.camcol}-{fid.field:04d}"
        for band, (path, _, _) in bands.items():
            frames[name, band] = read_frame(path.read_bytes(), str(path))

    # 1. PSF of each frame, and of point sources injected into it
    stars = {}
    ratios = {band: [] for band in BANDS}
    for (name, band), frame in frames.items():
        stars[name, band] = measure_psf(frame.data, frame.wcs).fwhm
        print(f"psf_fwhm_{name}_{band}: {stars[name, band]:.3f}")
        ny, nx = frame.data.shape
        for _ in range(10):
            x, y = rng.uniform(100, nx - 100), rng.uniform(100, ny - 100)
            ra, dec = frame.wcs.all_pix2world([[x, y]], 0)[0]
            part = inject(frame, GalaxyShape(ra, dec, 0.01, 1.0, 1.0, 0.0), magnitude_to_nanomaggies(16.5),
                          stars[name, band], GAIN[band], rng, 12)
            fitted = float(np.asarray(fit_fwhm(part.data.astype(float), fit_shape=11, fwhm=3.0))[0])
            ratios[band].append(fitted * pixel_scale(part.wcs) / stars[name, band])
    r_psf = [stars[name, "r"] for name, band in stars if band == "r"]
    all_psf = list(stars.values())
    print(f"psf_fwhm_min_all_bands: {min(all_psf):.3f}")
    print(f"psf_fwhm_max_all_bands: {max(all_psf):.3f}")
    print(f"psf_fwhm_r_min: {min(r_psf):.3f}")
    print(f"psf_fwhm_r_max: {max(r_psf):.3f}")
    for band in BANDS:
        print(f"injected_point_fwhm_over_stars_{band}: {np.median(ratios[band]):.4f}")

    # 2-4. Planned galaxies in their r frames
    r = rng.uniform(15.5, 17.7, N_GALAXIES)
    early = np.arange(N_GALAXIES) % 2 == 0
    galaxies = Table({"u": r + np.where(early, 2.8, 1.6), "g": r + np.where(early, 0.9, 0.5), "r": r,
                      "i": r - np.where(early, 0.4, 0.25), "z": r - np.where(early, 0.7, 0.4),
                      "redshift": rng.uniform(0.03, 0.25, N_GALAXIES)})
    plan = plan_injections(galaxies, frames_dir, seed=1)
    size_ratio = {1.0: [], 4.0: []}
    added = {1.0: [], 4.0: []}
    measured = {1.0: [], 4.0: []}
    expected_dmag = {1.0: [], 4.0: []}
    total, noise_ratio, photon_ratio = [], [], []
    for row in plan:
        frame = frames[str(row["field"]), "r"]
        shape = GalaxyShape(row["ra"], row["dec"], row["half_light_radius"], row["sersic_n"], row["axis_ratio"],
                            row["position_angle"])
        flux = magnitude_to_nanomaggies(row["mag_r"])
        part = inject(frame, shape, flux, row["psf_fwhm_r"], GAIN["r"], rng, HALF)
        x, y = part.wcs.all_world2pix([[row["ra"], row["dec"]]], 0)[0]
        box = part.data.shape
        cx, cy = frame.wcs.all_world2pix([[row["ra"], row["dec"]]], 0)[0]
        x0, y0 = max(int(round(cx)) - HALF, 0), max(int(round(cy)) - HALF, 0)  # as inject() cuts the part
        original = frame.data[y0:y0 + box[0], x0:x0 + box[1]].astype(float)
        model = render_galaxy(shape, flux, frame.wcs, (x0, x0 + box[1], y0, y0 + box[0]), row["psf_fwhm_r"])
        scale = pixel_scale(frame.wcs)
        try:
            r50 = measure_petrosian_r50(model.astype(float), x, y) * scale
        except ValueError:
            continue
        size_ratio[float(row["sersic_n"])].append(r50 / row["r50_petrosian"])
        radius = max(2.0 * 2.0 * r50, 4.0) / scale  # twice the Petrosian radius (≈ 2 R50 for these profiles)
        if radius + 10 > HALF:
            continue
        aperture = CircularAperture((x, y), radius)
        annulus = CircularAnnulus((x, y), radius + 3, radius + 10)
        injected = part.data.astype(float)
        light = float(aperture_photometry(injected - original, aperture)["aperture_sum"][0])
        background = np.median(annulus.to_mask().get_values(injected))
        alone = float(aperture_photometry(injected, aperture)["aperture_sum"][0]) - background * aperture.area
        n = float(row["sersic_n"])
        total.append(-2.5 * np.log10(float((injected - original).sum()) / flux))
        added[n].append(-2.5 * np.log10(light / flux))
        expected_dmag[n].append(-2.5 * np.log10(float(aperture_photometry(model.astype(float), aperture)
                                                      ["aperture_sum"][0]) / flux))
        if alone > 0:
            measured[n].append(-2.5 * np.log10(alone / flux))
        yy, xx = np.mgrid[:box[0], :box[1]]
        far = np.hypot(xx - x, yy - y) > 2 * radius
        if far.sum() > 500:
            noise_ratio.append(mad_std(injected[far]) / mad_std(original[far]))
        bright = model > 0.05
        expected = np.sqrt(model[bright] * frame.nmgy / GAIN["r"])
        photon_ratio.append(np.std((injected - original - model)[bright] / expected))
    for n, values in size_ratio.items():
        print(f"petrosian_r50_over_relation_median_n{int(n)}: {np.median(values):.4f}")
        print(f"petrosian_r50_over_relation_nmad_n{int(n)}: {_nmad(np.asarray(values)):.4f}")
    print(f"total_dmag_added_light_median: {np.median(total):+.4f}")
    print(f"total_dmag_added_light_nmad: {_nmad(np.asarray(total)):.4f}")
    for n in (1.0, 4.0):
        print(f"aperture_dmag_expected_petrosian_n{int(n)}: {np.median(expected_dmag[n]):+.4f}")
        print(f"aperture_dmag_added_light_median_n{int(n)}: {np.median(added[n]):+.4f}")
        print(f"aperture_dmag_added_light_nmad_n{int(n)}: {_nmad(np.asarray(added[n])):.4f}")
        print(f"aperture_dmag_injected_frame_median_n{int(n)}: {np.median(measured[n]):+.4f}")
        print(f"aperture_dmag_injected_frame_nmad_n{int(n)}: {_nmad(np.asarray(measured[n])):.4f}")
    print(f"background_noise_injected_over_frame_median: {np.median(noise_ratio):.4f}")
    print(f"photon_noise_over_expected_median: {np.median(photon_ratio):.4f}")

    # the stacks the models see
    subset = plan[:N_STACKED]
    targets = TargetList.from_table(subset)
    options = {"frames_dir": frames_dir, "offline": True}
    stacks = SDSSInjectedSurvey(plan=subset, **options).cutouts(targets, progress=False).images.astype(float)
    plain = SDSSStackSurvey(**options).cutouts(targets, progress=False).images.astype(float)
    size = stacks.shape[-1]
    yy, xx = np.mgrid[:size, :size]
    edge = np.hypot(xx - (size - 1) / 2, yy - (size - 1) / 2) > 26
    stack_noise = [mad_std(stacks[k, c][edge]) / mad_std(plain[k, c][edge]) for k in range(len(subset))
                   for c in range(len(BANDS))]
    stack_dmag = [-2.5 * np.log10(float((stacks[k, 2] - plain[k, 2]).sum())
                                  / magnitude_to_nanomaggies(subset["mag_r"][k])) for k in range(len(subset))]
    print(f"stack_background_noise_injected_over_plain_median: {np.median(stack_noise):.4f}")
    print(f"stack_r_total_dmag_median: {np.median(stack_dmag):+.4f}")
    print(f"galaxies_checked: {len(total)}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else FRAMES)
