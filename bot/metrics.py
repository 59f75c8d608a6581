"""What `/metrics` reports, in the Prometheus text format, on a registry of its own.

The counters are process-wide (one bot per process); tests read differences through
`sample()`. Only `bot/` records into them: the HTTP middleware and /metrics in `bot/serve.py`,
answers in `bot/app.py`, reminders in `bot/scheduler.py`.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import choose_encoder

REGISTRY = CollectorRegistry(auto_describe=True)
# an answer takes about half a millisecond; a slow one is one that waits for the database
ANSWER_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

REQUESTS = Counter(
    "qcbot_http_requests",
    "HTTP 请求数（按路由与状态码）",
    ["route", "status"],
    registry=REGISTRY,
)
REPLIES = Counter(
    "qcbot_replies", "回复消息条数（按渠道，不含提醒）", ["channel"], registry=REGISTRY
)
ABSTENTIONS = Counter(
    "qcbot_abstentions", "回答为“没找到”的问题数（按渠道）", ["channel"], registry=REGISTRY
)
ANSWER_SECONDS = Histogram(
    "qcbot_answer_seconds",
    "一条消息从交给机器人到得出回复的用时，秒（按渠道）",
    ["channel"],
    buckets=ANSWER_BUCKETS,
    registry=REGISTRY,
)
REMINDERS = Counter(
    "qcbot_reminders",
    "提醒条数（按结果：sent 已发送、failed 发送失败、dropped 过期未发）",
    ["status"],
    registry=REGISTRY,
)
QUEUE_DEPTH = Gauge(
    "qcbot_queue_depth",
    "队列中待处理的条数（webhook 群机器人待发；wecom_bot、wecom_app 待答；telegram 待处理）",
    ["queue"],
    registry=REGISTRY,
)


def count_request(route: str, status: int) -> None:
    """One HTTP request answered with `status` on `route` (a route pattern, never a raw path)."""
    REQUESTS.labels(route=route, status=str(status)).inc()


def count_answer(channel: str, replies: int, abstained: int, seconds: float) -> None:
    """One message handled: how many replies, how many of them 没找到, and how long it took."""
    REPLIES.labels(channel=channel).inc(replies)
    if abstained:
        ABSTENTIONS.labels(channel=channel).inc(abstained)
    ANSWER_SECONDS.labels(channel=channel).observe(seconds)


def count_reminder(status: str) -> None:
    """One reminder sent, failed or dropped."""
    REMINDERS.labels(status=status).inc()


def set_queue_depths(depths: dict[str, int]) -> None:
    """The current length of each queue (set just before a scrape)."""
    for queue, depth in depths.items():
        QUEUE_DEPTH.labels(queue=queue).set(depth)


def exposition(accept: str = "") -> tuple[bytes, str]:
    """Every metric and its content type: the Prometheus text format, or OpenMetrics if asked."""
    encode, content_type = choose_encoder(accept)
    return encode(REGISTRY), content_type


def sample(name: str, **labels: str) -> float:
    """The current value of one sample (0 when never recorded), e.g. sample("qcbot_replies_total", channel="console")."""
    value = REGISTRY.get_sample_value(name, labels)
    return 0.0 if value is None else value
