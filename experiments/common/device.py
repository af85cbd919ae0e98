"""Device and dtype choice: `auto` takes CUDA when present, else CPU."""
from __future__ import annotations

import torch

from .errors import ConfigError

DEVICES = ("auto", "cpu", "cuda")
DTYPES = {"float32": torch.float32, "float64": torch.float64, "bfloat16": torch.bfloat16, "float16": torch.float16}


def resolve_device(name: str = "auto") -> torch.device:
    name = str(name)
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name.split(":")[0] not in ("cpu", "cuda"):
        raise ConfigError(f"device={name!r} is invalid; valid choices: {', '.join(DEVICES)}")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(f"device={name!r} was asked for but CUDA is not available; use device=auto or device=cpu")
    device = torch.device(name)
    if device.type == "cuda":
        disable_tf32()
    return device


def disable_tf32() -> None:
    """Every float32 matmul and convolution in full float32 on CUDA. TF32 (10-bit mantissa) would make
    a CUDA run's numbers differ from the CPU's for the same config, and the specs forbid it where a
    result is compared with theory (rf.md §11: "No TF32"). cuDNN convolutions default to TF32."""
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    torch.set_float32_matmul_precision("highest")


def resolve_dtype(name: str = "float32") -> torch.dtype:
    try:
        return DTYPES[str(name)]
    except KeyError:
        raise ConfigError(f"dtype={name!r} is invalid; valid choices: {', '.join(DTYPES)}") from None


def describe_device(device: torch.device) -> str:
    if device.type == "cuda":
        return f"cuda ({torch.cuda.get_device_name(device)})"
    return "cpu"


def free_memory_bytes(device: torch.device) -> int | None:
    """Memory a new run can still use on `device`: CUDA's free bytes, or MemAvailable from
    /proc/meminfo on the CPU; None where it cannot be read (then no run is refused for memory)."""
    if device.type == "cuda":
        return int(torch.cuda.mem_get_info(device)[0])
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None
