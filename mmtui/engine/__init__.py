"""The engine: checks, solves, resets and progress. It never imports Textual."""
