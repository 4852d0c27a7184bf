"""The central POT catalog, and pushing what each coop carries to its shop."""
