"""The office console: a web page of who is away, what is pending and what is due (issue 12)."""
