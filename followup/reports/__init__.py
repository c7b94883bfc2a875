"""Out: monthly summaries, rankings and exports."""
