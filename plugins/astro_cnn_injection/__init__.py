"""Catalogue-injection survey: real catalogue galaxies rendered into real SDSS frames and stacked like real targets."""
