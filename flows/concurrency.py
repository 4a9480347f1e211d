"""GPU discipline: every generation task carries the `generate` tag, and Prefect holds that tag to as many runs at
once as there are GPUs, so two shots never fight for one card while CPU work (voices, QC, the edit) goes on beside
them. A studio sets the limit once for the whole farm (`prefect concurrency-limit create generate <GPUs>`); a
machine that finds none sets it to its own GPUs: `AIGMS_GPUS`, else the CUDA devices torch sees. A machine without
a GPU sets none: the flow's task runner alone bounds how many shots it films at once.

A remote camera's takes carry `remote-<provider>` instead (`remote-kling`, `remote-comfyui`), limited to the tasks
the studio's account or server takes at once (`providers:` in series.yaml, or `AIGMS_LIMIT_KLING=4`)."""

import os
from pathlib import Path

from prefect.client.orchestration import get_client
from prefect.exceptions import ObjectNotFound

from aigms.production.generate.generators import Generator, generator_for
from aigms.schemas.series import Series
from aigms.schemas.shotlist import Shot

GENERATE_TAG = "generate"


def gpu_slots() -> int:
    """`AIGMS_GPUS`, else the GPUs torch sees; none, without importing torch (~1.5 s), where the kernel shows no
    NVIDIA or AMD device (`/dev/nvidia*`, `/dev/kfd`), as on a CPU machine or in a container given no GPU."""
    if os.environ.get("AIGMS_GPUS"):
        return max(0, int(os.environ["AIGMS_GPUS"]))
    if not any(Path("/dev").glob("nvidia[0-9]*")) and not Path("/dev/kfd").exists():
        return 0
    import torch

    return torch.cuda.device_count()


def ensure_generation_limit() -> int | None:
    """The limit in force on the Prefect server, made from this machine's GPUs when there is none yet."""
    with get_client(sync_client=True) as client:
        try:
            return client.read_concurrency_limit_by_tag(GENERATE_TAG).concurrency_limit
        except ObjectNotFound:
            slots = gpu_slots()
            if slots:
                client.create_concurrency_limit(tag=GENERATE_TAG, concurrency_limit=slots)
            return slots or None


REMOTE_TAG = "remote-{provider}"


def provider_tag(provider: str) -> str:
    """A remote camera's takes hold its provider's tag, not the GPU's: Kling's tasks do not wait for a local
    card, and the provider's own limit on tasks in flight is kept on this side."""
    return REMOTE_TAG.format(provider=provider)


def tags_for(generator: Generator) -> list[str]:
    return [provider_tag(generator.provider)] if generator.provider else [GENERATE_TAG]


def provider_limit(provider: str, series: Series) -> int | None:
    """`AIGMS_LIMIT_<PROVIDER>` on this machine, else `providers.<provider>.concurrency` in series.yaml."""
    variable = f"AIGMS_LIMIT_{provider.upper().replace('-', '_')}"
    if os.environ.get(variable):
        return max(1, int(os.environ[variable]))
    settings = series.providers.get(provider)
    return settings.concurrency if settings else None


def ensure_provider_limits(series: Series, shots: list[Shot]) -> dict[str, int | None]:
    """Set the Prefect limit of each remote provider the episode films with, where one is configured; a provider
    without one keeps whatever the farm set (or none)."""
    limits: dict[str, int | None] = {}
    for shot in shots:
        provider = generator_for(shot, series).provider
        if provider and provider not in limits:
            limits[provider] = provider_limit(provider, series)
    wanted = {provider: limit for provider, limit in limits.items() if limit is not None}
    if wanted:
        with get_client(sync_client=True) as client:
            for provider, limit in wanted.items():
                client.upsert_global_concurrency_limit_by_name(f"tag:{provider_tag(provider)}", limit)
    return limits
