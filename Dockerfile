# One image for the web server and the Celery worker (see docker-compose.yml).
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    P2C_VAR_DIR=/app/var \
    MEDIA_ROOT=/app/media \
    STATIC_ROOT=/app/staticfiles

WORKDIR /app

# Requirements first so code changes do not reinstall them.
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt

COPY . .

# The folders exist and belong to the app user before a volume is mounted on
# them: Docker copies that ownership into a new named volume.
RUN useradd --create-home --uid 1000 p2c \
    && mkdir -p "$P2C_VAR_DIR" "$MEDIA_ROOT" "$STATIC_ROOT" \
    && chown -R p2c:p2c "$P2C_VAR_DIR" "$MEDIA_ROOT" "$STATIC_ROOT"
USER p2c

EXPOSE 8000
CMD ["gunicorn", "p2cwizard.wsgi", "--bind", "0.0.0.0:8000", "--workers", "2", "--threads", "4", "--access-logfile", "-"]
