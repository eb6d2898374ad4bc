"""Near-duplicate groups: candidates from the stored embeddings (near.py), proven by perceptual hashes,
grouped, with the copy to keep suggested (groups.py)."""
