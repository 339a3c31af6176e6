"""Benchmarks of the rendered loaders against tf.data and Keras's own loaders: `python -m benchmarks`."""
