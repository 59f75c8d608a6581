"""Reminders, all in one place: working time (`calendar`), the pure schedule and its rules
(`schedule`), the messages read from storage (`messages`), the chat commands /remind /mute
/unmute /deadline (`commands`). The runner that claims and sends is `bot.scheduler`; the dates
of the plans come from `knowledge.deadlines`."""
