"""The registry's model variants: one module per family, each registers itself on import.

`bench.plugins.load_all_models()` imports every module here; adding a file adds a model.
"""
