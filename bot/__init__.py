"""Nhắc việc: reminders and progress tracking for the tasks a Vietnamese office hands out."""

__version__ = "0.1.0"
