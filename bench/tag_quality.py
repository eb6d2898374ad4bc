"""Tag quality: precision, recall and F1 of the tag rule on labelled images, beside the old softmax rule's.

(1) The fixture world, always: fresh images of the tiny CLIP fixture's 16 classes (a colour and a shape
    each; those two are the right tags), calibrated on themselves as the daemon calibrates on its
    library, with the fixture's own eight tags (without and with facets) and with the default
    vocabulary plus those eight. With the default vocabulary only the eight are judged: a picture of
    a shape has no right answer for "beach".
(2) A small labelled set of real photographs (scikit-image's and matplotlib's; the labels are ours,
    in LABELS below) with real ViT-B/32 weights, when they are in the cache. Without them it says so
    and measures nothing: random weights tag at random.

The old rule is the softmax over the whole vocabulary with min_probability 0.1, which photosift used
before the per-tag rule (tests/fixtures/tag_world.py keeps it for comparison).

    python bench/tag_quality.py
    python bench/tag_quality.py --per-class 20
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import matplotlib.cbook
import numpy as np
import skimage
from machine import describe

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "fixtures"))
from shapes import COLOURS, SHAPES  # noqa: E402
from tag_world import Decided, Quality, quality, shape_images, softmax_rule  # noqa: E402

from photosift.daemon import paths  # noqa: E402
from photosift.daemon.config import TagSettings  # noqa: E402
from photosift.daemon.decode import Limits, decode_file  # noqa: E402
from photosift.daemon.model import ClipModel, load  # noqa: E402
from photosift.daemon.tags.rule import Tagger  # noqa: E402
from photosift.daemon.tags.vocabulary import build  # noqa: E402

FIXTURE = ROOT / "tests" / "fixtures" / "shapes-clip.pt"
SKIMAGE = Path(skimage.__file__).parent / "data"
# what each photo shows, in the default vocabulary's words (our labels; a tag not listed counts as wrong)
LABELS = {
    "astronaut.png": {"portrait", "woman", "smiling person"},
    "chelsea.png": {"cat", "indoors"},
    "coffee.png": {"coffee", "cup"},
    "motorcycle_left.png": {"motorcycle", "indoors"},
    "camera.png": {"man", "camera", "black and white photo", "outdoors"},
    "page.png": {"text", "document"},
    "text.png": {"text"},
    "hubble_deep_field.jpg": {"starry sky", "night sky", "night"},
    "rocket.jpg": {"outdoors", "daytime"},
    "grace_hopper.jpg": {"portrait", "woman"},
}


def row(name: str, old: Quality, new: Quality) -> str:
    def cells(q: Quality) -> str:
        return (f"{q.precision:5.2f} {q.recall:5.2f} {q.f1:5.2f} {q.both:6.0%} {q.clean:6.0%} "
                f"{q.tags_per_image:5.1f}")

    return f"  {name:<34} old: {cells(old)}   new: {cells(new)}"


def header() -> str:
    cols = "    P     R    F1   both  clean  tags"
    return f"  {'':<34} {cols}      {cols}"


def fixture_world(per_class: int, seed: int) -> None:
    model = load(str(FIXTURE), "cpu", paths.cache_dir())
    embeddings, truth = shape_images(model, per_class, seed)
    eight = tuple((n, ()) for n in (*COLOURS, *SHAPES))
    facets = (("colour", tuple(COLOURS)), ("shape", tuple(SHAPES)))
    setups = [
        ("own eight tags", TagSettings(vocabulary="none", custom=eight), None),
        ("own eight tags, two facets", TagSettings(vocabulary="none", custom=eight, facets=facets), None),
        ("default + eight, two facets", TagSettings(custom=eight, facets=facets), set(COLOURS) | set(SHAPES)),
        ("default + eight, no facets", TagSettings(custom=eight), set(COLOURS) | set(SHAPES)),
    ]
    print(f"(1) the fixture world: {len(embeddings)} fresh images ({per_class} per class, seed {seed}); "
          "both = images with their colour and shape, clean = images with no wrong tag")
    print(header())
    for name, settings, judged in setups:
        tagger = Tagger.build(model, build(settings), settings, paths.cache_dir() / "bench-tags")
        old = softmax_rule(tagger, embeddings)
        tagger.calibrate(tagger.measure(embeddings, len(embeddings)))
        print(row(name, quality(old, truth, judged), quality(tagger.decide(embeddings), truth, judged)))


def real_photos() -> None:
    cached = paths.cache_dir() / "clip" / "ViT-B-32.pt"
    if not cached.is_file():
        print(f"(2) real photos: NOT MEASURED: real ViT-B/32 weights are not in the cache ({cached}); "
              "random weights would tag at random. Run `photosift daemon` once with network to fetch them.")
        return
    model: ClipModel = load("ViT-B/32", "cpu", paths.cache_dir())
    grace = Path(matplotlib.cbook.get_sample_data("grace_hopper.jpg", asfileobj=False))
    # the library to calibrate on: every bundled photo (the labelled ones among them)
    library = [*sorted(p for p in SKIMAGE.iterdir() if p.suffix in (".png", ".jpg")), grace]
    pixels = np.stack([decode_file(str(f), model.input_resolution, Limits()).pixels for f in library])
    every = model.encode_images(pixels)
    labelled = [i for i, f in enumerate(library) if f.name in LABELS]
    embeddings, truth = every[labelled], [LABELS[library[i].name] for i in labelled]
    settings = TagSettings()
    tagger = Tagger.build(model, build(settings), settings, paths.cache_dir() / "bench-tags")
    old: Decided = softmax_rule(tagger, embeddings)
    tagger.calibrate(tagger.measure(every, len(every)))
    new = tagger.decide(embeddings)
    state = "calibrated on them" if tagger.calibration.measured else "too few to calibrate: the prior"
    print(f"(2) real photos with real ViT-B/32 weights: {len(labelled)} labelled of {len(library)} photos ({state})")
    print(header())
    print(row("default vocabulary", quality(old, truth), quality(new, truth)))
    for i, was, now in zip(labelled, old, new, strict=True):
        print(f"    {library[i].name:<24} old: {', '.join(t for t, _ in was) or '-':<40} "
              f"new: {', '.join(t for t, _ in now) or '-'}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--per-class", type=int, default=10, help="fixture images per class (default 10)")
    ap.add_argument("--seed", type=int, default=5)
    args = ap.parse_args()
    print(describe())
    fixture_world(args.per_class, args.seed)
    real_photos()


if __name__ == "__main__":
    main()
