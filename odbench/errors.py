"""Errors a user can cause. The CLI prints their message on one line and exits non-zero."""


class ODBenchError(Exception):
    """Base class: a problem with the user's input, not a bug in ODBench."""


class DatasetError(ODBenchError):
    """The dataset is missing, malformed, or does not match its manifest."""


class ResultError(ODBenchError):
    """A result document is malformed or fails its schema."""


class EncoderError(ODBenchError):
    """A model could not be loaded, or returned unusable embeddings."""


class DamagedRow(DatasetError):
    """A stored row of a config that cannot be decoded (a damaged image); the CLI names its
    shard file with `odbench.data.locate_damage`."""

    def __init__(self, config: str, row: int, cause: str) -> None:
        self.config, self.row, self.cause = config, row, cause     # cause: "ErrorType: message"
        super().__init__(f"row {row} of config {config!r} cannot be decoded ({self.cause}): the dataset "
                         f"files are damaged; download the dataset again or rebuild it")
