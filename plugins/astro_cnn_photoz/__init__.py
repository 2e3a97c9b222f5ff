"""Built-in astro_cnn plugin: photometric redshift PDFs (Pasquet et al. 2019)."""
