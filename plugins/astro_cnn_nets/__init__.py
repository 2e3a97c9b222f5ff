"""Built-in astro_cnn plugin: network backbones (ResNet-18/34, the Pasquet et al. 2019 inception net,
a small CPU CNN), heads (Wu & Boada regression, binned PDF) and the two papers' training recipes."""
