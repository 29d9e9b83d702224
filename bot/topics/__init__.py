"""Meeting topics (议题): request, review and decision chain (Art. 49), materials, agenda, outcomes."""
