"""The index: everything from a watched folder to the store, top to bottom.

watcher → debounce → (scan, reconcile) → pipeline (examine, encode) → writer → store,
with the catalog and the failure ledger beside the store. Nothing here imports
`tags/`: the writer tells tagging what changed through a small protocol.
"""
