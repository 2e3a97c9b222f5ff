"""Built-in astro_cnn plugin: gas-phase metallicity 12+log(O/H) (Wu & Boada 2019)."""
