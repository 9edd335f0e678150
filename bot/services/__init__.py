"""Use cases. Services take a sessionmaker and plain values and return DTOs
(`bot.services.dto`), never ORM objects or platform types, so Telegram, Zalo, the CLI and
the scheduler all drive the same code."""
