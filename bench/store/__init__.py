"""What a run keeps on disk: a cell's files, run.json, self-verifying records, the judges."""
