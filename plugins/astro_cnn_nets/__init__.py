"""Built-in astro_cnn plugin: network backbones (ResNet-18/34, the Pasquet et al. 2019 inception net as published
and a compact variant, a small CPU CNN), heads (Wu & Boada regression, binned PDF, the Pasquet et al. dense layers)
and the two papers' training recipes."""
