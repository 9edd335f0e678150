"""Chat handlers, one subpackage per platform: thin adapters that turn a platform message
into a service call (mostly `bot.services.conversation`) and render the answer.

`handlers.telegram.build_router()` assembles the Telegram routers."""
