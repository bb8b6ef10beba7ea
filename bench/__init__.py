"""aebench: train autoencoders uniformly on MNIST and compare what their codes are good for."""
__version__ = "0.1.0"
