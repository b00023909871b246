# syntax=docker/dockerfile:1
# imagewave timbre: effect → keyboard / bass / guitar voice with RAVE TorchScript models.
# GPU service on a CUDA 13 base (host driver >= 580).
# Build from the repository root:  docker build -f docker/timbre.Dockerfile -t imagewave-timbre .
# CUDA 13 `base`: the driver-facing runtime only; torch's wheel brings the CUDA 13 libraries,
# so the image has one CUDA stack. Needs an NVIDIA driver >= 580 on the host (docs/studio.md).
ARG CUDA_IMAGE=nvidia/cuda:13.0.1-base-ubuntu24.04
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

# The studio stack at the versions tested together (docker/studio-constraints.txt): PyPI's
# torch 2.13.0 wheel, a CUDA 13 build with its own CUDA 13 libraries, matching the base image.
COPY . /src
RUN pip install -c /src/docker/studio-constraints.txt "/src[studio]" && rm -rf /src

# Models come from the shared models volume mounted at /models (HF_HOME lives there).
RUN useradd --uid 10001 --create-home imagewave \
    && mkdir -p /models && chown imagewave /models
USER 10001
WORKDIR /home/imagewave
EXPOSE 8103
HEALTHCHECK --interval=15s --timeout=5s --start-period=600s --retries=3 \
    CMD python -c "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('IMAGEWAVE_TIMBRE_PORT', '8103'), timeout=4)"
CMD ["sh", "-c", "exec uvicorn --factory services.timbre.app:create_app --host \"$IMAGEWAVE_TIMBRE_HOST\" --port \"$IMAGEWAVE_TIMBRE_PORT\""]
