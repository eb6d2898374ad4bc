"""photosift's engine: configuration, CLIP model, decoding, the index pipeline and its store."""

__version__ = "0.1.0"
