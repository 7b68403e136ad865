"""Git work of the lab: buildspecs rendered from templates, diffed, committed and pushed."""
