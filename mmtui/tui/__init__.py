"""The Textual guide. It calls the engine from thread workers; the engine never imports it."""
