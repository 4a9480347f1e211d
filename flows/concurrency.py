"""GPU discipline: every generation task carries the `generate` tag, and Prefect holds that tag to as many runs at
once as there are GPUs, so two shots never fight for one card while CPU work (voices, QC, the edit) goes on beside
them. A studio sets the limit once for the whole farm (`prefect concurrency-limit create generate <GPUs>`); a
machine that finds none sets it to its own GPUs: `AIGMS_GPUS`, else the CUDA devices torch sees. A machine without
a GPU sets none: the flow's task runner alone bounds how many shots it films at once."""

import os

from prefect.client.orchestration import get_client
from prefect.exceptions import ObjectNotFound

GENERATE_TAG = "generate"


def gpu_slots() -> int:
    if os.environ.get("AIGMS_GPUS"):
        return max(0, int(os.environ["AIGMS_GPUS"]))
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
