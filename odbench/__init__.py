"""ODBench: object-decorrelation benchmark for image-text retrieval."""
__version__ = "0.1.0"
