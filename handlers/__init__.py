"""Telegram handlers: read the Update, call a service, render the reply. One module per capability."""
