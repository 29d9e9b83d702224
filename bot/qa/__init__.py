"""Questions about the rules: answering, logging, feedback, statistics, browsing."""
