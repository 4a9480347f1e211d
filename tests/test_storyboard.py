"""The naive shot list: one shot per action paragraph and dialogue line, resolved against the bible."""

from pathlib import Path

import pytest

from aigms.production.bible import load_series
from aigms.production.script import parse_fountain
from aigms.production.storyboard import plan_shots, speaking_time
from aigms.schemas.errors import InputError
from aigms.schemas.series import EpisodeRef
from builders import tiny_series

SCRIPT = """INT. LAB - NIGHT

Lin waits by the bench.

LIN
Kai, are you there?

KAI
Always.

DISSOLVE TO:

.实验室 - 夜

WOMAN
Who left the light on?
"""


@pytest.fixture
def series(tmp_path: Path):
    series = tiny_series(tmp_path)
    series.episodes.append(EpisodeRef(id="s01e01", script=Path("e.fountain")))
    return series


def test_one_shot_per_action_and_dialogue_in_story_order(series) -> None:
    plan = plan_shots(parse_fountain(SCRIPT), series, "s01e01", Path("e.fountain"))
    shots = plan.shotlist.shots
    assert [(s.id, s.kind, s.speaker, s.lines) for s in shots] == [
        ("010", "action", None, [3]), ("020", "dialogue", "lin", [5]), ("030", "dialogue", "kai", [8]),
        ("040", "dialogue", "extra:WOMAN", [15]),
    ]
    assert [s.location for s in shots] == ["lab", "lab", "lab", "lab"]
    assert shots[0].characters == ["lin"]


def test_script_transitions_become_the_cut_into_the_next_shot(series) -> None:
    shots = plan_shots(parse_fountain(SCRIPT), series, "s01e01", Path("e.fountain")).shotlist.shots
    assert [s.transition for s in shots] == ["cut", "cut", "cut", "dissolve"]


def test_durations_are_whole_frames_and_grow_with_the_text(series) -> None:
    shots = plan_shots(parse_fountain(SCRIPT), series, "s01e01", Path("e.fountain")).shotlist.shots
    assert all(abs(s.duration * 24 - round(s.duration * 24)) < 1e-9 for s in shots)
    assert speaking_time("One two three four five six seven eight nine ten.", 160) > speaking_time("Always.", 160)
    assert speaking_time("纹饰与三号坑的面具一致，相似度百分之九十一。", 160) > speaking_time("好。", 160)


def test_prompts_carry_style_place_and_line(series) -> None:
    shots = plan_shots(parse_fountain(SCRIPT), series, "s01e01", Path("e.fountain")).shotlist.shots
    assert shots[1].prompt.startswith("flat colours. LAB")
    assert 'LIN speaks: "Kai, are you there?"' in shots[1].prompt


def test_uncast_extra_warns_and_strict_refuses(series) -> None:
    plan = plan_shots(parse_fountain(SCRIPT), series, "s01e01", Path("e.fountain"))
    assert plan.warnings == ["e.fountain:15: character 'WOMAN' is not in the bible; cast as an uncast extra"]
    with pytest.raises(InputError) as error:
        plan_shots(parse_fountain(SCRIPT), series, "s01e01", Path("e.fountain"), strict=True)
    assert error.value.line == 15


def test_bible_error_points_at_the_yaml_line(tmp_path: Path) -> None:
    (tmp_path / "series.yaml").write_text("id: show\ntitle: Show\ncharacters:\n  lin:\n    name: LIN\n    voice: {rate: 9000}\n")
    with pytest.raises(InputError) as error:
        load_series(tmp_path)
    assert error.value.line == 6 and "characters.lin.voice.rate" in str(error.value)


def test_bible_refuses_unknown_keys_and_bad_yaml(tmp_path: Path) -> None:
    (tmp_path / "series.yaml").write_text("id: show\ntitle: Show\ndelivary: {}\n")
    with pytest.raises(InputError) as error:
        load_series(tmp_path)
    assert error.value.line == 3
    (tmp_path / "series.yaml").write_text("id: show\ntitle: [unclosed\n")
    with pytest.raises(InputError, match="not valid YAML"):
        load_series(tmp_path)
