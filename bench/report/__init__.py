"""The report: intervals and ties, the leaderboard, verdict, figures, task and cost sections, Markdown and HTML. No torch."""
