"""Kling's video API as a camera: `generator: {backend: "kling:kling-v1-6", options: {mode: pro}}`.

Built to Kling's own API reference (https://app.klingai.com/global/dev/document-api, read as the "Kling AI API
Specification" of 2025 with its capability map, error code table and concurrency rules): JWT (HS256, `iss` the
access key, 30 minutes, renewed five minutes early) from `KLING_ACCESS_KEY`/`KLING_SECRET_KEY` as a Bearer token;
`POST /v1/videos/{text2video,image2video,multi-image2video,video-extend,lip-sync}` answer
`{code, message, request_id, data: {task_id, task_status}}` and `GET /v1/videos/<kind>/<id>` the task as
`submitted → processing → succeed | failed` with `task_result.videos[0].{id, url, duration}` and, where the
account reports it, `final_unit_deduction`. The base URL is `KLING_API_BASE` (default the global endpoint
https://api-singapore.klingai.com).

What each model can do is taken from the capability map, not assumed: which take text (`kling-v1-5` and
`kling-v2-1` only animate an image: a shot without a keyframe starts from the previs layout of its references),
which continue a video (`video-extend`, 4–5 s a step, the whole video at most 3 min: only the v1 family; the v2
family continues from the last frame), which take an end frame (`image_tail`, 5 s, mostly pro mode), which take
`camera_control` (kling-v1 text in std mode, kling-v1-5 images in pro mode) and `cfg_scale` (not v2), and which
compose up to four reference images (`multi-image2video`, kling-v1-6).

Each call is a durable job (`aigms.production.generate.remote`): text and image tasks carry an
`external_task_id` made from the take's recipe, so a render killed between sending and hearing back finds its task
by that id; an extension or lip sync (whose documented request has no such field) is found in the task list by
the video it continues."""

import base64
import hashlib
import io
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import jwt
from PIL import Image
from sqlalchemy import select

from aigms.db import ledger, models
from aigms.db.session import session_scope
from aigms.production.generate import remote
from aigms.production.bible import shot_references
from aigms.production.generate.generators import CallContext, Capabilities, GenerationFailed, SegmentRequest
from aigms.production.store import assets
from aigms.production.storyboard import previs
from aigms.schemas.errors import InputError
from aigms.schemas.shotlist import Shot

NAME = "kling"
VERSION = "1"
PROVIDER = "kling"
FILE_OPTIONS = ("end_frame",)
RUNTIME_OPTIONS = ("timeout_minutes",)
DEFAULT_BASE = "https://api-singapore.klingai.com"
KEYS = ("KLING_ACCESS_KEY", "KLING_SECRET_KEY")
TOKEN_SECONDS, RENEW_SECONDS = 1800, 300
MIN_SIDE = 300  # Kling refuses images with a side under 300 px
PROMPT_LIMIT = 2500
FOUND_BY_EXTERNAL_ID = ("text2video", "image2video", "multi-image2video")
REFUSAL_WORDS = ("risk", "security", "sensitive", "policy", "violat", "moderat", "风控", "敏感", "违规")


@dataclass(frozen=True)
class Model:
    """One row of Kling's capability map."""

    text: bool = True  # text2video
    extend: bool = False  # video-extend
    fps: int = 24
    tail: frozenset[str] = frozenset()  # modes in which a 5 s image2video takes `image_tail`
    camera_text: frozenset[str] = frozenset()  # modes in which a 5 s text2video takes `camera_control`
    camera_image: frozenset[str] = frozenset()  # modes in which a 5 s image2video takes `camera_control` (simple)
    cfg: bool = True
    elements: bool = False  # multi-image2video from up to four reference images
    modes: frozenset[str] = field(default_factory=lambda: frozenset({"std", "pro"}))


MODELS = {
    "kling-v1": Model(extend=True, fps=30, tail=frozenset({"std", "pro"}), camera_text=frozenset({"std"})),
    "kling-v1-5": Model(text=False, extend=True, fps=30, tail=frozenset({"pro"}), camera_image=frozenset({"pro"})),
    "kling-v1-6": Model(extend=True, tail=frozenset({"pro"}), elements=True),
    "kling-v2-master": Model(cfg=False),
    "kling-v2-1": Model(text=False, tail=frozenset({"pro"}), cfg=False),
    "kling-v2-1-master": Model(cfg=False),
    "kling-v2-5-turbo": Model(tail=frozenset({"pro"}), cfg=False),
}

# A shot's camera move as `camera_control.config` (type "simple", one axis, [-10, 10]). Kling names its axes from
# the camera's rotation: its `tilt` turns left/right (a film pan), its `pan` up/down (a film tilt); a negative
# `zoom` narrows the field of view.
MOVES = {"push-in": ("zoom", -1), "pull-out": ("zoom", 1), "pan-left": ("tilt", -1), "pan-right": ("tilt", 1),
         "tilt-up": ("pan", 1), "tilt-down": ("pan", -1)}
PACE = {"slow": 3.0, "normal": 5.0, "fast": 8.0}


def _model(model: str) -> Model:
    if model not in MODELS:
        raise InputError("series.yaml", None, f"unknown Kling model {model!r}",
                         "name one of " + ", ".join(sorted(MODELS)) + " (generator.backend: kling:<model>)")
    return MODELS[model]


def check(model: str, options: dict[str, Any]) -> None:
    spec = _model(model)
    mode = options.get("mode", "std")
    if mode not in spec.modes:
        raise InputError("series.yaml", None, f"Kling {model} has no mode {mode!r}",
                         "set generator.options.mode to " + " or ".join(sorted(spec.modes)))
    missing = [key for key in KEYS if not os.environ.get(key)]
    if missing:
        raise remote.NotAuthorised(f"Kling needs {' and '.join(missing)} in the environment: the access key and "
                                   "secret key of the studio's Kling account (Kling AI developer console → API keys)")


def capabilities(model: str, options: dict[str, Any]) -> Capabilities:
    """A continuation is an extension of the Kling video itself where the model has `video-extend` (4–5 s a step,
    so no call is planned longer than 5 s), else a new clip from the last frame (up to 10 s a call)."""
    spec = _model(model)
    modes = {"i2v"} | ({"t2v"} if spec.text else set()) | ({"extend"} if spec.extend else set())
    return Capabilities(
        modes=frozenset(modes), max_segment_seconds=5.0 if spec.extend else 10.0, fps=spec.fps,
        first_frame=True, video_condition=1 if spec.extend else 0, reference_images=spec.elements,
    )


def identity(model: str, options: dict[str, Any]) -> dict[str, Any]:
    return {"model": model, "mode": options.get("mode", "std")}


def release(model: str | None = None) -> None:
    """Nothing is kept warm: the model lives at Kling."""


# The client


class Client:
    """Kling's HTTP API for the job loop (`remote.Client`): one per process and account, shared by the threads
    filming shots; the token is made once and renewed five minutes before it expires."""

    def __init__(self, base: str, access_key: str, secret_key: str) -> None:
        self.base = base.rstrip("/")
        self._access, self._secret = access_key, secret_key
        self._token, self._expires = "", 0.0
        self._lock = threading.Lock()
        self._http = httpx.Client(timeout=httpx.Timeout(60.0, connect=10.0))

    def _authorization(self) -> str:
        with self._lock:
            now = time.time()
            if now > self._expires - RENEW_SECONDS:
                self._expires = now + TOKEN_SECONDS
                self._token = jwt.encode({"iss": self._access, "exp": int(self._expires), "nbf": int(now) - 5},
                                         self._secret, algorithm="HS256", headers={"typ": "JWT"})
            return f"Bearer {self._token}"

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None,
              params: dict[str, Any] | None = None) -> Any:
        """The `data` of Kling's answer; its error codes as the job loop's exceptions."""
        try:
            answer = self._http.request(method, self.base + path, json=body, params=params,
                                        headers={"Authorization": self._authorization()})
        except (httpx.ConnectError, httpx.ConnectTimeout) as error:
            raise remote.Unreachable(f"cannot reach Kling at {self.base} ({error}); check KLING_API_BASE and the "
                                     "network — finished takes are kept") from None
        except httpx.TransportError as error:  # sent, but no answer: the job loop asks before sending again
            raise remote.ProviderBusy(f"no answer from Kling ({type(error).__name__})") from None
        try:
            payload = answer.json()
        except ValueError:
            payload = {}
        code = payload.get("code") if isinstance(payload, dict) else None
        if answer.status_code == 200 and code == 0:
            return payload.get("data")
        raise _error(answer, code, payload.get("message", "") if isinstance(payload, dict) else "")

    def task_name(self, job: remote.Job, attempt: int) -> str | None:
        return None

    def submit(self, job: remote.Job, attempt: int) -> remote.Status:
        body = dict(job.body)
        if job.endpoint in FOUND_BY_EXTERNAL_ID:
            body["external_task_id"] = external_id(job.key, attempt)
        return _status(self._call("POST", f"/v1/videos/{job.endpoint}", body))

    def find(self, job: remote.Job, attempt: int, task_id: str | None) -> remote.Status | None:
        if job.endpoint in FOUND_BY_EXTERNAL_ID:
            try:
                return _status(self._call("GET", f"/v1/videos/{job.endpoint}/{external_id(job.key, attempt)}"))
            except remote.Refused:
                return None  # 1202/1203: no such task, the request never arrived
        parent = job.body.get("video_id") or job.body.get("input", {}).get("video_id")
        tasks = self._call("GET", f"/v1/videos/{job.endpoint}", params={"pageNum": 1, "pageSize": 100}) or []
        mine = [task for task in tasks if (task.get("task_info") or {}).get("parent_video", {}).get("id") == parent
                and task.get("task_status") != "failed"]  # a failed attempt is not the task to wait for
        return _status(max(mine, key=lambda task: task.get("created_at", 0))) if mine else None

    def status(self, job: remote.Job, task_id: str) -> remote.Status:
        return _status(self._call("GET", f"/v1/videos/{job.endpoint}/{quote(task_id, safe='')}"))

    def download(self, job: remote.Job, status: remote.Status, out: Path) -> None:
        """The video from Kling's CDN, without our token (the URL is its own credential, and another host's)."""
        video = status.response["task_result"]["videos"][0]
        remote.download(self._http, video["url"], out)

    def watch(self, job: remote.Job, task_id: str, report: Any) -> None:
        return None  # Kling offers a callback URL, which a studio's render machine rarely can receive: it polls


def external_id(key: str, attempt: int) -> str:
    """Kling's `external_task_id` for an attempt at a call: unique in the account, the same on every resume."""
    return f"aigms-{hashlib.sha256(key.encode()).hexdigest()[:32]}-{attempt}"


def _error(answer: httpx.Response, code: int | None, message: str) -> Exception:
    """Kling's error codes (HTTP status, service code) as what the job loop does about them."""
    said = f"Kling: HTTP {answer.status_code}, code {code}: {message}".rstrip(": ")
    status = answer.status_code
    if status == 401 or code in (1000, 1001, 1002, 1003, 1004):
        return remote.NotAuthorised(f"{said} — Kling refused the key; check KLING_ACCESS_KEY and KLING_SECRET_KEY")
    if status == 402 or code in (1100, 1101, 1102):
        return remote.OutOfCredit(f"{said} — the account is out of credit; top up its resource pack and render "
                                  "again (finished takes are kept)")
    if code in (1103, 1304):
        return remote.StopRender(f"{said} — the account may not use this; ask Kling to enable it")
    if code in (1302, 1303) or status in (429, 500, 502, 503, 504) or (code or 0) >= 5000:
        retry = answer.headers.get("retry-after")
        return remote.ProviderBusy(said, float(retry) if retry and retry.isdigit() else None)
    return remote.Refused(said)  # 1200–1203, 1300, 1301: the request as made will not be filmed


def _status(data: dict[str, Any]) -> remote.Status:
    state = {"submitted": models.CALL_SUBMITTED, "processing": models.CALL_RUNNING, "succeed": models.CALL_SUCCEEDED,
             "failed": models.CALL_FAILED}.get(data.get("task_status", ""), models.CALL_RUNNING)
    message = data.get("task_status_msg") or ""
    status = remote.Status(state, str(data["task_id"]), message, response=data,
                           refused=state == models.CALL_FAILED and any(word in message.lower() for word in REFUSAL_WORDS))
    if state == models.CALL_SUCCEEDED:
        videos = (data.get("task_result") or {}).get("videos") or [{}]
        seconds = float(videos[0].get("duration") or 0)
        parent = (data.get("task_info") or {}).get("parent_video") or {}
        status.billed_seconds = round(seconds - float(parent.get("duration") or 0), 3) or None
        if data.get("final_unit_deduction") not in (None, ""):
            status.billed_units, status.unit = float(data["final_unit_deduction"]), "units"
    return status


_clients: dict[tuple[str, str], Client] = {}
_clients_lock = threading.Lock()


def client() -> Client:
    access, secret = (os.environ.get(key, "") for key in KEYS)
    if not access or not secret:
        raise remote.NotAuthorised("Kling needs KLING_ACCESS_KEY and KLING_SECRET_KEY in the environment")
    base = os.environ.get("KLING_API_BASE") or DEFAULT_BASE
    with _clients_lock:
        if (base, access) not in _clients or _clients[(base, access)]._secret != secret:
            _clients[(base, access)] = Client(base, access, secret)
        return _clients[(base, access)]


def cancel_job(call: models.ModelCall) -> None:
    raise remote.StopRender(f"Kling's API cannot cancel a task: {call.provider_task_id} will finish and be "
                            "billed, and the next render of its take uses it")


# Filming a segment


def render_segment(request: SegmentRequest, out: Path) -> dict[str, Any]:
    """One Kling task for one segment of the chain, written to `out` as the stage asked (size, fps, frames).

    1. Choose the endpoint the model and the segment allow; 2. build its body (images as bare base64, at least
    300 px a side); 3. run it as a durable job; 4. cut what came back to the frames asked for — for an extension,
    the new frames after the video it continued (Kling returns the whole video, parent included)."""
    # 1. Endpoint
    spec = _model(request.model)
    options = request.options
    mode = options.get("mode", "std")
    last = request.index == request.count - 1
    if request.mode == "extend":
        endpoint = "video-extend"
    elif request.image is not None:
        endpoint = "image2video"
    elif spec.elements and options.get("references", True) and _reference_files(request):
        endpoint = "multi-image2video"
    elif spec.text:
        endpoint = "text2video"
    else:
        endpoint = "image2video"  # an image-only model: the previs layout is the first frame
    seconds = request.frames / request.fps
    duration = "5" if seconds <= 5.0 + 1e-6 else "10"
    # 2. Body
    body: dict[str, Any] = {"model_name": request.model, "prompt": request.prompt[:PROMPT_LIMIT], "mode": mode,
                            "duration": duration}
    if request.negative_prompt:
        body["negative_prompt"] = request.negative_prompt[:PROMPT_LIMIT]
    if spec.cfg and "cfg_scale" in options:
        body["cfg_scale"] = float(options["cfg_scale"])
    images: dict[str, str] = {}
    parent_frames = 0
    if endpoint == "video-extend":
        parent = _previous_call(request)
        body = {"video_id": parent["video_id"], "prompt": request.prompt[:PROMPT_LIMIT]}
        parent_frames = parent["frames"]
    elif endpoint == "image2video":
        first = request.image or _layout(request)
        body["image"] = images["image"] = _base64_image(first)
        end_frame = options.get("end_frame")
        if last and end_frame and mode in spec.tail and duration == "5":
            body["image_tail"] = images["image_tail"] = _base64_image(request.series.root / end_frame)
        elif mode in spec.camera_image and duration == "5" and (camera := _camera(request)):
            body["camera_control"] = camera
    elif endpoint == "multi-image2video":
        body["image_list"] = [{"image": _base64_image(path)} for path in _reference_files(request)[:4]]
        images.update({f"image_list[{k}]": item["image"] for k, item in enumerate(body["image_list"])})
        body["aspect_ratio"] = aspect_ratio(request.series.delivery.width, request.series.delivery.height)
    else:
        body["aspect_ratio"] = aspect_ratio(request.series.delivery.width, request.series.delivery.height)
        if mode in spec.camera_text and duration == "5" and (camera := _camera(request)):
            body["camera_control"] = camera
    # 3. The job
    context = request.context
    key = ledger.idempotency_key(context.recipe_sha256 if context else "", models.CALL_SEGMENT, request.index)
    job = remote.Job(NAME, PROVIDER, request.model, models.CALL_SEGMENT, request.index, endpoint,
                     _recorded(body, images), key, f"shot {request.shot.id} · segment {request.index + 1}/"
                     f"{request.count}", body)
    result = remote.run(client(), job, context, remote.timing(options))
    # 4. The frames asked for
    first = max(0, parent_frames - 1) if endpoint == "video-extend" else 0  # the frame the stage repeats
    held = remote.fit(result.path, result.media, out, request.width, request.height, request.fps, request.frames,
                      first)
    video = (result.response.get("task_result") or {}).get("videos") or [{}]
    return {**result.call, "index": request.index, "mode": request.mode, "frames": request.frames,
            "video_id": video[0].get("id"), "held_frames": held}


@dataclass(frozen=True)
class LipSyncRequest:
    """A Kling video and the line its mouth should speak, as the edit will place it in the shot."""

    shot: Shot
    video_id: str
    audio: Path
    frames: int
    width: int
    height: int
    fps: int
    context: CallContext


def render_lipsync(request: LipSyncRequest, out: Path) -> dict[str, Any]:
    """Kling's lip sync in audio mode (`POST /v1/videos/lip-sync`, `input: {video_id, mode: "audio2video",
    audio_type: "file", audio_file}`), the result fitted to the shot at the delivery spec."""
    data = request.audio.read_bytes()
    body = {"input": {"video_id": request.video_id, "mode": "audio2video", "audio_type": "file",
                      "audio_file": base64.b64encode(data).decode()}}
    recorded = {"input": {**body["input"], "audio_file": {"sha256": assets.sha256_bytes(data), "bytes": len(data)}}}
    key = ledger.idempotency_key(request.context.recipe_sha256, models.CALL_LIPSYNC)
    job = remote.Job(NAME, PROVIDER, "lip-sync", models.CALL_LIPSYNC, None, "lip-sync", recorded, key,
                     f"shot {request.shot.id} · lip sync", body)
    result = remote.run(client(), job, request.context, remote.timing({}))
    held = remote.fit(result.path, result.media, out, request.width, request.height, request.fps, request.frames)
    return {**result.call, "video_id": request.video_id, "frames": request.frames, "held_frames": held}


def aspect_ratio(width: int, height: int) -> str:
    """The nearest of the three frames Kling makes; the stage crops the rest."""
    ratio = width / height
    return min(("16:9", "9:16", "1:1"), key=lambda name: abs(_ratio(name) - ratio))


def _ratio(name: str) -> float:
    width, height = name.split(":")
    return int(width) / int(height)


def _camera(request: SegmentRequest) -> dict[str, Any] | None:
    if request.shot.move not in MOVES:
        return None
    axis, sign = MOVES[request.shot.move]
    config = {name: 0.0 for name in ("horizontal", "vertical", "pan", "tilt", "roll", "zoom")}
    config[axis] = sign * PACE[request.shot.pace]
    return {"type": "simple", "config": config}


def _reference_files(request: SegmentRequest) -> list[Path]:
    """The characters' reference images first, then the location's: what `multi-image2video` composes."""
    paths = [request.series.root / reference.path for reference in shot_references(request.series, request.shot)]
    return [path for path in paths if path.is_file()]


def _layout(request: SegmentRequest) -> Image.Image:
    return previs.layout(request.shot, request.series, request.width, request.height, request.seed)


def _base64_image(source: Path | Image.Image) -> str:
    """A PNG as bare base64 (Kling refuses a `data:` prefix), scaled up until its short side is 300 px."""
    image = source if isinstance(source, Image.Image) else Image.open(source)
    image = image.convert("RGB")
    short = min(image.size)
    if short < MIN_SIDE:
        scale = MIN_SIDE / short
        image = image.resize((round(image.width * scale), round(image.height * scale)), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode()


def _recorded(body: dict[str, Any], images: dict[str, str]) -> dict[str, Any]:
    """The request as the ledger keeps it: each image as its hash and size, not megabytes of base64."""
    def shrink(value: Any) -> Any:
        if isinstance(value, str) and value in images.values():
            data = base64.b64decode(value)
            return {"sha256": assets.sha256_bytes(data), "bytes": len(data)}
        if isinstance(value, dict):
            return {key: shrink(item) for key, item in value.items()}
        if isinstance(value, list):
            return [shrink(item) for item in value]
        return value

    return shrink(body)


def _previous_call(request: SegmentRequest) -> dict[str, Any]:
    """The Kling video the previous segment made, and its frame count: what an extension continues."""
    context = request.context
    if context is None:
        raise GenerationFailed("a Kling extension continues the previous segment's Kling video, which only the "
                               "ledger knows: film the chain with a CallContext", retry=False)
    key = ledger.idempotency_key(context.recipe_sha256, models.CALL_SEGMENT, request.index - 1)
    with session_scope(context.engine) as session:
        call = session.scalar(select(models.ModelCall).where(models.ModelCall.idempotency_key == key))
        asset = session.get(models.Asset, call.asset_id) if call is not None and call.asset_id else None
        response = call.response if call is not None else None
    videos = ((response or {}).get("task_result") or {}).get("videos") or []
    if asset is None or not videos:
        raise GenerationFailed(f"shot {request.shot.id}: segment {request.index} extends a Kling video the ledger "
                               "does not hold; film the take again", retry=False)
    return {"video_id": videos[0]["id"], "frames": remote.frame_count(asset.media)}
