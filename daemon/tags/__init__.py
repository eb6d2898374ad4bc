"""Automatic tags: the vocabulary, the rule that picks an image's tags, the tag table kept in step
with the store, re-tagging from stored embeddings, tag queries, and export to sidecars and xattrs."""
