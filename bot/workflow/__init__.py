"""The workflow kernel leave, topics and deadlines stand on: compare-and-set transitions, the
outbox and its cards, the one audit trail (see README, Workflows)."""
