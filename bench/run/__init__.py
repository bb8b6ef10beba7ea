"""Running a grid: the runner (plan, shared inputs, execute, collect, report), one cell, the executors, provenance."""
