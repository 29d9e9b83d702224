"""Deadlines from the rules and from users, and the reminders that are pushed for them."""
