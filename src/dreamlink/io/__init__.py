"""Readers and writers at the edges: file formats in, file formats out."""
