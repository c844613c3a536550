"""The local Assistants API server: OpenAI's Assistants v2, Files and Vector stores protocol on SQLite."""
