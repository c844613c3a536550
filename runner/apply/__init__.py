"""plan/apply: reconcile the assistants, files and vector stores on an API with the YAML."""
