"""The per-tag rule on the real tiny CLIP: every tag that fits, no tag that does not, and why.

The images are freshly drawn from all 16 classes of the fixture's world (10 each), and the library the
rule is calibrated on is those same images, as the daemon calibrates on the library it holds.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from helpers import COLOURS, SHAPES, shape_tags
from tag_world import quality, shape_images, softmax_rule

from photosift.daemon.config import TagSettings
from photosift.daemon.errors import ConfigError
from photosift.daemon.tags.rule import Calibration, Tagger
from photosift.daemon.tags.vocabulary import build

EIGHT = tuple((n, ()) for n in (*COLOURS, *SHAPES))
FACETS = (("colour", tuple(COLOURS)), ("shape", tuple(SHAPES)))
JUDGED = set(COLOURS) | set(SHAPES)


@pytest.fixture(scope="module")
def world(model) -> tuple[np.ndarray, list[set[str]]]:
    return shape_images(model, per_class=10, seed=5)


def calibrated(model, settings: TagSettings, embeddings: np.ndarray, cache: Path) -> Tagger:
    tagger = Tagger.build(model, build(settings), settings, cache)
    tagger.calibrate(tagger.measure(embeddings, len(embeddings)))
    assert tagger.calibration.measured
    return tagger


def test_every_image_carries_its_colour_and_its_shape_and_nothing_else(model, world, tmp_path: Path) -> None:
    embeddings, truth = world
    own = calibrated(model, shape_tags(), embeddings, tmp_path)  # no facets: each tag on its own evidence
    got = quality(own.decide(embeddings), truth)
    assert got.both >= 0.9 and got.clean >= 0.9, got
    with_facets = calibrated(model, shape_tags(facets=FACETS), embeddings, tmp_path)
    got = quality(with_facets.decide(embeddings), truth)
    assert got.both >= 0.9 and got.clean >= 0.9, got


def test_with_the_default_vocabulary_too_and_the_old_softmax_rule_fails_there(model, world, tmp_path: Path) -> None:
    embeddings, truth = world
    settings = TagSettings(custom=EIGHT, facets=FACETS)
    tagger = calibrated(model, settings, embeddings, tmp_path)
    assert len(tagger.names) > 300
    got = quality(tagger.decide(embeddings), truth, judged=JUDGED)
    assert got.both >= 0.9 and got.clean >= 0.9, got
    # the softmax over ~360 concepts spreads the mass thin: the colour and the shape fall under 0.1
    old = quality(softmax_rule(tagger, embeddings), truth, judged=JUDGED)
    assert old.both < 0.5, old


def test_a_dominant_tag_does_not_hide_a_second_one(model, world, tmp_path: Path) -> None:
    embeddings, truth = world
    tagger = calibrated(model, shape_tags(), embeddings, tmp_path)
    blue_stars = [i for i, t in enumerate(truth) if t == {"blue", "star"}]
    for i in blue_stars:
        tags = dict(tagger.decide(embeddings[i : i + 1])[0])
        assert set(tags) == {"blue", "star"} and min(tags.values()) > 0.5, tags


def test_explain_says_why_each_tag_was_or_was_not_chosen(model, world, tmp_path: Path) -> None:
    embeddings, truth = world
    tagger = calibrated(model, TagSettings(custom=EIGHT, facets=FACETS), embeddings, tmp_path)
    red_circle = next(i for i, t in enumerate(truth) if t == {"red", "circle"})
    verdicts = tagger.explain(embeddings[red_circle], limit=30)
    chosen = [v for v in verdicts if v.chosen]
    assert {"red", "circle"} <= {v.tag for v in chosen} and verdicts[: len(chosen)] == chosen
    by_tag = {v.tag: v for v in verdicts}
    assert by_tag["red"].facet == "colour" and by_tag["red"].why == "chosen"
    assert all(v.z is not None and v.threshold == 0.5 for v in verdicts)
    reasons = {v.why.split(" ")[0] for v in verdicts if not v.chosen}
    assert {"explained", "scores"} <= reasons, reasons  # near-duplicates of "circle", and below the neutral prompt
    explained = next(v for v in verdicts if v.why.startswith("explained by"))
    assert '"' in explained.why and explained.z is not None and explained.z >= 3  # it stood out, but not on its own
    blue = tagger.explain(embeddings[red_circle], limit=len(tagger.names))
    assert next(v for v in blue if v.tag == "blue").why == 'facet "colour" went to "red"'


def test_thresholds_and_the_cap(model, world, tmp_path: Path) -> None:
    embeddings, _ = world
    strict = calibrated(model, shape_tags(thresholds=(("star", 0.999999),)), embeddings, tmp_path)
    assert not any(t == "star" for tags in strict.decide(embeddings) for t, _ in tags)
    assert any(t == "blue" for tags in strict.decide(embeddings) for t, _ in tags)  # the others keep the default
    one = calibrated(model, shape_tags(max_tags=1), embeddings, tmp_path)
    assert all(len(tags) == 1 for tags in one.decide(embeddings))
    why = one.explain(embeddings[0], limit=8)
    assert sum(v.chosen for v in why) == 1 and any(v.why == "max_tags (1) reached" for v in why)


def test_too_small_a_library_is_not_calibrated_and_the_calibration_survives_a_round_trip(
    model, world, tmp_path: Path
) -> None:
    embeddings, truth = world
    tagger = Tagger.build(model, build(shape_tags()), shape_tags(), tmp_path)
    assert not tagger.measure(embeddings[:8], 8).measured  # 8 images say too little about a background
    prior = quality(tagger.decide(embeddings), truth)  # the zero-shot prior still tags sensibly
    assert prior.both >= 0.9, prior
    measured = tagger.measure(embeddings, len(embeddings))
    again = Calibration.from_bytes(measured.to_bytes())
    assert again.library == len(embeddings)
    assert np.array_equal(again.location, measured.location) and np.array_equal(again.correlation, measured.correlation)
    other = Tagger.build(model, build(shape_tags(*COLOURS)), shape_tags(*COLOURS), tmp_path)
    with pytest.raises(ValueError, match="another vocabulary"):
        other.calibrate(again)


def test_facets_and_thresholds_must_name_tags() -> None:
    with pytest.raises(ConfigError) as info:
        build(shape_tags(facets=(("colour", ("red", "grene")), ("warm", ("red", "yellow"))),
                         thresholds=(("sqare", 0.7),)))
    assert info.value.problems == [
        'facet "colour" names "grene", which is not a tag (did you mean "green"?)',
        '"red" is in two facets, "colour" and "warm"',
        '"tagging.thresholds" names "sqare", which is not a tag (did you mean "square"?)',
    ]
    default = build(TagSettings(remove=("spring",), rename=(("summer", "sommer"),)))
    assert dict(default.facets)["season"] == ("sommer", "autumn", "winter")  # follows the user's changes
