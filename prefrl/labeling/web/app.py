"""The labeling web app (FastAPI): the page, its JSON API and the clip videos.

Endpoints (every ``/api`` one answers JSON; a refused request gets a 4xx with ``{"error": ...}`` and changes
nothing):

* ``GET /``: the labeling page; ``GET /static/...``: its script and style.
* ``POST /api/next`` ``{labeler, holding}``: lease the next pair to ``labeler`` (``pair`` is null when none is
  rendered yet).
* ``POST /api/answer`` ``{query_id, labeler, preference}``: answered only after it is committed.
* ``POST /api/undo`` ``{labeler}``: take back the labeler's last answer; its pair is leased to them again.
* ``POST /api/release`` ``{labeler, query_ids}``: give those pairs back (the page closed or was hidden).
* ``POST /api/renew`` ``{labeler, query_ids}``: a fresh lease on those pairs (the page still shows them).
* ``GET /api/stats``: progress and answers per labeler.
* ``GET /clips/<clip id>.mp4``: a rendered clip (only from the run's clip folder).

With a ``token`` every request must carry it: as ``?token=`` (the page's URL; it then sets a cookie), an
``X-Prefrl-Token`` header, or that cookie. A server on a loopback address answers only requests addressed to
one (``Host: localhost``, ``127.0.0.1``, ``[::1]``), so a web page of another site cannot reach it through a
DNS name that points here (DNS rebinding). Request bodies over ``MAX_BODY_BYTES`` are refused unread (413),
malformed ones get a 4xx, and a database that stays locked a 503: the server never answers 5xx to bad input.
"""

from __future__ import annotations

import hmac
import json
import re
import sqlite3
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Annotated

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, ConfigDict, Field, field_validator
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from prefrl.labeling.queue import LABELER_PATTERN, LABELER_RULE, LabelQueue, Lease, QueueError, check_labeler
from prefrl.preference import Preference

STATIC_DIR = Path(__file__).parent / "static"
TOKEN_COOKIE, TOKEN_HEADER = "prefrl_token", "x-prefrl-token"
_CLIP_NAME = re.compile(r"[0-9]{1,18}\.mp4")
MAX_BODY_BYTES = 16 * 1024
"""The largest request body the API reads (its requests are a few hundred bytes)."""
LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
QueryId = Annotated[int, Field(strict=True, ge=0, lt=2**63)]  # SQLite's integers are 64-bit


@dataclass
class LabelSite:
    """What the app serves.

    Attributes:
        queue: The run's label queue (its own store connection).
        clip_dir: The only folder clip videos are served from.
        instruction: The task's one-line instruction to labelers.
        env_id: The task.
        budget: The run's label budget (shown as labels / budget).
        token: Required on every request when set (a server reachable from other machines).
        on_change: Called after a pair was leased or answered (wakes the renderer).
        render_error: Returns why rendering stopped, if it did (shown on the page).
        loopback_only: Answer only requests whose ``Host`` names a loopback address (a server that listens on
            one; see the module's docstring).
        run_dir: The run directory (the page names it in ``prefrl label RUN_DIR`` when the server goes away).
        trainer: Whether a trainer runs in this process (it adds pairs; ``prefrl label`` alone adds none).
    """

    queue: LabelQueue
    clip_dir: Path
    instruction: str
    env_id: str
    budget: int | None = None
    token: str | None = None
    on_change: Callable[[], None] = lambda: None
    render_error: Callable[[], str | None] = lambda: None
    loopback_only: bool = False
    run_dir: str | None = None
    trainer: bool = False


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")
    labeler: str

    @field_validator("labeler")
    @classmethod
    def _labeler(cls, value: str) -> str:
        return check_labeler(value)


class NextRequest(_Body):
    holding: list[QueryId] = Field(default_factory=list, max_length=16)
    """Pairs the page already has (shown or preloaded)."""


class AnswerRequest(_Body):
    query_id: QueryId
    preference: Preference


class UndoRequest(_Body):
    pass


class PairsRequest(_Body):
    query_ids: list[QueryId] = Field(max_length=16)
    """Pairs the labeler's page has (to release, or to renew)."""


def _error(status: int, message: str, **extra: object) -> JSONResponse:
    return JSONResponse({"error": message, **extra}, status_code=status)


class _BodyLimit:
    """ASGI middleware: a request whose body exceeds ``limit`` bytes gets a 413 and is not read further (by its
    ``Content-Length`` when it has one, else by counting what arrives). The API's bodies are small, so the body
    is read here and handed on whole."""

    def __init__(self, app: ASGIApp, limit: int = MAX_BODY_BYTES):
        self.app, self.limit = app, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        length = dict(scope["headers"]).get(b"content-length", b"0")
        if not length.isdigit() or int(length) > self.limit:
            return await self._refuse(send)
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client left
                return
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            if size > self.limit:
                return await self._refuse(send)
            if not message.get("more_body", False):
                break
        whole: Message | None = {"type": "http.request", "body": b"".join(chunks), "more_body": False}

        async def replay() -> Message:
            nonlocal whole
            if whole is None:
                return await receive()
            message, whole = whole, None
            return message

        await self.app(scope, replay, send)

    async def _refuse(self, send: Send) -> None:
        body = json.dumps({"error": f"request body over {self.limit} bytes"}).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def _host_name(host_header: str) -> str:
    """``Host`` without its port: ``localhost:8000`` -> ``localhost``, ``[::1]:8000`` -> ``::1``."""
    if host_header.startswith("["):
        return host_header[1:].split("]", 1)[0]
    return host_header.rsplit(":", 1)[0] if host_header.count(":") == 1 else host_header


def create_app(site: LabelSite) -> FastAPI:
    """The FastAPI app serving ``site``."""
    app = FastAPI(title="prefrl labeling", docs_url=None, redoc_url=None, openapi_url=None)
    lock = threading.Lock()  # one store connection, used by the server's worker threads one at a time
    clip_root = site.clip_dir.resolve()

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        return _error(422, f"invalid request: {problems}")

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException) -> JSONResponse:
        return _error(exc.status_code, str(exc.detail))

    @app.exception_handler(sqlite3.OperationalError)
    async def _busy(request: Request, exc: sqlite3.OperationalError) -> JSONResponse:
        if "locked" in str(exc) or "busy" in str(exc):  # another process holds the database: come back later
            return JSONResponse({"error": "the database is busy; try again"}, 503, headers={"Retry-After": "1"})
        raise exc

    @app.middleware("http")
    async def _check_host(request: Request, call_next):
        if site.loopback_only and _host_name(request.headers.get("host", "")).lower() not in LOOPBACK_NAMES:
            return _error(421, "this server answers only requests to localhost / 127.0.0.1")
        return await call_next(request)

    @app.middleware("http")
    async def _check_token(request: Request, call_next):
        if site.token is None:
            return await call_next(request)
        given = (
            request.query_params.get("token")
            or request.headers.get(TOKEN_HEADER)
            or request.cookies.get(TOKEN_COOKIE)
            or ""
        )
        if not hmac.compare_digest(given.encode(), site.token.encode()):
            return _error(401, "missing or wrong token: open the URL prefrl printed (it ends in ?token=...)")
        response = await call_next(request)
        if request.query_params.get("token"):
            response.set_cookie(TOKEN_COOKIE, site.token, httponly=True, samesite="strict")
        return response

    def progress() -> dict:
        p = site.queue.progress()
        return asdict(p) | {"budget": site.budget, "render_error": site.render_error(), "trainer": site.trainer}

    def pair(lease: Lease | None) -> dict | None:
        if lease is None:
            return None
        return {
            "query_id": lease.query_id,
            "left": f"clips/{lease.left_clip}.mp4",
            "right": f"clips/{lease.right_clip}.mp4",
            "timestep": lease.timestep,
            "uncertainty": lease.uncertainty,
            "expires_at": lease.expires_at,
        }

    @app.get("/", include_in_schema=False)
    def index() -> FileResponse:
        return FileResponse(STATIC_DIR / "index.html", headers={"Cache-Control": "no-store"})

    @app.get("/api/stats")
    def stats() -> dict:
        with lock:
            return {
                "env_id": site.env_id,
                "instruction": site.instruction,
                "run_dir": site.run_dir,
                "labeler_pattern": LABELER_PATTERN.pattern,  # the page checks a typed name as check_labeler does
                "labeler_rule": LABELER_RULE,
                "lease_seconds": site.queue.lease_seconds,  # the page renews its pairs' leases well before
                "progress": progress(),
            }

    @app.post("/api/next")
    def next_pair(body: NextRequest) -> dict:
        with lock:
            lease = site.queue.lease_next(body.labeler, frozenset(body.holding))
            result = {"pair": pair(lease), "progress": progress()}
        site.on_change()
        return result

    @app.post("/api/answer")
    def answer(body: AnswerRequest) -> Response:
        with lock:
            try:
                given = site.queue.answer(body.query_id, body.preference, body.labeler)
            except QueueError as e:
                return _error(404 if e.kind == "not_found" else 409, str(e))
            result = {
                "answer": {
                    "query_id": given.query_id,
                    "preference": given.preference.value,
                    "labeler": given.labeler,
                    "time": given.time,
                },
                "progress": progress(),
            }
        site.on_change()
        return JSONResponse(result)

    @app.post("/api/undo")
    def undo(body: UndoRequest) -> Response:
        with lock:
            try:
                lease = site.queue.undo(body.labeler)
            except QueueError as e:
                return _error(409, str(e))
            return JSONResponse({"pair": pair(lease), "progress": progress()})

    @app.post("/api/renew")
    def renew(body: PairsRequest) -> dict:
        with lock:
            return {"renewed": site.queue.renew(body.labeler, body.query_ids), "progress": progress()}

    @app.post("/api/release")
    def release(body: PairsRequest) -> dict:
        with lock:
            released = site.queue.release(body.labeler, body.query_ids)
            result = {"released": released, "progress": progress()}
        site.on_change()
        return result

    @app.get("/clips/{name}")
    def clip(name: str) -> Response:
        # Only "<digits>.mp4", looked up in the clip folder: no other file can be named.
        if not _CLIP_NAME.fullmatch(name):
            return _error(404, f"no clip {name!r}")
        path = (clip_root / name).resolve()
        if path.parent != clip_root or not path.is_file():
            return _error(404, f"no clip {name!r} (not rendered yet?)")
        return FileResponse(
            path, media_type="video/mp4", headers={"Cache-Control": "private, max-age=86400, immutable"}
        )

    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.add_middleware(_BodyLimit)
    return app
