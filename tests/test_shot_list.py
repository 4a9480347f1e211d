"""The shot list in the project database: ids that survive script edits, people's edits that survive re-plans
(or are reported as conflicts), and the approval a render needs — on a real SQLite file."""

import csv
import io
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select

from aigms.db import models
from aigms.db.session import open_database, session_scope
from aigms.production.storyboard.approval import approve_shotlist
from aigms.production.bible import load_series
from aigms.production.storyboard.ingest import IngestReport, ingest_episode, ingest_series, load_shotlist, read_episode
from aigms.production.storyboard.shot_edits import export_shotlist, import_edits
from aigms.production.storyboard.shot_ids import number_shots
from aigms.schemas.errors import InputError
from aigms.schemas.shotlist import Shot
from builders import tiny_series

pytestmark = pytest.mark.database

SCRIPT = """INT. LAB - NIGHT

Lin waits by the bench.

LIN
Kai, are you there?

KAI
Always.

LIN
Show me the signal.

Kai projects a pulsing map onto the wall.
"""


@pytest.fixture
def project(tmp_path: Path, database_url: str) -> dict:
    series = tiny_series(tmp_path / "show")
    (tmp_path / "show" / "e.fountain").write_text(SCRIPT)
    bible = series.model_dump(mode="json", exclude_defaults=True)
    bible["episodes"] = [{"id": "s01e01", "script": "e.fountain"}]
    (tmp_path / "show" / "series.yaml").write_text(yaml.safe_dump(bible, allow_unicode=True))
    engine = open_database(database_url)
    project = {"root": tmp_path / "show", "engine": engine, "script": tmp_path / "show" / "e.fountain"}
    plan(project)
    return project


def plan(project: dict) -> IngestReport:
    series = load_series(project["root"])
    report = IngestReport()
    with session_scope(project["engine"]) as session:
        ingest_series(session, series, report)
        ingest_episode(session, series, read_episode(series, "s01e01"), report)
    return report


def shots(project: dict) -> list[Shot]:
    with session_scope(project["engine"]) as session:
        return load_shotlist(session, session.scalar(select(models.Episode))).shots


def by_text(project: dict) -> dict[str, str]:
    return {shot.text: shot.id for shot in shots(project)}


def edit_script(project: dict, old: str, new: str) -> IngestReport:
    script = project["script"]
    script.write_text(script.read_text().replace(old, new))
    return plan(project)


def test_inserting_a_line_keeps_every_other_id_and_slots_the_new_one_between(project: dict) -> None:
    before = by_text(project)
    edit_script(project, "LIN\nShow me", "KAI\nThe signal is back.\n\nLIN\nShow me")
    after = by_text(project)
    assert {text: after[text] for text in before} == before
    assert after["The signal is back."] == "045"


def test_editing_a_line_keeps_its_id_and_its_selected_take(project: dict) -> None:
    with session_scope(project["engine"]) as session:
        row = session.scalar(select(models.Shot).filter_by(code="040"))
        take = models.Take(shot_id=row.id, recipe_sha256="a" * 64, recipe={}, generator="animatic", seed=0)
        session.add(take)
        session.flush()
        row.selected_take_id = take.id
    before = by_text(project)
    edit_script(project, "Always.", "Always, Lin.")
    after = by_text(project)
    assert after["Always, Lin."] == "040"
    assert {t: i for t, i in after.items() if t != "Always, Lin."} == {t: i for t, i in before.items() if t != "Always."}
    with session_scope(project["engine"]) as session:
        assert session.scalar(select(models.Shot).filter_by(code="040")).selected_take_id is not None


def test_a_rewritten_paragraph_keeps_its_id_and_what_it_grew_into_is_numbered_after(project: dict) -> None:
    edit_script(project, "Kai projects a pulsing map onto the wall.", "The lights flicker.")
    after = by_text(project)
    assert "Kai projects a pulsing map onto the wall." not in after
    assert after["The lights flicker."] == "060"
    edit_script(project, "\nThe lights flicker.\n", "\nKai (offscreen) hums.\n\nKAI\nDone.\n")
    after = by_text(project)
    assert (after["Kai (offscreen) hums."], after["Done."]) == ("060", "070")


def test_ids_between_neighbours_as_editors_number_them() -> None:
    def shot(text: str, shot_id: str = "000") -> Shot:
        return Shot(id=shot_id, scene=1, kind="action", text=text, duration=2, source_sha256=text)

    previous = [shot("a", "010"), shot("b", "020")]
    two_new = [shot("a"), shot("x"), shot("y"), shot("b")]
    number_shots(two_new, previous)
    assert [s.id for s in two_new] == ["010", "013", "016", "020"]
    crowded = [shot("a", "010"), shot("b", "011")]
    squeezed = [shot("a"), shot("x"), shot("b")]
    number_shots(squeezed, crowded)
    assert [s.id for s in squeezed] == ["010", "010A", "011"]


def export_rows(project: dict) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(export_shotlist_of(project, "csv"))))


def export_shotlist_of(project: dict, form: str) -> str:
    with session_scope(project["engine"]) as session:
        return export_shotlist(load_shotlist(session, session.scalar(select(models.Episode))), form)


def write_rows(path: Path, rows: list[dict[str, str]]) -> Path:
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def import_file(project: dict, path: Path):
    with session_scope(project["engine"]) as session:
        return import_edits(session, path)


def test_an_imported_edit_survives_replanning(project: dict, tmp_path: Path) -> None:
    rows = export_rows(project)
    row = next(r for r in rows if r["text"] == "Always.")
    row.update(size="ECU", move="push-in", duration="4.5", note="hold on the eye")
    report = import_file(project, write_rows(tmp_path / "edit.csv", rows))
    assert report.shots_edited == [row["id"]]
    edited = next(s for s in shots(project) if s.text == "Always.")
    assert (edited.size, edited.move, edited.duration, edited.note) == ("ECU", "push-in", 4.5, "hold on the eye")
    assert set(edited.edited) == {"size", "move", "duration", "note"}
    assert "hold on the eye" in edited.segments[0].prompt and "extreme close-up" in edited.segments[0].prompt
    edit_script(project, "Show me the signal.", "Show me the signal now.")
    again = next(s for s in shots(project) if s.text == "Always.")
    assert (again.size, again.duration) == ("ECU", 4.5)


def test_an_edit_whose_script_line_changed_is_reported_and_kept(project: dict, tmp_path: Path) -> None:
    rows = export_rows(project)
    row = next(r for r in rows if r["text"] == "Always.")
    row["size"] = "ECU"
    import_file(project, write_rows(tmp_path / "edit.csv", rows))
    report = edit_script(project, "Always.", "Always, Lin.")
    assert any(f"shot {row['id']}" in w and "changed after it was edited" in w for w in report.warnings)
    changed = next(s for s in shots(project) if s.id == row["id"])
    assert (changed.text, changed.size) == ("Always, Lin.", "ECU")
    with session_scope(project["engine"]) as session:
        episode = session.scalar(select(models.Episode))
        with pytest.raises(InputError, match="in conflict"):
            approve_shotlist(session, episode, "director")
    import_file(project, write_rows(tmp_path / "again.csv", export_rows(project)))
    with session_scope(project["engine"]) as session:
        assert session.scalar(select(models.Shot).filter_by(code=row["id"])).conflict is None


def test_a_bad_row_is_refused_with_its_line_and_nothing_changes(project: dict, tmp_path: Path) -> None:
    rows = export_rows(project)
    rows[1]["size"] = "ECU"
    rows[3]["size"] = "HUGE"
    before = export_shotlist_of(project, "csv")
    with pytest.raises(InputError) as error:
        import_file(project, write_rows(tmp_path / "edit.csv", rows))
    assert error.value.line == 5 and "size" in str(error.value) and rows[3]["id"] in str(error.value)
    assert export_shotlist_of(project, "csv") == before
    original = rows[3]["id"]
    rows[3]["size"], rows[3]["id"] = "CU", "999"
    with pytest.raises(InputError, match="no shot 999"):
        import_file(project, write_rows(tmp_path / "edit.csv", rows))
    rows[3]["id"], rows[3]["characters"] = original, "lin ghost"
    with pytest.raises(InputError, match="no character ghost"):
        import_file(project, write_rows(tmp_path / "edit.csv", rows))


def test_yaml_round_trip_and_its_errors_name_the_line(project: dict, tmp_path: Path) -> None:
    document = yaml.safe_load(export_shotlist_of(project, "yaml"))
    document["shots"][2]["angle"] = "low"
    path = tmp_path / "edit.yaml"
    path.write_text(yaml.safe_dump(document, allow_unicode=True, sort_keys=False))
    assert import_file(project, path).shots_edited == [document["shots"][2]["id"]]
    assert shots(project)[2].angle == "low"
    document["shots"][3]["move"] = "barrel roll"
    path.write_text(yaml.safe_dump(document, allow_unicode=True, sort_keys=False))
    with pytest.raises(InputError) as error:
        import_file(project, path)
    line = next(n for n, text in enumerate(path.read_text().splitlines(), 1) if f"id: '{document['shots'][3]['id']}'" in text)
    assert error.value.line == line


def test_approval_holds_until_the_shot_list_changes(project: dict) -> None:
    with session_scope(project["engine"]) as session:
        episode = session.scalar(select(models.Episode))
        assert not episode.shotlist_approved
        approve_shotlist(session, episode, "director", "good coverage")
    with session_scope(project["engine"]) as session:
        episode = session.scalar(select(models.Episode))
        assert episode.shotlist_approved and episode.shotlist_approved_by == "director"
        review = session.scalar(select(models.Review))
        assert (review.target_type, review.status, review.note) == ("shotlist", "done", "good coverage")
    plan(project)
    with session_scope(project["engine"]) as session:
        assert session.scalar(select(models.Episode)).shotlist_approved
    edit_script(project, "Always.", "Never.")
    with session_scope(project["engine"]) as session:
        assert not session.scalar(select(models.Episode)).shotlist_approved


def test_a_shot_can_be_given_its_own_generator_from_the_spreadsheet(project: dict, tmp_path: Path) -> None:
    rows = export_rows(project)
    assert {row["generator"] for row in rows} == {""}
    rows[1]["generator"] = "diffusers:/models/wan2.2"
    import_file(project, write_rows(tmp_path / "edit.csv", rows))
    shot = shots(project)[1]
    assert (shot.generator.backend, "generator" in shot.edited) == ("diffusers:/models/wan2.2", True)
    assert {s.generator for s in shots(project) if s.id != shot.id} == {None}
