"""The sandbox: a local Bot API server with a browser chat page, for trying and testing the bot."""
