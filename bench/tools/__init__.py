"""Developer tools run as `python -m bench.tools.<name>`: speed and cost measurements, the judge's training script."""
