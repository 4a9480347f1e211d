"""A ComfyUI server on 127.0.0.1 for the tests, following the real one's routes and messages (comfyanonymous/ComfyUI
`server.py`, `execution.py`, `main.py`): `POST /upload/image` (multipart `image`, `type`, `subfolder`, `overwrite`)
→ `{name, subfolder, type}`; `POST /prompt` `{prompt, client_id, prompt_id?}` → `{prompt_id, number, node_errors}`
or HTTP 400 `{error, node_errors}`; one prompt executed at a time, its client told over `/ws?clientId=` as
`{type, data}`: `status`, `execution_start`, `execution_cached`, `executing` {node}, `progress` {value, max, node},
`executed`, `execution_success` (or `execution_error`, `execution_interrupted`) and `executing` {node: null};
`GET /history/{id}` → `{id: {prompt, outputs, status: {status_str, completed, messages}, meta}}` with a core
`SaveVideo` output under `images` and `animated: [true]`, a `VHS_VideoCombine` one under `gifs`; `GET /queue`,
`POST /queue {delete}`, `POST /interrupt`, `GET /view`, `GET /system_stats`.

"Executing" a workflow reads the values a Wan-style graph carries (the latent's width, height and length, the video
node's fps, the sampler's steps, the image a LoadImage names) and writes a flat grey clip of them, one grey level
per prompt; a LoadImage naming no uploaded file fails as ComfyUI does."""

import asyncio
import itertools
import queue
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request, UploadFile, WebSocket, WebSocketDisconnect, Form
from fastapi.responses import FileResponse, JSONResponse, Response

from remote_servers import LEVELS, grey_clip

VIDEO_NODES = ("SaveVideo", "VHS_VideoCombine")


def wan_workflow(image: bool = True, output: str = "SaveVideo", titled: bool = True) -> dict[str, Any]:
    """An image-to-video (or text-to-video) workflow in API format, shaped like ComfyUI's Wan 2.1 template."""
    def title(name: str, default: str) -> dict[str, str]:
        return {"title": f"aigms.{name}" if titled else default}

    graph: dict[str, Any] = {
        "37": {"class_type": "UNETLoader", "inputs": {"unet_name": "wan2.1_i2v_480p_14B_fp16.safetensors",
                                                      "weight_dtype": "default"}, "_meta": {"title": "Load Diffusion Model"}},
        "38": {"class_type": "CLIPLoader", "inputs": {"clip_name": "umt5_xxl_fp8_e4m3fn_scaled.safetensors",
                                                      "type": "wan"}, "_meta": {"title": "Load CLIP"}},
        "6": {"class_type": "CLIPTextEncode", "inputs": {"text": "", "clip": ["38", 0]},
              "_meta": {"title": "CLIP Text Encode (Positive Prompt)"}},
        "60": {"class_type": "PrimitiveStringMultiline", "inputs": {"value": "a fox"}, "_meta": title("prompt", "Prompt")},
        "7": {"class_type": "CLIPTextEncode", "inputs": {"text": ["62", 0], "clip": ["38", 0]},
              "_meta": {"title": "CLIP Text Encode (Negative Prompt)"}},
        "62": {"class_type": "PrimitiveStringMultiline", "inputs": {"value": "blurry"},
               "_meta": title("negative", "Negative")},
        "61": {"class_type": "PrimitiveInt", "inputs": {"value": 33}, "_meta": title("frames", "Frames")},
        "3": {"class_type": "KSampler", "inputs": {"seed": 1, "steps": 4, "cfg": 6.0, "sampler_name": "uni_pc",
                                                   "scheduler": "simple", "denoise": 1.0, "model": ["37", 0],
                                                   "positive": ["6", 0], "negative": ["7", 0],
                                                   "latent_image": ["41", 2] if image else ["40", 0]},
              "_meta": title("seed", "KSampler")},
        "8": {"class_type": "VAEDecode", "inputs": {"samples": ["3", 0], "vae": ["39", 0]}, "_meta": {"title": "VAE Decode"}},
        "39": {"class_type": "VAELoader", "inputs": {"vae_name": "wan_2.1_vae.safetensors"}, "_meta": {"title": "Load VAE"}},
        "50": {"class_type": "CreateVideo", "inputs": {"images": ["8", 0], "fps": 16}, "_meta": title("fps", "Create Video")},
        "9": {"class_type": output, "inputs": ({"video": ["50", 0], "filename_prefix": "video/aigms", "format": "auto",
                                                "codec": "auto"} if output == "SaveVideo" else
                                               {"images": ["8", 0], "frame_rate": 16, "filename_prefix": "aigms",
                                                "format": "video/h264-mp4", "save_output": True}),
              "_meta": title("output", "Save Video")},
    }
    graph["6"]["inputs"]["text"] = ["60", 0]
    if image:
        graph["52"] = {"class_type": "LoadImage", "inputs": {"image": "example.png"}, "_meta": title("image", "Load Image")}
        graph["41"] = {"class_type": "WanImageToVideo", "inputs": {"positive": ["6", 0], "negative": ["7", 0],
                                                                   "vae": ["39", 0], "start_image": ["52", 0],
                                                                   "width": 832, "height": 480, "length": ["61", 0],
                                                                   "batch_size": 1}, "_meta": {"title": "WanImageToVideo"}}
    else:
        graph["40"] = {"class_type": "EmptyHunyuanLatentVideo", "inputs": {"width": 832, "height": 480,
                                                                           "length": ["61", 0], "batch_size": 1},
                       "_meta": {"title": "EmptyHunyuanLatentVideo"}}
    return graph


@dataclass
class Prompt:
    number: int
    id: str
    graph: dict[str, Any]
    client_id: str | None
    created: float = field(default_factory=time.monotonic)


@dataclass
class ComfyServer:
    folder: Path
    seconds: float = 0.0  # how long a prompt runs
    steps_fail: str | None = None  # an exception a sampler raises, to fail a prompt
    cut_downloads: int = 0
    requests: list[dict[str, Any]] = field(default_factory=list)
    prompts: dict[str, Prompt] = field(default_factory=dict)
    history: dict[str, Any] = field(default_factory=dict)
    url: str = ""

    def __post_init__(self) -> None:
        (self.folder / "input").mkdir(parents=True, exist_ok=True)
        (self.folder / "output" / "video").mkdir(parents=True, exist_ok=True)
        self._queue: "queue.Queue[Prompt | None]" = queue.Queue()
        self._pending: list[Prompt] = []
        self._running: Prompt | None = None
        self._interrupt = threading.Event()
        self._sockets: dict[str, tuple[WebSocket, asyncio.AbstractEventLoop]] = {}
        self._numbers = itertools.count()
        self._worker = threading.Thread(target=self._work, daemon=True)
        self._worker.start()

    def submissions(self) -> list[dict[str, Any]]:
        return [request for request in self.requests if request["method"] == "POST" and request["path"] == "/prompt"]

    def stop(self) -> None:
        self._queue.put(None)

    # The API

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.middleware("http")
        async def record(request: Request, call_next: Any) -> Response:
            entry = {"method": request.method, "path": request.url.path, "query": dict(request.query_params),
                     "at": time.monotonic()}
            if request.url.path == "/prompt" and request.method == "POST":
                entry["json"] = await request.json()
            self.requests.append(entry)
            return await call_next(request)

        @app.post("/upload/image")
        async def upload_image(image: UploadFile, type: str = Form("input"), subfolder: str = Form(""),
                               overwrite: str = Form("false")) -> JSONResponse:
            folder = self.folder / type / subfolder
            folder.mkdir(parents=True, exist_ok=True)
            (folder / image.filename).write_bytes(await image.read())
            return JSONResponse({"name": image.filename, "subfolder": subfolder, "type": type})

        @app.post("/prompt")
        async def post_prompt(request: Request) -> JSONResponse:
            data = await request.json()
            graph = data.get("prompt")
            if not isinstance(graph, dict):
                return JSONResponse({"error": {"type": "no_prompt", "message": "No prompt provided", "details": "",
                                               "extra_info": {}}, "node_errors": {}}, status_code=400)
            outputs = [node_id for node_id, node in graph.items() if node.get("class_type") in VIDEO_NODES]
            if not outputs:
                return JSONResponse({"error": {"type": "prompt_no_outputs", "message": "Prompt has no outputs",
                                               "details": "", "extra_info": {}}, "node_errors": []}, status_code=400)
            prompt = Prompt(next(self._numbers), str(data.get("prompt_id") or uuid.uuid4()), graph,
                            data.get("client_id"))
            self.prompts[prompt.id] = prompt
            self._pending.append(prompt)
            self._queue.put(prompt)
            return JSONResponse({"prompt_id": prompt.id, "number": prompt.number, "node_errors": {}})

        @app.get("/history/{prompt_id}")
        async def get_history(prompt_id: str) -> JSONResponse:
            return JSONResponse({prompt_id: self.history[prompt_id]} if prompt_id in self.history else {})

        @app.get("/queue")
        async def get_queue() -> JSONResponse:
            def item(prompt: Prompt) -> list[Any]:
                return [prompt.number, prompt.id, prompt.graph, {"client_id": prompt.client_id}, []]
            running = [item(self._running)] if self._running else []
            return JSONResponse({"queue_running": running, "queue_pending": [item(p) for p in list(self._pending)]})

        @app.post("/queue")
        async def post_queue(request: Request) -> Response:
            data = await request.json()
            for prompt_id in data.get("delete", []):
                self._pending = [prompt for prompt in self._pending if prompt.id != prompt_id]
            return Response(status_code=200)

        @app.post("/interrupt")
        async def post_interrupt(request: Request) -> Response:
            try:
                data = await request.json()
            except ValueError:
                data = {}
            if self._running and data.get("prompt_id") in (None, self._running.id):
                self._interrupt.set()
            return Response(status_code=200)

        @app.get("/view")
        async def view(filename: str, subfolder: str = "", type: str = "output") -> Response:
            path = self.folder / type / subfolder / filename
            if ".." in filename or not path.is_file():
                return Response(status_code=404)
            if self.cut_downloads:
                self.cut_downloads -= 1
                data = path.read_bytes()
                response = Response(data[: len(data) // 2], media_type="video/mp4")
                response.headers["content-length"] = str(len(data))
                return response
            return FileResponse(path, headers={"Content-Disposition": f'filename="{filename}"'})

        @app.get("/system_stats")
        async def system_stats() -> JSONResponse:
            return JSONResponse({"system": {"os": "posix", "comfyui_version": "0.3.60"},
                                 "devices": [{"name": "cuda:0 NVIDIA GeForce RTX 4090 : cudaMallocAsync",
                                              "type": "cuda", "index": 0}]})

        @app.websocket("/ws")
        async def websocket(socket: WebSocket) -> None:
            await socket.accept()
            sid = socket.query_params.get("clientId") or uuid.uuid4().hex
            self._sockets[sid] = (socket, asyncio.get_running_loop())
            await socket.send_json({"type": "status", "data": {"status": {"exec_info": {
                "queue_remaining": len(self._pending)}}, "sid": sid}})
            try:
                while True:
                    await socket.receive_text()
            except WebSocketDisconnect:
                pass
            finally:
                self._sockets.pop(sid, None)

        return app

    # The executor

    def _send(self, client_id: str | None, kind: str, data: dict[str, Any]) -> None:
        found = self._sockets.get(client_id or "")
        if found is None:
            return
        socket, loop = found
        try:
            asyncio.run_coroutine_threadsafe(socket.send_json({"type": kind, "data": data}), loop).result(5)
        except Exception:
            self._sockets.pop(client_id or "", None)

    def _work(self) -> None:
        while (prompt := self._queue.get()) is not None:
            if prompt not in self._pending:
                continue  # deleted from the queue
            self._running = prompt  # running before it leaves the pending list: never in neither
            self._pending.remove(prompt)
            self._interrupt.clear()
            try:
                self.history[prompt.id] = self._execute(prompt)
            finally:
                self._running = None
                self._send(prompt.client_id, "executing", {"node": None, "prompt_id": prompt.id})

    def _execute(self, prompt: Prompt) -> dict[str, Any]:
        messages: list[list[Any]] = []

        def say(kind: str, data: dict[str, Any]) -> None:
            data = {**data, "prompt_id": prompt.id, "timestamp": int(time.time() * 1000)}
            if kind.startswith("execution_"):
                messages.append([kind, data])
            self._send(prompt.client_id, kind, data)

        graph = prompt.graph
        say("execution_start", {})
        say("execution_cached", {"nodes": []})
        value = lambda node_id, name: _resolve(graph, graph[node_id]["inputs"][name])  # noqa: E731
        latent = next(node_id for node_id, node in graph.items()
                      if node["class_type"] in ("EmptyHunyuanLatentVideo", "WanImageToVideo"))
        sampler = next(node_id for node_id, node in graph.items() if node["class_type"] == "KSampler")
        output = next(node_id for node_id, node in graph.items() if node["class_type"] in VIDEO_NODES)
        for node_id, node in graph.items():
            if node["class_type"] == "LoadImage":
                say("executing", {"node": node_id})
                if not (self.folder / "input" / value(node_id, "image")).is_file():
                    return self._failed(prompt, messages, say, node_id, "LoadImage",
                                        f"Invalid image file: {value(node_id, 'image')}")
        steps = int(value(sampler, "steps"))
        say("executing", {"node": sampler})
        for step in range(1, steps + 1):
            if self._interrupt.wait(self.seconds / steps):
                say("execution_interrupted", {"node_id": sampler, "node_type": "KSampler", "executed": []})
                return {"prompt": [prompt.number, prompt.id, graph, {}, [output]], "outputs": {},
                        "status": {"status_str": "error", "completed": False, "messages": messages}, "meta": {}}
            say("progress", {"value": step, "max": steps, "node": sampler})
        if self.steps_fail:
            return self._failed(prompt, messages, say, sampler, "KSampler", self.steps_fail)
        frames, fps = int(value(latent, "length")), _fps(graph, output, value)
        width, height = int(value(latent, "width")), int(value(latent, "height"))
        level = 20 + 10 * (prompt.number % LEVELS)
        name = f"aigms_{prompt.number:05d}_.mp4"
        say("executing", {"node": output})
        grey_clip(self.folder / "output" / "video" / name, level, frames / fps, fps, width, height)
        item = {"filename": name, "subfolder": "video", "type": "output"}
        if graph[output]["class_type"] == "VHS_VideoCombine":
            ui = {"gifs": [{**item, "format": "video/h264-mp4", "frame_rate": fps, "workflow": name.replace(".mp4", ".png"),
                            "fullpath": str(self.folder / "output" / "video" / name)}]}
        else:
            ui = {"images": [item], "animated": [True]}
        say("executed", {"node": output, "output": ui})
        say("execution_success", {})
        return {"prompt": [prompt.number, prompt.id, graph, {}, [output]], "outputs": {output: ui},
                "status": {"status_str": "success", "completed": True, "messages": messages},
                "meta": {output: {"node_id": output, "display_node": output, "real_node_id": output}}}

    def _failed(self, prompt: Prompt, messages: list[list[Any]], say: Any, node_id: str, node_type: str,
                message: str) -> dict[str, Any]:
        say("execution_error", {"node_id": node_id, "node_type": node_type, "executed": [],
                                "exception_message": message, "exception_type": "Exception", "traceback": [],
                                "current_inputs": {}, "current_outputs": []})
        return {"prompt": [prompt.number, prompt.id, prompt.graph, {}, []], "outputs": {},
                "status": {"status_str": "error", "completed": False, "messages": messages}, "meta": {}}


def _resolve(graph: dict[str, Any], value: Any) -> Any:
    """A linked input ([node id, slot]) read through to a primitive node's `value`, as execution would."""
    while isinstance(value, list):
        value = graph[value[0]]["inputs"].get("value")
    return value


def _fps(graph: dict[str, Any], output: str, value: Any) -> int:
    node = graph[output]
    if node["class_type"] == "VHS_VideoCombine":
        return int(value(output, "frame_rate"))
    source = node["inputs"]["video"][0]
    return int(value(source, "fps"))
