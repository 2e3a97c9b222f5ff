"""Built-in astro_cnn plugin: stellar mass log(M*/Msun) (Wu & Boada 2019)."""
