# syntax=docker/dockerfile:1
# ordergate's production image: `docker build -t ordergate .`
# Two stages on the same slim Python: the first builds ordergate's wheel and installs it with
# its dependencies (all as wheels) into a virtual environment; the second gets only that
# environment. The wheel carries service/, schema/ and db/ (pyproject's force-include), so
# no source tree is needed at run time.

ARG PYTHON_IMAGE=python:3.12-slim-trixie

FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
RUN python -m venv /opt/ordergate
# Only what the wheel is built from: service/, schema/, db/ and the packaging metadata.
COPY pyproject.toml README.md ./
COPY service/ service/
COPY schema/ schema/
COPY db/ db/
# Every dependency arrives as a wheel; nothing is compiled in the image. httptools and uvloop
# (uvicorn's C parser and event loop, what `ordergate serve` runs on) are among them.
RUN python -m pip wheel --no-cache-dir --only-binary=:all: --wheel-dir /wheels . \
    && /opt/ordergate/bin/pip install --no-cache-dir --no-index --find-links /wheels ordergate \
    && /opt/ordergate/bin/python -m compileall -q /opt/ordergate/lib

FROM ${PYTHON_IMAGE}
# Bytecode was compiled in the build stage: the root filesystem is read-only at run time,
# and everything that must be written (temporary files) goes to /tmp.
ENV PATH=/opt/ordergate/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/tmp \
    TMPDIR=/tmp \
    ORDERGATE_DATA_DIR=/tmp/ordergate \
    ORDERGATE_ENV=production
COPY --from=build /opt/ordergate /opt/ordergate
# A numeric user the kubelet can check against runAsNonRoot without a passwd entry.
USER 10001:10001
WORKDIR /tmp
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s --start-period=20s \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2)"]
CMD ["ordergate", "serve"]
