"""Telegram bot channel: webhook updates in, replies in the webhook's answer or pushed later."""
