"""Lab content: the pydantic model, the loader that keeps YAML line numbers, and the linter."""
