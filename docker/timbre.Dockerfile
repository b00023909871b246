# syntax=docker/dockerfile:1
# imagewave timbre: effect → keyboard / bass / guitar voice with RAVE TorchScript models.
# GPU service on a CUDA base; runs on CPU too (slowly) when no GPU is visible.
# Build from the repository root:  docker build -f docker/timbre.Dockerfile -t imagewave-timbre .
ARG CUDA_IMAGE=nvidia/cuda:12.8.1-cudnn-runtime-ubuntu24.04
FROM ${CUDA_IMAGE}

ENV DEBIAN_FRONTEND=noninteractive \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH \
    HF_HOME=/models/huggingface \
    IMAGEWAVE_TIMBRE_HOST=0.0.0.0 \
    IMAGEWAVE_TIMBRE_PORT=8103

RUN apt-get update \
    && apt-get install -y --no-install-recommends python3 python3-venv libsndfile1 ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && python3 -m venv /opt/venv

# On Linux x86_64 the PyPI torch wheel (version pinned in pyproject.toml) is the CUDA build and
# brings its own CUDA libraries; the base image provides the driver-facing runtime.
COPY . /src
RUN pip install "/src[studio]" && rm -rf /src

# Models come from the shared models volume mounted at /models (HF_HOME lives there).
RUN useradd --uid 10001 --create-home imagewave \
    && mkdir -p /models && chown imagewave /models
USER 10001
WORKDIR /home/imagewave
EXPOSE 8103
HEALTHCHECK --interval=15s --timeout=5s --start-period=600s --retries=3 \
    CMD python -c "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('IMAGEWAVE_TIMBRE_PORT', '8103'), timeout=4)"
CMD ["sh", "-c", "exec uvicorn --factory services.timbre.app:create_app --host \"$IMAGEWAVE_TIMBRE_HOST\" --port \"$IMAGEWAVE_TIMBRE_PORT\""]
