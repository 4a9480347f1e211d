"""A studio's own ComfyUI workflow as a camera: `generator: {backend: "comfyui:workflows/wan-i2v.json",
options: {server: "http://gpu-box:8188"}}`, the workflow saved in ComfyUI's API format ("Export (API)").

Inputs are bound by node title: a node titled `aigms.prompt`, `aigms.negative`, `aigms.seed`, `aigms.image`,
`aigms.frames`, `aigms.width`, `aigms.height` or `aigms.fps` receives the value in its input of that name, or in
`value` (ComfyUI's primitive nodes); the node titled `aigms.output` is the one whose video is the take. A workflow
whose nodes are titled otherwise maps them in `options.bindings` (`{prompt: "6.text", frames: "40.length",
output: "9"}`). A workflow without a prompt or an output is refused before any call, with the nodes it has. What
the workflow can do is read from its bindings: with `aigms.image` it animates an image (the shot's keyframe, else
the previs layout of its references; a continuation, the last frame of the segment before), without it it films
from text.

Built to ComfyUI's server (comfyanonymous/ComfyUI `server.py`, `execution.py`, `main.py`, `comfy_api/latest/_ui.py`,
read for their routes and messages): images go up with `POST /upload/image` (multipart: `image`, `type`,
`subfolder`, `overwrite`), the workflow with `POST /prompt` (`prompt`, `client_id`, and the `prompt_id` we choose, so
a render killed after sending finds its prompt again); progress comes over `/ws?clientId=…` as `{type, data}`
(`execution_start`, `execution_cached`, `executing`, `progress` {value, max, node}, `executed`,
`execution_success`, `execution_error`, `execution_interrupted`); the result is read from `/history/{prompt_id}`
(`status.status_str`, and `outputs[node]`: core `SaveVideo` lists its file under `images` with `animated: [true]`,
VideoHelperSuite's `VHS_VideoCombine` under `gifs`) and fetched from `/view`; `/queue` tells a waiting prompt
from a running one, and cancelling deletes the one or `/interrupt`s the other."""

import copy
import io
import json
import os
import threading
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
from PIL import Image

from aigms.db import ledger, models
from aigms.production.generate import remote
from aigms.production.generate.generators import Capabilities, SegmentRequest
from aigms.production.store import assets
from aigms.production.storyboard import previs
from aigms.schemas.errors import InputError

NAME = "comfyui"
VERSION = "1"
PROVIDER = "comfyui"
MODEL_IS_FILE = True
RUNTIME_OPTIONS = ("server", "timeout_minutes")
BINDINGS = ("prompt", "negative", "seed", "image", "frames", "width", "height", "fps")
REQUIRED = ("prompt", "output")
TITLE = "aigms."
DEFAULT_SERVER = "http://127.0.0.1:8188"
UPLOAD_FOLDER = "aigms"


# The workflow and its bindings


def workflow(model: str) -> dict[str, Any]:
    """The workflow file in API format (a dict of node id → {class_type, inputs, _meta}); the UI format, with its
    `nodes` list, is refused with how to export the other."""
    path = Path(model)
    try:
        graph = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(path, None, "workflow not found", "save the ComfyUI workflow there, or fix the path in "
                         "generator.backend (comfyui:<path relative to series.yaml>)") from None
    except json.JSONDecodeError as error:
        raise InputError(path, error.lineno, f"not JSON: {error.msg}", "export the workflow again") from None
    if not isinstance(graph, dict) or "nodes" in graph or not all(
            isinstance(node, dict) and "class_type" in node for node in graph.values()):
        raise InputError(path, None, "not a workflow in ComfyUI's API format",
                         "in ComfyUI use Workflow → Export (API) and save that file")
    return graph


def bindings(model: str, options: dict[str, Any]) -> dict[str, tuple[str, str]]:
    """Each bound name → (node id, input name); `output` → (node id, "")."""
    graph = workflow(model)
    bound: dict[str, tuple[str, str]] = {}
    for node_id, node in graph.items():
        title = (node.get("_meta") or {}).get("title", "")
        if not title.startswith(TITLE):
            continue
        name = title.removeprefix(TITLE)
        if name == "output":
            bound["output"] = (node_id, "")
        elif name in BINDINGS:
            inputs = node.get("inputs", {})
            field = name if name in inputs else "value" if "value" in inputs else None
            if field is None:
                raise InputError(model, None, f"node {node_id} ({node['class_type']}) is titled {title} but has no "
                                 f"input named {name!r} or 'value' (it has: {', '.join(inputs) or 'none'})",
                                 f"map it in series.yaml: generator.options.bindings: {{{name}: \"{node_id}.<input>\"}}")
            bound[name] = (node_id, field)
    for name, target in (options.get("bindings") or {}).items():
        node_id, _, field = str(target).partition(".")
        if name not in (*BINDINGS, "output") or node_id not in graph or (name != "output" and
                                                                        field not in graph[node_id].get("inputs", {})):
            raise InputError(model, None, f"options.bindings.{name}: {target!r} names no "
                             f"{'node' if name == 'output' else 'node input'} of the workflow",
                             f"use \"<node id>.<input>\" (nodes: {_nodes(graph)})")
        bound[name] = (node_id, field)
    missing = [name for name in REQUIRED if name not in bound]
    if missing:
        titles = " and ".join(TITLE + name for name in missing)
        raise InputError(model, None, f"no node titled {titles}; the workflow has {_nodes(graph)}",
                         f"title the prompt's text node {TITLE}prompt and the video-saving node {TITLE}output in "
                         "ComfyUI, or map them in series.yaml under generator.options.bindings")
    return bound


def _nodes(graph: dict[str, Any]) -> str:
    return ", ".join(f"{node_id} {node['class_type']} \"{(node.get('_meta') or {}).get('title', '')}\""
                     for node_id, node in graph.items())


def check(model: str, options: dict[str, Any]) -> None:
    bindings(model, options)


def capabilities(model: str, options: dict[str, Any]) -> Capabilities:
    bound = bindings(model, options)
    size = options.get("size")
    return Capabilities(
        modes=frozenset({"i2v"} if "image" in bound else {"t2v"}),
        max_segment_seconds=float(options.get("max_seconds", 5.0)),
        fps=None if "fps" in bound else options.get("fps"),
        size=tuple(size) if size and "width" in bound else None,
        size_step=int(options.get("size_step", 16 if "width" in bound else 2)),
        frame_step=int(options.get("frame_step", 1)) if "frames" in bound else 1,
        first_frame="image" in bound,
    )


def identity(model: str, options: dict[str, Any]) -> dict[str, Any]:
    """The workflow's name and where each value goes; its bytes' hash joins as the generator's `files`."""
    bound = bindings(model, options)
    return {"workflow": Path(model).name,
            "bindings": {name: f"{node}.{field}".rstrip(".") for name, (node, field) in sorted(bound.items())}}


def release(model: str | None = None) -> None:
    """Nothing is kept warm here; ComfyUI keeps its own models."""


# Filming a segment


def render_segment(request: SegmentRequest, out: Path) -> dict[str, Any]:
    """The workflow with this segment's values, queued as a durable job, its video fitted to what was asked."""
    # 1. Bind the values
    options = request.options
    bound = bindings(request.model, options)
    graph = copy.deepcopy(workflow(request.model))
    values: dict[str, Any] = {"prompt": request.prompt, "negative": request.negative_prompt, "seed": request.seed,
                              "frames": request.frames, "width": request.width, "height": request.height,
                              "fps": request.fps}
    uploads: list[tuple[str, bytes]] = []
    if "image" in bound:
        data = _png(request.image) if request.image is not None else _layout(request)
        name = f"{assets.sha256_bytes(data)[:24]}.png"
        uploads.append((name, data))
        values["image"] = f"{UPLOAD_FOLDER}/{name}"
    for name, (node_id, field) in bound.items():
        if name in values:
            graph[node_id]["inputs"][field] = values[name]
    # 2. The job
    context = request.context
    server = (options.get("server") or os.environ.get("AIGMS_COMFYUI_URL") or DEFAULT_SERVER).rstrip("/")
    key = ledger.idempotency_key(context.recipe_sha256 if context else "", models.CALL_SEGMENT, request.index)
    job = remote.Job(NAME, PROVIDER, Path(request.model).name, models.CALL_SEGMENT, request.index, "prompt",
                     {"server": server, "prompt": graph, "client_id": client_id(key)}, key,
                     f"shot {request.shot.id} · segment {request.index + 1}/{request.count}",
                     {"prompt": graph, "uploads": uploads, "output": bound["output"][0]})
    result = remote.run(client(server), job, context, remote.timing(options))
    # 3. The frames asked for
    held = remote.fit(result.path, result.media, out, request.width, request.height, request.fps, request.frames)
    return {**result.call, "index": request.index, "mode": request.mode, "frames": request.frames,
            "held_frames": held}


def _png(path: Path) -> bytes:
    buffer = io.BytesIO()
    with Image.open(path) as image:
        image.convert("RGB").save(buffer, format="PNG")
    return buffer.getvalue()


def _layout(request: SegmentRequest) -> bytes:
    """No keyframe: the shot's references laid out as the animatic draws them."""
    buffer = io.BytesIO()
    previs.layout(request.shot, request.series, request.width, request.height, request.seed).convert("RGB").save(
        buffer, format="PNG")
    return buffer.getvalue()


def cancel_job(call: models.ModelCall) -> None:
    """A waiting prompt is deleted from ComfyUI's queue, a running one interrupted."""
    client((call.request or {}).get("server") or DEFAULT_SERVER).cancel(call.provider_task_id)


def client_id(key: str) -> str:
    """The websocket id a call's messages go to: the same on a resume, so a render that reconnects hears them."""
    return uuid.uuid5(uuid.NAMESPACE_URL, "aigms:" + key).hex


# The client


class Server:
    """One ComfyUI server for the job loop (`remote.Client`), shared by the threads filming shots."""

    def __init__(self, base: str) -> None:
        self.base = base
        self._http = httpx.Client(timeout=httpx.Timeout(60.0, connect=10.0))
        self._device: str | None = None
        self._sockets: dict[str, "_Socket"] = {}
        self._lock = threading.Lock()

    def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            answer = self._http.request(method, self.base + path, **kwargs)
        except (httpx.ConnectError, httpx.ConnectTimeout) as error:
            raise remote.Unreachable(f"cannot reach ComfyUI at {self.base} ({error}); start it, or point "
                                     "generator.options.server (or AIGMS_COMFYUI_URL) at it — finished takes are "
                                     "kept") from None
        except httpx.TransportError as error:
            raise remote.ProviderBusy(f"no answer from ComfyUI ({type(error).__name__})") from None
        if answer.status_code >= 500:
            raise remote.ProviderBusy(f"ComfyUI answered HTTP {answer.status_code}")
        return answer

    def task_name(self, job: remote.Job, attempt: int) -> str:
        return str(uuid.uuid5(uuid.NAMESPACE_URL, f"aigms:{job.key}:{attempt}"))

    def submit(self, job: remote.Job, attempt: int) -> remote.Status:
        for name, data in job.body["uploads"]:
            answer = self._request("POST", "/upload/image", files={"image": (name, data, "image/png")},
                                   data={"type": "input", "subfolder": UPLOAD_FOLDER, "overwrite": "true"})
            if answer.status_code != 200:
                raise remote.Refused(f"ComfyUI refused the image upload (HTTP {answer.status_code})")
        prompt_id, client = self.task_name(job, attempt), job.request["client_id"]
        self._listen(client)
        answer = self._request("POST", "/prompt", json={"prompt": job.body["prompt"], "client_id": client,
                                                        "prompt_id": prompt_id})
        if answer.status_code != 200:
            raise remote.Refused(f"ComfyUI refused the workflow: {_validation(answer)}")
        return remote.Status(models.CALL_SUBMITTED, answer.json().get("prompt_id", prompt_id))

    def find(self, job: remote.Job, attempt: int, task_id: str | None) -> remote.Status | None:
        return self._look(job, task_id) if task_id else None

    def status(self, job: remote.Job, task_id: str) -> remote.Status:
        found = self._look(job, task_id)
        if found is None:
            return remote.Status(models.CALL_FAILED, task_id, f"ComfyUI at {self.base} no longer knows prompt "
                                 f"{task_id} (was it restarted?)")
        return found

    def _look(self, job: remote.Job, prompt_id: str, again: bool = True) -> remote.Status | None:
        """Done (in `/history`), running or waiting (in `/queue`), or unknown (None). A prompt that ends between
        the two reads is in neither; the history is read once more before it is called unknown."""
        history = self._request("GET", f"/history/{prompt_id}").json()
        if prompt_id in history:
            return self._finished(job, prompt_id, history[prompt_id])
        queue = self._request("GET", "/queue").json()
        for state, items in ((models.CALL_RUNNING, queue.get("queue_running", [])),
                             (models.CALL_SUBMITTED, queue.get("queue_pending", []))):
            if any(len(item) > 1 and item[1] == prompt_id for item in items):
                status = remote.Status(state, prompt_id)
                socket = self._sockets.get(job.request["client_id"])
                if socket is not None:
                    status.step, status.steps, status.node = socket.step, socket.steps, socket.node
                return status
        return self._look(job, prompt_id, again=False) if again else None

    def _finished(self, job: remote.Job, prompt_id: str, entry: dict[str, Any]) -> remote.Status:
        status_info = entry.get("status") or {}
        messages = {event: data for event, data in status_info.get("messages", [])}
        seconds = None
        if "execution_start" in messages and "execution_success" in messages:
            seconds = (messages["execution_success"]["timestamp"] - messages["execution_start"]["timestamp"]) / 1000
        if status_info.get("status_str") == "error" or not status_info.get("completed", True):
            failure = messages.get("execution_error") or messages.get("execution_interrupted") or {}
            reason = (f"node {failure.get('node_id')} ({failure.get('node_type')}): "
                      f"{(failure.get('exception_message') or 'interrupted').strip()}") if failure else "it failed"
            return remote.Status(models.CALL_FAILED, prompt_id, f"ComfyUI: {reason}", response=entry)
        output = (entry.get("outputs") or {}).get(job.body["output"]) or {}
        files = output.get("gifs") or (output.get("images") if output.get("animated") and any(output["animated"])
                                       else None)
        if not files:
            return remote.Status(models.CALL_FAILED, prompt_id, f"ComfyUI: the output node {job.body['output']} "
                                 "saved no video (use Save Video or Video Combine there)", response=entry)
        return remote.Status(models.CALL_SUCCEEDED, prompt_id, response={"outputs": {job.body["output"]: output},
                                                                          "status": status_info},
                             device=self.device(), device_seconds=seconds)

    def device(self) -> str | None:
        """The GPU the server films on, as `/system_stats` names it: what the ledger's device-seconds held."""
        if self._device is None:
            try:
                devices = self._request("GET", "/system_stats").json().get("devices") or [{}]
                self._device = devices[0].get("name") or ""
            except (remote.StopRender, remote.ProviderBusy, ValueError):
                return None
        return self._device or None

    def download(self, job: remote.Job, status: remote.Status, out: Path) -> None:
        output = status.response["outputs"][job.body["output"]]
        item = (output.get("gifs") or output.get("images"))[0]
        query = httpx.QueryParams({"filename": item["filename"], "subfolder": item.get("subfolder", ""),
                                   "type": item.get("type", "output")})
        remote.download(self._http, f"{self.base}/view?{query}", out)

    def cancel(self, prompt_id: str) -> bool:
        """A waiting prompt leaves the queue; a running one is interrupted."""
        queue = self._request("GET", "/queue").json()
        if any(len(item) > 1 and item[1] == prompt_id for item in queue.get("queue_pending", [])):
            self._request("POST", "/queue", json={"delete": [prompt_id]})
            return True
        if any(len(item) > 1 and item[1] == prompt_id for item in queue.get("queue_running", [])):
            self._request("POST", "/interrupt", json={"prompt_id": prompt_id})
            return True
        return False

    def watch(self, job: remote.Job, task_id: str, report: Callable[[remote.Status], None]) -> "_Socket | None":
        socket = self._listen(job.request["client_id"])
        if socket is not None:
            socket.follow(task_id, report)
        return socket

    def _listen(self, client: str) -> "_Socket | None":
        with self._lock:
            socket = self._sockets.get(client)
            if socket is None or not socket.alive:
                socket = _Socket(self.base, client, lambda: self._sockets.pop(client, None))
                if not socket.alive:
                    return None
                self._sockets[client] = socket
            return socket


def _validation(answer: httpx.Response) -> str:
    """ComfyUI's answer to an invalid prompt: its error and each node's, in one line."""
    try:
        payload = answer.json()
    except ValueError:
        return f"HTTP {answer.status_code}"
    error = payload.get("error")
    said = error.get("message", "") + (f": {error['details']}" if error.get("details") else "") \
        if isinstance(error, dict) else str(error)
    for node_id, found in (payload.get("node_errors") or {}).items():
        reasons = "; ".join(f"{item.get('message')} ({item.get('details')})" for item in found.get("errors", []))
        said += f"; node {node_id} ({found.get('class_type')}): {reasons}"
    return said


class _Socket:
    """The websocket a ComfyUI server sends a client's messages to: progress for the bar, and a wake-up for the
    job loop when a prompt ends, so its polls can stay seconds apart. Without it (a proxy that drops
    websockets) the loop still finds the end by polling."""

    def __init__(self, base: str, client: str, closed: Callable[[], Any]) -> None:
        from websockets.sync.client import connect

        parts = urlsplit(base)
        scheme = "wss" if parts.scheme == "https" else "ws"
        self.step: int | None = None
        self.steps: int | None = None
        self.node: str | None = None
        self._prompt: str | None = None
        self._report: Callable[[remote.Status], None] | None = None
        self._ended = threading.Event()
        self._over: set[str] = set()  # prompts whose end was heard, followed or not yet
        self._closed = closed
        try:
            self._connection = connect(f"{scheme}://{parts.netloc}{parts.path}/ws?clientId={client}",
                                       open_timeout=5, max_size=None)
        except Exception:  # no websocket (a proxy that drops them, an old server): polling alone finds the end
            self._connection = None
            return
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    @property
    def alive(self) -> bool:
        return self._connection is not None

    def follow(self, prompt_id: str, report: Callable[[remote.Status], None]) -> None:
        self._prompt, self._report = prompt_id, report
        if prompt_id in self._over:
            self._ended.set()
        else:
            self._ended.clear()

    def wait(self, seconds: float) -> None:
        if self._ended.wait(seconds):
            self._ended.clear()

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
        self._closed()

    def _read(self) -> None:
        try:
            for message in self._connection:
                if isinstance(message, bytes):
                    continue  # preview images
                self._heard(json.loads(message))
        except Exception:  # a dropped socket: polling carries on
            self._connection = None
        self._ended.set()

    def _heard(self, message: dict[str, Any]) -> None:
        kind, data = message.get("type"), message.get("data") or {}
        ended = kind in ("execution_success", "execution_error", "execution_interrupted") or (
            kind == "executing" and data.get("node") is None)
        if ended and data.get("prompt_id"):
            self._over.add(data["prompt_id"])
        if self._prompt is None or data.get("prompt_id") not in (None, self._prompt):
            return
        if kind == "progress":
            self.step, self.steps, self.node = data.get("value"), data.get("max"), str(data.get("node"))
        elif ended and data.get("prompt_id") == self._prompt:
            self._ended.set()
            return
        elif kind == "executing" and data.get("prompt_id") == self._prompt:
            self.node, self.step, self.steps = str(data["node"]), None, None
        else:
            return
        if self._report is not None:
            self._report(remote.Status(models.CALL_RUNNING, self._prompt, step=self.step, steps=self.steps,
                                       node=self.node))


_servers: dict[str, Server] = {}
_servers_lock = threading.Lock()


def client(base: str) -> Server:
    with _servers_lock:
        if base not in _servers:
            _servers[base] = Server(base)
        return _servers[base]
