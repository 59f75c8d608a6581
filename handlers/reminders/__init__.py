"""Reminders: working time (`calendar`), the pure schedule and its rules (`schedule`), and the
messages read from storage (`messages`). The runner that claims and sends is `bot.scheduler`."""
