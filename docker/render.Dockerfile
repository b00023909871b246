# syntax=docker/dockerfile:1
# imagewave render: instruments (SFZ/SF2), arrangement and the mix. CPU only, on a slim base.
# Build from the repository root:  docker build -f docker/render.Dockerfile -t imagewave-render .
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    IMAGEWAVE_RENDER_HOST=0.0.0.0 \
    IMAGEWAVE_RENDER_PORT=8104

RUN apt-get update \
    && apt-get install -y --no-install-recommends libsndfile1 \
    && rm -rf /var/lib/apt/lists/*

# torch is a core dependency (pinned in pyproject.toml): the CPU wheel is all render needs.
RUN pip install --index-url https://download.pytorch.org/whl/cpu torch==2.13.0
COPY . /src
RUN pip install /src && rm -rf /src

RUN useradd --uid 10001 --create-home imagewave
USER 10001
WORKDIR /home/imagewave
EXPOSE 8104
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD python -c "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('IMAGEWAVE_RENDER_PORT', '8104'), timeout=4)"
CMD ["sh", "-c", "exec uvicorn --factory services.render.app:create_app --host \"$IMAGEWAVE_RENDER_HOST\" --port \"$IMAGEWAVE_RENDER_PORT\""]
