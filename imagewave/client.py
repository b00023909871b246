"""Python client of the imagewave gateway, sync (`Client`) and async (`AsyncClient`), on httpx.

    from imagewave.client import Client

    with Client("http://127.0.0.1:8000") as client:
        job = client.submit("photo.jpg", options={"audio_length_in_s": 20})
        job = client.wait(job.id, on_event=print)          # live progress over SSE
        client.download(job.id, "mix.wav", "song.wav")
        client.download_bundle(job.id, "song.zip")

Errors the gateway answers with (`{"error": {"code", "message", "field"}}`) raise `ApiError`.
`submit_command` is the `imagewave submit IMAGE --server URL` command.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import httpx
from pydantic import ValidationError

from imagewave.contracts.jobs import JobOptions, JobStatus, JobView
from imagewave.contracts.webhooks import InvalidWebhookSignature, WebhookEvent, verify_webhook

__all__ = [
    "ApiError",
    "AsyncClient",
    "Client",
    "InvalidWebhookSignature",
    "JobEvent",
    "JobFailed",
    "WebhookEvent",
    "add_submit_arguments",
    "submit_command",
    "verify_webhook",
]

DEFAULT_SERVER = "http://127.0.0.1:8000"
# The events stream sends a keepalive every 15 s: silence for longer means a dead connection,
# which `wait` then resumes.
_EVENTS_TIMEOUT = httpx.Timeout(10.0, read=45.0)
ImageInput = str | Path | bytes | BinaryIO
OptionsInput = JobOptions | Mapping[str, Any] | None


class ApiError(Exception):
    """The gateway answered an error: HTTP status plus its `code`, `message` and `field`."""

    def __init__(self, status_code: int, code: str, message: str,
                 field: str | None = None) -> None:
        super().__init__(f"{status_code} {code}: {message}")
        self.status_code, self.code, self.message, self.field = status_code, code, message, field

    @classmethod
    def from_response(cls, response: httpx.Response) -> ApiError:
        try:
            error = response.json()["error"]
            return cls(response.status_code, error["code"], error["message"], error.get("field"))
        except (ValueError, KeyError, TypeError):
            return cls(response.status_code, "http_error", response.text[:500])


class JobFailed(Exception):
    """`wait(..., raise_on_failure=True)` on a job that failed or was canceled."""

    def __init__(self, job: JobView) -> None:
        reason = job.error.message if job.error else job.status.value
        super().__init__(f"job {job.id} {job.status.value}: {reason}")
        self.job = job


@dataclass(frozen=True)
class JobEvent:
    """One progress event of GET /jobs/{id}/events; `stage` is None for the job itself."""

    id: str | None
    stage: str | None
    status: str
    progress: float
    error: dict | None = None

    @property
    def is_final(self) -> bool:
        return self.stage is None and JobStatus(self.status).is_final


def _check(response: httpx.Response) -> httpx.Response:
    if response.is_error:
        response.read()
        raise ApiError.from_response(response)
    return response


def _options_json(options: OptionsInput) -> str | None:
    """Options checked here with the same model the gateway uses, so a bad value is the same
    `ApiError` (422, the field named) as the server's answer, without a round trip."""
    if options is None:
        return None
    try:
        model = options if isinstance(options, JobOptions) else JobOptions.model_validate(options)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(["options", *(str(part) for part in first["loc"])])
        raise ApiError(422, "invalid_input", f"{field}: {first['msg']}", field) from None
    return model.model_dump_json(exclude_defaults=True)


def _upload(value: ImageInput | None, default_name: str) -> tuple[str, Any] | None:
    if value is None:
        return None
    if isinstance(value, str | Path):
        return (Path(value).name, Path(value).read_bytes())
    if isinstance(value, bytes):
        return (default_name, value)
    return (Path(getattr(value, "name", default_name)).name, value.read())


def _scene_json(scene: str | Path | dict | None) -> str | None:
    """A scene document as JSON text: from a dict, a JSON string, or a .json file's path."""
    if scene is None or isinstance(scene, str) and scene.lstrip().startswith("{"):
        return scene
    if isinstance(scene, dict):
        return json.dumps(scene)
    return Path(scene).read_text()


def _job_form(image: ImageInput, midi: ImageInput | None, options: OptionsInput,
              scene: str | Path | dict | None = None) -> tuple[dict, dict]:
    files = {"image": _upload(image, "image")}
    if midi is not None:
        files["midi"] = _upload(midi, "arrangement.mid")
    data = {}
    if options_json := _options_json(options):
        data["options"] = options_json
    if (scene_json := _scene_json(scene)) is not None:
        data["scene"] = scene_json
    return files, data


class _SseParser:
    """Server-Sent Events lines → JobEvents (fields `id` and `data`; comments skipped)."""

    def __init__(self) -> None:
        self.data: list[str] = []
        self.event_id: str | None = None

    def feed(self, line: str) -> JobEvent | None:
        if line == "":
            if not self.data:
                return None
            payload = json.loads("\n".join(self.data))
            self.data = []
            return JobEvent(id=self.event_id, stage=payload.get("stage"),
                            status=payload["status"], progress=float(payload["progress"]),
                            error=payload.get("error"))
        if line.startswith(":"):
            return None
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "data":
            self.data.append(value)
        elif name == "id":
            self.event_id = value
        return None


class Client:
    """Blocking client. `api_key` is sent as a Bearer token when given."""

    def __init__(self, base_url: str = DEFAULT_SERVER, *, api_key: str | None = None,
                 timeout_s: float = 60.0, transport: httpx.BaseTransport | None = None) -> None:
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.http = httpx.Client(base_url=base_url.rstrip("/"), headers=headers,
                                 timeout=timeout_s, transport=transport)

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self.http.close()

    def submit(self, image: ImageInput, *, midi: ImageInput | None = None,
               options: OptionsInput = None, scene: str | Path | dict | None = None) -> JobView:
        """Queue a job; with `scene` (dict, JSON text or a .json path) the picture is not
        described and these sources are used."""
        files, data = _job_form(image, midi, options, scene)
        return JobView.model_validate_json(_check(self.http.post("/jobs", files=files,
                                                                 data=data)).content)

    def remix(self, job_id: str, *, options: dict | None = None,
              scene: str | Path | dict | None = None) -> JobView:
        """A new job from a finished one: `options` override the parent's, an edited `scene`
        makes the sounds again; unchanged stages are reused."""
        body: dict[str, Any] = {}
        if options is not None:
            body["options"] = options
        if (scene_json := _scene_json(scene)) is not None:
            body["scene"] = json.loads(scene_json)
        return JobView.model_validate_json(_check(self.http.post(
            f"/jobs/{job_id}/remix", json=body)).content)

    def get(self, job_id: str) -> JobView:
        return JobView.model_validate_json(_check(self.http.get(f"/jobs/{job_id}")).content)

    def cancel(self, job_id: str) -> JobView:
        return JobView.model_validate_json(_check(self.http.delete(f"/jobs/{job_id}")).content)

    def events(self, job_id: str, *, last_event_id: str | None = None) -> Iterator[JobEvent]:
        """The job's progress events from the start (or after `last_event_id`), live, until
        its final status."""
        headers = {"Last-Event-ID": last_event_id} if last_event_id else {}
        parser = _SseParser()
        with self.http.stream("GET", f"/jobs/{job_id}/events", headers=headers,
                              timeout=_EVENTS_TIMEOUT) as r:
            _check(r)
            for line in r.iter_lines():
                event = parser.feed(line)
                if event is not None:
                    yield event
                    if event.is_final:
                        return

    def wait(self, job_id: str, *, on_event: Callable[[JobEvent], None] | None = None,
             timeout_s: float | None = None, raise_on_failure: bool = False) -> JobView:
        """Follow the job's events until it ends; return its final view. If the event stream
        drops, resume it where it stopped."""
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        last_id: str | None = None
        while True:
            try:
                for event in self.events(job_id, last_event_id=last_id):
                    last_id = event.id or last_id
                    if on_event:
                        on_event(event)
                    if deadline is not None and time.monotonic() > deadline:
                        raise TimeoutError(f"job {job_id} not finished after {timeout_s} s")
                break
            except (httpx.TransportError, httpx.RemoteProtocolError):
                time.sleep(1.0)  # the gateway restarted or a proxy cut the stream
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError(f"job {job_id} not finished after {timeout_s} s")
        job = self.get(job_id)
        if raise_on_failure and job.status is not JobStatus.succeeded:
            raise JobFailed(job)
        return job

    def download(self, job_id: str, name: str, dest: str | Path) -> Path:
        """Save one artifact (e.g. "mix.wav", "instruments/bass/bass.sf2") to `dest`."""
        return self._save(f"/jobs/{job_id}/artifacts/{name}", Path(dest))

    def download_bundle(self, job_id: str, dest: str | Path) -> Path:
        """Save the zip of all the job's files to `dest`."""
        return self._save(f"/jobs/{job_id}/bundle.zip", Path(dest))

    def download_all(self, job_id: str, out_dir: str | Path) -> list[Path]:
        """Save every artifact under `out_dir`, keeping their relative names."""
        return [self.download(job_id, a.name, Path(out_dir) / a.name)
                for a in self.get(job_id).artifacts]

    def _save(self, url: str, dest: Path) -> Path:
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_name(f".{dest.name}.part")
        with self.http.stream("GET", url) as response:
            _check(response)
            with tmp.open("wb") as out:
                for chunk in response.iter_bytes():
                    out.write(chunk)
        tmp.replace(dest)
        return dest


class AsyncClient:
    """The same API for asyncio code."""

    def __init__(self, base_url: str = DEFAULT_SERVER, *, api_key: str | None = None,
                 timeout_s: float = 60.0,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.http = httpx.AsyncClient(base_url=base_url.rstrip("/"), headers=headers,
                                      timeout=timeout_s, transport=transport)

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self.http.aclose()

    async def submit(self, image: ImageInput, *, midi: ImageInput | None = None,
                     options: OptionsInput = None,
                     scene: str | Path | dict | None = None) -> JobView:
        files, data = _job_form(image, midi, options, scene)
        response = await self.http.post("/jobs", files=files, data=data)
        return JobView.model_validate_json(_check(response).content)

    async def get(self, job_id: str) -> JobView:
        response = await self.http.get(f"/jobs/{job_id}")
        return JobView.model_validate_json(_check(response).content)

    async def cancel(self, job_id: str) -> JobView:
        response = await self.http.delete(f"/jobs/{job_id}")
        return JobView.model_validate_json(_check(response).content)

    async def events(self, job_id: str, *,
                     last_event_id: str | None = None) -> AsyncIterator[JobEvent]:
        headers = {"Last-Event-ID": last_event_id} if last_event_id else {}
        parser = _SseParser()
        async with self.http.stream(
                "GET", f"/jobs/{job_id}/events", headers=headers,
                timeout=_EVENTS_TIMEOUT) as response:
            if response.is_error:
                await response.aread()
                raise ApiError.from_response(response)
            async for line in response.aiter_lines():
                event = parser.feed(line)
                if event is not None:
                    yield event
                    if event.is_final:
                        return

    async def wait(self, job_id: str, *, on_event: Callable[[JobEvent], None] | None = None,
                   timeout_s: float | None = None, raise_on_failure: bool = False) -> JobView:
        import asyncio

        async def follow() -> None:
            last_id: str | None = None
            while True:
                try:
                    async for event in self.events(job_id, last_event_id=last_id):
                        last_id = event.id or last_id
                        if on_event:
                            on_event(event)
                    return
                except (httpx.TransportError, httpx.RemoteProtocolError):
                    await asyncio.sleep(1.0)

        try:
            await asyncio.wait_for(follow(), timeout_s)
        except TimeoutError:
            raise TimeoutError(f"job {job_id} not finished after {timeout_s} s") from None
        job = await self.get(job_id)
        if raise_on_failure and job.status is not JobStatus.succeeded:
            raise JobFailed(job)
        return job

    async def download(self, job_id: str, name: str, dest: str | Path) -> Path:
        return await self._save(f"/jobs/{job_id}/artifacts/{name}", Path(dest))

    async def download_bundle(self, job_id: str, dest: str | Path) -> Path:
        return await self._save(f"/jobs/{job_id}/bundle.zip", Path(dest))

    async def download_all(self, job_id: str, out_dir: str | Path) -> list[Path]:
        job = await self.get(job_id)
        return [await self.download(job_id, a.name, Path(out_dir) / a.name)
                for a in job.artifacts]

    async def _save(self, url: str, dest: Path) -> Path:
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_name(f".{dest.name}.part")
        async with self.http.stream("GET", url) as response:
            if response.is_error:
                await response.aread()
                raise ApiError.from_response(response)
            with tmp.open("wb") as out:
                async for chunk in response.aiter_bytes():
                    out.write(chunk)
        tmp.replace(dest)
        return dest


# -- `imagewave submit IMAGE --server URL` ---------------------------------------------------


def progress_bars_fit(stream) -> bool:
    """Bars need a terminal wide enough to draw them; a 0-column one (some CI consoles, a
    detached pty) would get one blank line per refresh, so it gets plain lines instead."""
    if not stream.isatty():
        return False
    import os

    try:
        columns = os.get_terminal_size(stream.fileno()).columns
    except (OSError, ValueError):
        return False
    return columns >= 40


class _ProgressBars:
    """One bar per stage on a terminal (tqdm), one line per stage change otherwise."""

    def __init__(self, stream) -> None:
        self.stream = stream
        self.tty = progress_bars_fit(stream)
        self.bars: dict[str, Any] = {}

    def __call__(self, event: JobEvent) -> None:
        if event.stage is None:
            if not self.tty or event.is_final:
                print(f"[imagewave] job {event.status}", file=self.stream, flush=True)
            return
        if not self.tty:
            if event.status != "running" or event.progress == 0.0:
                print(f"[imagewave] {event.stage}: {event.status}", file=self.stream,
                      flush=True)
            return
        from tqdm import tqdm

        bar = self.bars.get(event.stage)
        if bar is None:
            bar = self.bars[event.stage] = tqdm(
                total=100, desc=f"{event.stage:12s}", file=self.stream,
                bar_format="{desc} {bar} {percentage:3.0f}% {elapsed}")
        bar.n = int(event.progress * 100)
        bar.refresh()
        if event.status != "running":
            bar.close()

    def close(self) -> None:
        for bar in self.bars.values():
            bar.close()


def add_submit_arguments(parser) -> None:
    """The arguments of `imagewave submit` on an argparse (sub)parser."""
    parser.add_argument("image", metavar="IMAGE")
    parser.add_argument("--server", default=DEFAULT_SERVER, metavar="URL",
                        help="the gateway (default: %(default)s)")
    parser.add_argument("--midi", help="play this MIDI instead of a generated arrangement")
    parser.add_argument("--scene", metavar="SCENE.json",
                        help="use this scene (the format of scene.json) instead of describing "
                             "the picture")
    defaults = JobOptions()
    parser.add_argument("--seconds", type=float, help=f"song length in seconds (default: "
                                                      f"{defaults.audio_length_in_s:g})")
    parser.add_argument("--sfx-seconds", type=float,
                        help=f"each sound effect's length (default: {defaults.sfx_length_in_s:g})")
    parser.add_argument("--seed", type=int, help=f"(default: {defaults.seed})")
    parser.add_argument("--webhook-url", metavar="URL", help="also POST the result here")
    parser.add_argument("--api-key", help="when the server requires one")
    parser.add_argument("-o", "--output", default=".", metavar="DIR",
                        help="where the song goes (default: here, %(default)s)")
    parser.add_argument("--bundle", action="store_true",
                        help="download the zip of everything instead of mix.wav")


def submit_command(args) -> int:
    """`imagewave submit IMAGE --server URL [--midi F] [--seconds S] [--sfx-seconds S]
    [--seed N] [-o DIR] [--bundle] [--api-key K] [--webhook-url URL]`: submit, show live
    progress, download the song (or with --bundle the zip of everything). Exit status 0 on
    success, 1 if the job failed or was canceled, 2 if the server refused or was unreachable."""
    import sys

    try:
        return _submit(args)
    except ApiError as exc:
        flag = SUBMIT_FLAGS.get(exc.field or "")
        message = exc.message.removeprefix(f"{exc.field}: ") if exc.field else exc.message
        where = flag or exc.field
        print(f"imagewave: error: {where + ': ' if where else ''}{message}", file=sys.stderr)
        return 2
    except httpx.InvalidURL as exc:
        print(f"imagewave: error: --server: not a valid URL ({exc})", file=sys.stderr)
        return 2
    except httpx.TransportError as exc:
        print(f"imagewave: error: --server: cannot reach {args.server}: {exc}", file=sys.stderr)
        return 2


# The gateway's field names → the `submit` options that set them, for one-line errors.
SUBMIT_FLAGS = {
    "options.audio_length_in_s": "--seconds",
    "options.sfx_length_in_s": "--sfx-seconds",
    "options.seed": "--seed",
    "options.webhook_url": "--webhook-url",
    "image": "IMAGE",
    "midi": "--midi",
}


def _submit(args) -> int:
    import sys

    options: dict[str, Any] = {}
    for name, field in (("seconds", "audio_length_in_s"), ("sfx_seconds", "sfx_length_in_s"),
                        ("seed", "seed"), ("webhook_url", "webhook_url")):
        if getattr(args, name, None) is not None:
            options[field] = getattr(args, name)
    out_dir = Path(getattr(args, "output", None) or ".")
    _options_json(options)  # a bad value is a one-line error before any connection
    with Client(args.server, api_key=getattr(args, "api_key", None)) as client:
        job = client.submit(args.image, midi=getattr(args, "midi", None), options=options,
                            scene=getattr(args, "scene", None))
        print(f"job {job.id}: {args.server.rstrip('/')}/jobs/{job.id}", file=sys.stderr)
        bars = _ProgressBars(sys.stderr)
        try:
            job = client.wait(job.id, on_event=bars)
        except KeyboardInterrupt:
            bars.close()
            client.cancel(job.id)
            print(f"job {job.id} canceled", file=sys.stderr)
            return 130
        bars.close()
        if job.status is not JobStatus.succeeded:
            reason = job.error.message if job.error else job.status.value
            print(f"imagewave: job {job.id} {job.status.value}: {reason}", file=sys.stderr)
            return 1
        if getattr(args, "bundle", False):
            path = client.download_bundle(job.id, out_dir / f"imagewave-{job.id[:8]}.zip")
        else:
            path = client.download(job.id, "mix.wav", out_dir / f"imagewave-{job.id[:8]}.wav")
    print(path)
    return 0
