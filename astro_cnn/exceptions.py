"""Exceptions raised by astro_cnn; each message names the column, row, file or name at fault."""

__all__ = [
    "AstroCNNError",
    "ColumnError",
    "UnknownNameError",
    "PluginClashError",
    "IncompatibleImagesError",
    "ModelNotFoundError",
    "NetworkDisabledError",
]


class AstroCNNError(Exception):
    """Base class of every error astro_cnn raises on purpose."""


class ColumnError(AstroCNNError, KeyError):
    """A table column is missing, ambiguous or holds values of the wrong kind."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class UnknownNameError(AstroCNNError, KeyError):
    """A survey, quantity, backbone, head, recipe or model name that no plugin registered."""

    def __init__(self, kind: str, name: str, known: list[str]):
        self.kind, self.name, self.known = kind, name, sorted(known)
        known_text = ", ".join(repr(k) for k in self.known) or "none"
        super().__init__(f"unknown {kind} {name!r}; the known ones: {known_text}")

    def __str__(self) -> str:
        return str(self.args[0])

    def __reduce__(self):  # picklable (e.g. from a worker process) with its own arguments
        return type(self), (self.kind, self.name, self.known)


class PluginClashError(AstroCNNError):
    """Two plugins registered the same name for the same kind of component."""


class IncompatibleImagesError(AstroCNNError, ValueError):
    """Images do not match what a model was trained on (bands, size or pixel scale)."""


class ModelNotFoundError(AstroCNNError, FileNotFoundError):
    """No trained model is available for what was asked."""


class NetworkDisabledError(AstroCNNError, ConnectionError):
    """Network access was needed but the user switched it off."""
