"""`python -m bot` is the same as the `nhacviec` command."""

from bot.cli import main

main()
