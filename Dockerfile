# One image for the web server and the Celery worker (see docker-compose.yml).
# Build arguments, for machines without a container registry (`make
# compose-smoke` uses both): BASE_IMAGE, any image with Python 3.11 and pip;
# PIP_INSTALL_OPTIONS, e.g. "--no-index --find-links /tmp/install" to install
# from wheels placed in .wheels/ beside this file instead of from PyPI.
ARG BASE_IMAGE=python:3.11-slim-bookworm
FROM ${BASE_IMAGE}
ARG PIP_INSTALL_OPTIONS=""

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    P2C_VAR_DIR=/app/var \
    MEDIA_ROOT=/app/media \
    STATIC_ROOT=/app/staticfiles

WORKDIR /app

# Requirements first so code changes do not reinstall them. `.wheel[s]`
# copies .wheels/ when it exists and nothing otherwise.
COPY requirements.txt .wheel[s] /tmp/install/
RUN python -m pip install --no-cache-dir ${PIP_INSTALL_OPTIONS} -r /tmp/install/requirements.txt \
    && rm -rf /tmp/install

COPY . .
# Bytecode ahead: with PYTHONDONTWRITEBYTECODE (and /app not the app user's) every web process,
# worker and command would otherwise compile the app again at start.
RUN python -m compileall -q migration p2cwizard

# The folders exist and belong to the app user before a volume is mounted on
# them: Docker copies that ownership into a new named volume.
RUN useradd --create-home --uid 1000 p2c \
    && mkdir -p "$P2C_VAR_DIR" "$MEDIA_ROOT" "$STATIC_ROOT" \
    && chown -R p2c:p2c "$P2C_VAR_DIR" "$MEDIA_ROOT" "$STATIC_ROOT"
USER p2c

EXPOSE 8000
# Sized as `manage.py serve` sizes it (P2C_WEB_PROCESSES, P2C_WEB_THREADS).
CMD ["gunicorn", "p2cwizard.wsgi", "--config", "python:p2cwizard.gunicorn_conf", "--bind", "0.0.0.0:8000", "--access-logfile", "-"]
