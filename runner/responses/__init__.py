"""The Responses API side of arun: compiling YAML assistants into requests, migration lints, model dates."""
