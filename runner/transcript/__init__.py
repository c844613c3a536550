"""Transcripts: one YAML file per replayed scenario, written byte-for-byte reproducibly."""
