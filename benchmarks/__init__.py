"""Benchmarks of the rendered loaders against tf.data and Keras's own loaders.

Run them with `python -m benchmarks` (or `bash .ci/bench`); see docs/performance.md.
"""
