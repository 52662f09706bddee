"""What every node's backends share: their errors, and where a local model runs."""

from __future__ import annotations

DTYPES = ("float32", "float16", "bfloat16")


class BackendError(Exception):
    """A failure whose message is safe to show a room; `retryable` says whether to try again."""

    def __init__(self, message: str, *, retryable: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.retryable = retryable


class BackendUnavailable(BackendError):
    """The model or voice cannot be used at all (a missing package, file or key, no GPU...)."""


def resolve_device(requested: str, cuda_available: bool) -> str:
    """`auto` -> `cuda` when available, else `cpu`; an explicit CUDA device needs CUDA."""
    if requested == "auto":
        return "cuda" if cuda_available else "cpu"
    if requested.startswith("cuda") and not cuda_available:
        raise BackendUnavailable(f"device {requested!r} was asked for, but CUDA is not available")
    return requested


def resolve_dtype(requested: str, device: str, bf16_supported: bool) -> str:
    """`auto` -> bfloat16 (or float16) on CUDA, float32 elsewhere."""
    if requested == "auto":
        if device.startswith("cuda"):
            return "bfloat16" if bf16_supported else "float16"
        return "float32"
    if requested not in DTYPES:
        raise BackendUnavailable(f"dtype {requested!r} is not one of auto, {', '.join(DTYPES)}")
    return requested
