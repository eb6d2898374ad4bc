"""photosift's engine: configuration, CLIP model, decoding, the index pipeline and its store."""

import os

__version__ = "0.1.0"

# Set before anything imports torch (OpenMP reads it once, when it loads). Several threads run the model
# (the indexing encoder, each query's text encoder), and each gets its own OpenMP team; by default an idle
# team's threads spin at their barriers, taking the cores the working team needs: on two cores the encoder
# ran 40-60 % slower from a second thread than from the first. Sleeping at barriers costs nothing
# measurable here. A value the user sets wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
