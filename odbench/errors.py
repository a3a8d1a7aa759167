"""Errors a user can cause. The CLI prints their message on one line and exits non-zero."""


class ODBenchError(Exception):
    """Base class: a problem with the user's input, not a bug in ODBench."""


class DatasetError(ODBenchError):
    """The dataset is missing, malformed, or does not match its manifest."""


class ResultError(ODBenchError):
    """A result document is malformed or fails its schema."""


class EncoderError(ODBenchError):
    """A model could not be loaded, or returned unusable embeddings."""
