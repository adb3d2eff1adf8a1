"""What the app shows, computed: ε-grids of one image, the gallery, the latent map, preparing uploads."""
