"""mlfn-pack: turn a fitted scikit-learn pipeline into an mlfn bundle (models/README.md)."""
__version__ = "0.1.0"
