"""A Kling API on 127.0.0.1 for the tests, speaking the documented protocol (the "Kling AI API Specification":
https://app.klingai.com/global/dev/document-api): Bearer JWTs signed HS256 with the secret key and `iss` the access
key; `POST /v1/videos/<kind>` → `{code: 0, data: {task_id, task_status: "submitted", task_info}}`;
`GET /v1/videos/<kind>/<task_id or external_task_id>` → the task, `submitted → processing → succeed | failed`, with
`task_result.videos[0].{id, url, duration}` and `final_unit_deduction`; `GET /v1/videos/<kind>?pageNum&pageSize` →
the task list; errors as (HTTP status, service code): 401/1002, 429/1102 (resource pack depleted), 429/1302,
429/1303 (parallel tasks over the resource pack's limit), 400/1301 (content security), 404/1203.

Each task takes `seconds` (a real clock); its video is a flat grey clip at the documented frame rate (30 fps for
image-to-video and kling-v1, 24 otherwise), an extension the whole video (parent and 5 s more). Every request is
recorded; so is the most tasks it ever had in flight."""

import base64
import io
import itertools
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jwt
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from PIL import Image

from remote_servers import LEVELS, grey_clip

ACCESS_KEY, SECRET_KEY = "ak-test-studio", "sk-test-studio-secret-0123456789abcdef"
KINDS = ("text2video", "image2video", "multi-image2video", "video-extend", "lip-sync")


@dataclass
class Task:
    id: str
    kind: str
    body: dict[str, Any]
    created: float
    done: float
    video: Path
    seconds: float
    fps: int
    parent: dict[str, Any] | None = None
    external_task_id: str | None = None
    refused: bool = False


@dataclass
class KlingServer:
    folder: Path
    seconds: float = 0.0  # how long a task takes
    busy: int = 0  # the next N creations answer 429/1303
    rate_limited: int = 0  # the next N creations answer 429/1302
    credit: int | None = None  # creations accepted before the pack is depleted (429/1102), None: no end
    payment_required: bool = False  # when depleted, answer HTTP 402 instead of Kling's 429/1102
    account_limit: int | None = None  # tasks in flight beyond which a creation answers 1303, as Kling does
    cut_downloads: int = 0  # the next N downloads stop half way
    extend_seconds: float = 5.0
    requests: list[dict[str, Any]] = field(default_factory=list)
    tasks: dict[str, Task] = field(default_factory=dict)
    most_in_flight: int = 0
    url: str = ""

    def __post_init__(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._numbers = itertools.count(1)

    # What the tests read

    def creations(self, kind: str | None = None) -> list[dict[str, Any]]:
        """Every accepted task creation's body, in order."""
        return [task.body for task in sorted(self.tasks.values(), key=lambda task: task.created)
                if kind is None or task.kind == kind]

    def in_flight(self, now: float | None = None) -> int:
        now = time.monotonic() if now is None else now
        return sum(task.created <= now < task.done for task in self.tasks.values())

    # The API

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.middleware("http")
        async def record(request: Request, call_next: Any) -> Response:
            body = await request.body()
            entry = {"method": request.method, "path": request.url.path, "query": dict(request.query_params),
                     "bytes": len(body), "at": time.monotonic()}
            self.requests.append(entry)
            response = await call_next(request)
            entry["status"] = response.status_code
            return response

        @app.post("/v1/videos/{kind}")
        async def create(kind: str, request: Request) -> JSONResponse:
            refused = self._authorise(request)
            if refused is not None:
                return refused
            body = await request.json()
            with self._lock:
                answer = self._refusal(body)
                if answer is not None:
                    return answer
                task = self._create(kind, body)
            return ok({"task_id": task.id, "task_status": "submitted",
                       "task_info": {"external_task_id": task.external_task_id},
                       "created_at": int(task.created * 1000), "updated_at": int(task.created * 1000)})

        @app.get("/v1/videos/{kind}/{task_id}")
        async def query(kind: str, task_id: str, request: Request) -> JSONResponse:
            refused = self._authorise(request)
            if refused is not None:
                return refused
            task = self.tasks.get(task_id) or next(
                (task for task in self.tasks.values() if task.external_task_id == task_id), None)
            if task is None or task.kind != kind:
                return error(404, 1203, "The requested resource does not exist")
            return ok(self._view(task))

        @app.get("/v1/videos/{kind}")
        async def listing(kind: str, request: Request, pageNum: int = 1, pageSize: int = 30) -> JSONResponse:
            refused = self._authorise(request)
            if refused is not None:
                return refused
            mine = sorted((task for task in self.tasks.values() if task.kind == kind), key=lambda task: -task.created)
            return ok([self._view(task) for task in mine[(pageNum - 1) * pageSize: pageNum * pageSize]])

        @app.get("/files/{name}")
        async def files(name: str) -> Response:
            data = (self.folder / name).read_bytes()
            if self.cut_downloads:
                self.cut_downloads -= 1
                return _ShortResponse(data[: len(data) // 2], len(data))
            return Response(data, media_type="video/mp4")

        return app

    def _authorise(self, request: Request) -> JSONResponse | None:
        header = request.headers.get("authorization", "")
        if not header.startswith("Bearer "):
            return error(401, 1001, "Authorization is empty")
        try:
            claims = jwt.decode(header.removeprefix("Bearer "), SECRET_KEY, algorithms=["HS256"],
                                options={"require": ["iss", "exp", "nbf"]})
        except jwt.ExpiredSignatureError:
            return error(401, 1004, "Authorization has expired")
        except jwt.InvalidTokenError:
            return error(401, 1002, "Authorization is invalid")
        if claims["iss"] != ACCESS_KEY:
            return error(401, 1000, "Authentication failed")
        return None

    def _refusal(self, body: dict[str, Any]) -> JSONResponse | None:
        if self.credit is not None and self.credit <= 0:
            if self.payment_required:
                return error(402, 1102, "Resource pack depleted or expired")
            return error(429, 1102, "Resource pack depleted or expired")
        if self.busy:
            self.busy -= 1
            return error(429, 1303, "parallel task over resource pack limit")
        if self.rate_limited:
            self.rate_limited -= 1
            return error(429, 1302, "API request is too fast")
        if self.account_limit is not None and self.in_flight() >= self.account_limit:
            return error(429, 1303, "parallel task over resource pack limit")
        if "forbidden" in str(body.get("prompt", "")):
            return error(400, 1301, "Trigger the content security policy of the platform")
        return None

    def _create(self, kind: str, body: dict[str, Any]) -> Task:
        number = next(self._numbers)
        now = time.monotonic()
        level = 20 + 10 * ((number - 1) % LEVELS)
        parent = None
        if kind in ("video-extend", "lip-sync"):
            video_id = body["video_id"] if kind == "video-extend" else body["input"]["video_id"]
            source = next(task for task in self.tasks.values() if f"video-{task.id}" == video_id)
            parent = {"id": video_id, "url": f"{self.url}/files/{source.video.name}", "duration": str(source.seconds)}
            seconds = source.seconds + (self.extend_seconds if kind == "video-extend" else 0)
            fps = source.fps
            video = grey_clip(self.folder / f"{number}.mp4", level if kind == "video-extend" else 250,
                              self.extend_seconds if kind == "video-extend" else source.seconds, fps,
                              before=source.video if kind == "video-extend" else None)
        else:
            _check_images(body)
            seconds = float(body.get("duration", "5"))
            fps = 30 if kind == "image2video" or body.get("model_name", "kling-v1") == "kling-v1" else 24
            video = grey_clip(self.folder / f"{number}.mp4", level, seconds, fps)
        task = Task(f"task-{number}", kind, body, now, now + self.seconds, video, seconds, fps, parent,
                    body.get("external_task_id"))
        self.tasks[task.id] = task
        if self.credit is not None:
            self.credit -= 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight(now))
        return task

    def _view(self, task: Task) -> dict[str, Any]:
        now = time.monotonic()
        state = ("succeed" if now >= task.done else "processing" if now >= task.created + (task.done - task.created)
                 / 4 else "submitted")
        info: dict[str, Any] = {"external_task_id": task.external_task_id}
        if task.parent is not None:
            info["parent_video"] = task.parent
        view: dict[str, Any] = {"task_id": task.id, "task_status": state, "task_status_msg": "", "task_info": info,
                                "created_at": int(task.created * 1000), "updated_at": int(now * 1000)}
        if state == "succeed":
            view["task_result"] = {"videos": [{"id": f"video-{task.id}", "url": f"{self.url}/files/{task.video.name}",
                                               "duration": f"{task.seconds:g}"}]}
            view["final_unit_deduction"] = "1" if task.seconds <= 5 and task.kind != "video-extend" else "2"
        return view


def _check_images(body: dict[str, Any]) -> None:
    """Bare base64 PNG or JPEG, at least 300 px a side, as the image-to-video reference demands."""
    images = [body[name] for name in ("image", "image_tail") if name in body]
    images += [item["image"] for item in body.get("image_list", [])]
    for image in images:
        assert not image.startswith("data:"), "a data: prefix is refused"
        with Image.open(io.BytesIO(base64.b64decode(image))) as picture:
            assert min(picture.size) >= 300, picture.size


def ok(data: Any) -> JSONResponse:
    return JSONResponse({"code": 0, "message": "SUCCEED", "request_id": "req", "data": data})


def error(status: int, code: int, message: str) -> JSONResponse:
    return JSONResponse({"code": code, "message": message, "request_id": "req"}, status_code=status)


class _ShortResponse(Response):
    """Announces the whole file's length and sends half: a connection that drops mid-download."""

    def __init__(self, data: bytes, length: int) -> None:
        super().__init__(data, media_type="video/mp4")
        self.headers["content-length"] = str(length)
