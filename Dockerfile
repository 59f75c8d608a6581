# qcbot: slim image, non-root, SQLite database in a volume, clean stop on SIGTERM.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    QCBOT_DB_PATH=/data/qcbot.db QCBOT_EXPORT_DIR=/data/exports \
    QCBOT_CACHE_DIR=/home/qcbot/.cache/qcbot
WORKDIR /app
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY knowledge ./knowledge
COPY scoring ./scoring
COPY handlers ./handlers
COPY qcbot ./qcbot
RUN pip install --no-cache-dir . \
    && useradd --create-home --uid 10001 qcbot \
    && mkdir -p /data && chown qcbot /data
USER qcbot
# build the question index once, at image build time, so the first answer is fast
RUN qcbot kb check > /dev/null && python -c "from knowledge.cache import load_librarian; load_librarian()"
VOLUME ["/data"]
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/healthz')"
# exec form: qcbot is PID 1 and receives SIGTERM directly; `serve` drains and closes on it
ENTRYPOINT ["qcbot"]
CMD ["serve"]
