"""Outbound channels: one `ChannelSender` implementation per messaging platform."""
