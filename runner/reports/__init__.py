"""Reports for people and machines: terminal text, Markdown, JSON, JUnit XML."""
