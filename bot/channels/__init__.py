"""Channel adapters: Telegram and WeCom translate their updates into `Incoming` and render `Reply`.

Each adapter is thin: parse → `handlers.core.Incoming`, call the one `Handler`, render each
`Reply` for the platform. Nothing here knows about indicators, scores or storage.
"""
