"""Example third-party astro_cnn plugin (see README.md)."""
