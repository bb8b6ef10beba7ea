"""Datasets: the registry of image sets and where MNIST-like files come from, with checksums."""
