"""wholesystem: one version of the truth for an integrated care system."""

__all__ = ["__version__"]

__version__ = "0.1.0"
