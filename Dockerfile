# qcbot: slim image, non-root, SQLite database in a volume.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 QCBOT_DB=/data/qcbot.db
WORKDIR /app
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY knowledge ./knowledge
COPY scoring ./scoring
COPY handlers ./handlers
RUN pip install --no-cache-dir . \
    && useradd --create-home --uid 10001 qcbot \
    && mkdir -p /data && chown qcbot /data
USER qcbot
VOLUME ["/data"]
# exec form: qcbot is PID 1 and receives SIGTERM directly for a clean stop
ENTRYPOINT ["qcbot"]
CMD ["kb", "check"]
