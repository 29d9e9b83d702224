"""Benchmark and test tooling, kept out of the running bot: `zhengwu bench chat` and `zhengwu bench
console`, and the in-process harness (the bot polling a sandbox server from threads) that the chat
benchmark and the tests drive. Nothing in the bot imports from here."""
