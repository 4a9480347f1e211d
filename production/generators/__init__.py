"""Generator backends are plugins: `series.yaml` names one (`animatic`, `diffusers:<model>`), and adding a backend
means adding one module here and one line to `BACKENDS`."""

import importlib
from types import ModuleType

BACKENDS = {
    "animatic": "aigms.production.generators.animatic",
}


def backend_name(spec: str) -> str:
    """`diffusers:Wan-AI/Wan2.1-T2V-1.3B` names the backend `diffusers` with a model argument."""
    return spec.split(":", 1)[0]


def load_backend(spec: str) -> ModuleType:
    name = backend_name(spec)
    if name not in BACKENDS:
        known = ", ".join(sorted(BACKENDS))
        raise ValueError(f"unknown generator {spec!r}; known backends: {known}")
    return importlib.import_module(BACKENDS[name])
