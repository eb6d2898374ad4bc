"""Automatic tags: the vocabulary, the rule on the real tiny CLIP, and the daemon keeping tags in step."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
from engine_harness import CountingModel, running_engine, settled
from helpers import COLOURS, SHAPES, shape_tags, wait_for
from shapes import draw_shape

from photosift.daemon import config
from photosift.daemon.client import Client
from photosift.daemon.config import TagSettings
from photosift.daemon.decode import normalise
from photosift.daemon.engine import Engine
from photosift.daemon.errors import ApiError, ConfigError, Stopped
from photosift.daemon.tags.rule import Tagger
from photosift.daemon.tags.vocabulary import build


def test_default_vocabulary_and_user_changes() -> None:
    default = build(TagSettings())
    assert len(default.tags) >= 300 and {"beach", "dog", "receipt", "screenshot", "snow"} <= set(default.names)
    beach = next(t for t in default.tags if t.name == "beach")
    assert len(beach.prompts) == 8 and "a photo of a beach." in beach.prompts  # the ensemble of templates
    assert "a scanned receipt." in next(t for t in default.tags if t.name == "receipt").prompts  # its own prompts
    mine = build(TagSettings(remove=("meme",), rename=(("dog", "doggo"),),
                             custom=(("Rex", ("a photo of a golden retriever",)), ("red car", ()))))
    assert "meme" not in mine.names and "dog" not in mine.names and "doggo" in mine.names
    assert next(t for t in mine.tags if t.name == "Rex").prompts == ("a photo of a golden retriever",)
    assert "a photo of a red car." in next(t for t in mine.tags if t.name == "red car").prompts
    assert mine.fingerprint() != default.fingerprint() == build(TagSettings()).fingerprint()


def test_tagging_settings_are_validated_with_every_problem() -> None:
    with pytest.raises(ConfigError) as info:
        config.from_mapping({"batch_size": 0, "tagging": {"max_tags": 0, "min_confidence": 2, "vocabulary": "all",
                                                          "max_tag": 1, "thresholds": {"dog": 1.5},
                                                          "facets": {"colour": ["red"]}}}, "test")
    problems = info.value.problems
    assert len(problems) == 7  # the top level's and the table's, all at once
    assert '[tagging] unknown key "max_tag" (did you mean "max_tags"?)' in problems
    assert any(p.startswith("[tagging] min_confidence: must be a number between 0 and 1") for p in problems)
    assert "[tagging.thresholds] dog: must be a confidence between 0 and 1, got 1.5" in problems
    assert "[tagging.facets] colour: must be a list of at least two different tags, got ['red']" in problems
    with pytest.raises(ConfigError) as info:  # the softmax rule's knob: its old meaning must not pass silently
        config.from_mapping({"tagging": {"min_probability": 0.1}}, "test")
    assert info.value.problems[0].startswith("[tagging] min_probability: is no longer used")
    assert '"tagging.min_confidence"' in info.value.problems[0]
    with pytest.raises(ConfigError, match=r"\[tagging\] max_tags"):
        config.from_mapping({"tagging": {"max_tags": "five"}}, "test")
    with pytest.raises(ConfigError, match=r"tagging: must be a table"):
        config.from_mapping({"tagging": 3}, "test")
    loaded = config.from_mapping({"tagging": {"max_tags": 3, "custom": {"Rex": ["a golden retriever"]}}}, "test")
    assert loaded.tagging.max_tags == 3 and loaded.tagging.custom == (("Rex", ("a golden retriever",)),)
    assert loaded.tagging.min_confidence == TagSettings().min_confidence == 0.5  # the default, from one place
    with pytest.raises(ConfigError) as info:
        config.from_mapping({"tagging": {"vocabulary": "none"}}, "test")
    assert info.value.problems == ['[tagging] vocabulary: is "none" but there are no [tagging.custom] tags']


def test_the_rule_on_the_real_tiny_clip(model) -> None:
    settings = shape_tags(*COLOURS, *SHAPES)
    tagger = Tagger.build(model, build(settings), settings)
    rng = random.Random(11)
    for colour in COLOURS:
        for shape in SHAPES:
            image = draw_shape(colour, shape, 128, rng).image.resize((64, 64))
            tags = dict(tagger.decide(model.encode_images(normalise(image)[None]))[0])
            assert set(tags) == {colour, shape}, (colour, shape, tags)
    red_circle = model.encode_images(normalise(draw_shape("red", "circle", 128, rng).image.resize((64, 64)))[None])
    explained = tagger.explain(red_circle[0], limit=8)
    assert {s.tag for s in explained[:2]} == {"red", "circle"} and all(s.chosen for s in explained[:2])
    blue = next(s for s in explained if s.tag == "blue")
    assert not blue.chosen and blue.confidence < 0.1 and blue.why == "scores no higher than the neutral prompt"
    assert len(explained) == 8 and all(s.z is None for s in explained)  # no library yet: the prior


def test_tag_embeddings_are_cached_per_model_and_vocabulary(model, tmp_path: Path) -> None:
    settings = shape_tags("red", "blue")
    first = Tagger.build(model, build(settings), settings, tmp_path)
    assert len(list(tmp_path.glob("tags-*.npy"))) == 1
    again = Tagger.build(Textless(model), build(settings), settings, tmp_path)  # read back, not re-encoded
    assert np.array_equal(first.matrix, again.matrix)
    other = shape_tags("red", "green")
    with pytest.raises(AssertionError, match="encoded texts"):
        Tagger.build(Textless(model), build(other), other, tmp_path)  # another vocabulary is not in the cache


class Textless(CountingModel):
    def encode_texts(self, texts: list[str]) -> np.ndarray:
        raise AssertionError("encoded texts")


@pytest.fixture
def shapes_library(env: dict[str, Path], make_shape: Callable[..., Path]) -> Path:
    for colour in COLOURS:
        for shape in SHAPES:
            make_shape(env["photos"], colour, shape, f"{colour}-{shape}.png")
    return env["photos"]


@pytest.fixture
def tagged_daemon(env: dict[str, Path], model, shapes_library: Path) -> Iterator[Engine]:
    with running_engine(env, CountingModel(model), 16, serve_api=True, socket=str(env["run"] / "api.sock"),
                        tagging=shape_tags(*COLOURS, *SHAPES)) as engine:
        wait_for(lambda: settled(engine))
        yield engine


def test_tags_through_the_api(env: dict[str, Path], tagged_daemon: Engine, shapes_library: Path) -> None:
    with Client(env["run"] / "api.sock") as client:
        mine = client.tags(str(shapes_library / "red-circle.png"))
        assert mine["indexed"] is True and {t["tag"] for t in mine["tags"]} == {"red", "circle"}
        assert client.tagged(["red", "circle"]) == [str(shapes_library / "red-circle.png")]
        assert client.tagged(["star"]) == sorted(str(shapes_library / f"{c}-star.png") for c in COLOURS)
        assert len(client.tagged(["red", "blue"], mode="any")) == 8
        assert {e["tag"]: e["count"] for e in client.vocabulary()} == dict.fromkeys((*COLOURS, *SHAPES), 4)
        assert client.status()["tagging"] == {"vocabulary": 8, "current": True}
        only_stars = client.search("a blue star", k=10, tags=["star"])
        assert {Path(h["path"]).name for h in only_stars} == {f"{c}-star.png" for c in COLOURS}
        explained = client.explain(str(shapes_library / "green-square.png"))
        assert [s["tag"] for s in explained["scores"] if s["chosen"]] in (["green", "square"], ["square", "green"])
        with pytest.raises(ApiError, match='did you mean "circle"') as unknown:
            client.tagged(["circel"])
        assert unknown.value.status == 400 and unknown.value.code == "unknown_tag"


def test_tags_follow_files_that_change_move_and_go(
    env: dict[str, Path], tagged_daemon: Engine, shapes_library: Path, make_shape: Callable[..., Path]
) -> None:
    index = tagged_daemon.tags.index
    (shapes_library / "red-circle.png").rename(shapes_library / "renamed.png")
    wait_for(lambda: index.tags_of(str(shapes_library / "renamed.png")))
    assert index.tags_of(str(shapes_library / "red-circle.png")) == []
    (shapes_library / "blue-star.png").unlink()
    wait_for(lambda: not index.tags_of(str(shapes_library / "blue-star.png")))
    make_shape(shapes_library, "yellow", "circle", "green-square.png")  # overwritten with other content
    wait_for(lambda: {t for t, _ in index.tags_of(str(shapes_library / "green-square.png"))} == {"yellow", "circle"})


def test_a_new_vocabulary_re_tags_everything_without_encoding_an_image(
    env: dict[str, Path], model, shapes_library: Path
) -> None:
    with running_engine(env, CountingModel(model), 16, tagging=shape_tags(*COLOURS)) as first:
        wait_for(lambda: settled(first))
        assert {t for t, _ in first.tags.index.tags_of(str(shapes_library / "red-star.png"))} == {"red"}
    counting = CountingModel(model)
    with running_engine(env, counting, 16, tagging=shape_tags(*SHAPES)) as second:
        wait_for(lambda: settled(second) and second.tags.current)
        assert {t for t, _ in second.tags.index.tags_of(str(shapes_library / "red-star.png"))} == {"star"}
        assert second.tags.index.tagged(["star"], every=True) == sorted(str(shapes_library / f"{c}-star.png")
                                                                  for c in COLOURS)
    assert counting.images_encoded == 0


def test_a_re_tag_stopped_part_way_changes_nothing(env: dict[str, Path], model, shapes_library: Path) -> None:
    # a daemon told to stop while it re-tags 100,000 files ends at the next page of embeddings; the tags
    # stay those of before (one transaction), and the next start decides them again
    with running_engine(env, CountingModel(model), 16, tagging=shape_tags(*COLOURS, *SHAPES)) as engine:
        wait_for(lambda: settled(engine) and engine.tags.current)
        index = engine.tags.index
        before = {path: index.tags_of(path) for path in engine.catalog.paths()}
        with pytest.raises(Stopped):
            engine.tags.retag_all(engine.archive, engine.catalog.paths(), stopping=lambda: True)
        assert {path: index.tags_of(path) for path in engine.catalog.paths()} == before
        assert index.counts() == dict.fromkeys((*COLOURS, *SHAPES), 4)
