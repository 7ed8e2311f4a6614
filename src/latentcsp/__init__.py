"""latentcsp: dimensionality and latent spaces of crystal structure prediction landscapes."""

__version__ = "0.1.0"
