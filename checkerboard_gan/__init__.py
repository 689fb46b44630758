"""checkerboard_gan: study the checkerboard artifacts of GAN upsampling layers."""

__version__ = "0.1.0"
