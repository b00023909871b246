# syntax=docker/dockerfile:1
# imagewave gateway + RQ workers: the HTTP API and the processes that drive jobs through the
# services. CPU only; one image, two commands:
#   gateway (default CMD)      uvicorn --factory gateway.app:create_app
#   worker                     imagewave worker
# Build from the repository root:  docker build -f docker/gateway.Dockerfile -t imagewave-gateway .
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    IMAGEWAVE_HOST=0.0.0.0 \
    IMAGEWAVE_PORT=8000 \
    IMAGEWAVE_DATA_DIR=/var/lib/imagewave \
    IMAGEWAVE_ARTIFACT_DIR=/artifacts

RUN apt-get update \
    && apt-get install -y --no-install-recommends libsndfile1 \
    && rm -rf /var/lib/apt/lists/*

# torch is a core dependency (pinned in pyproject.toml); take its CPU wheel so the image does
# not carry a CUDA build it never uses.
RUN pip install --index-url https://download.pytorch.org/whl/cpu torch==2.13.0
COPY . /src
RUN pip install /src && rm -rf /src

RUN useradd --uid 10001 --create-home imagewave \
    && mkdir -p /var/lib/imagewave /artifacts \
    && chown imagewave /var/lib/imagewave /artifacts
USER 10001
WORKDIR /home/imagewave
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD python -c "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('IMAGEWAVE_PORT', '8000'), timeout=4)"
# uvicorn with request-head size, head/body timeouts and a connection cap (gateway/http_server.py).
CMD ["sh", "-c", "exec python -m gateway.http_server --host \"$IMAGEWAVE_HOST\" --port \"$IMAGEWAVE_PORT\" --proxy-headers --forwarded-allow-ips '*'"]
