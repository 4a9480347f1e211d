"""Re-rendering after a one-line edit against rendering from scratch, on a 48-shot episode through the real
`render_episode` flow (Prefect, the asset store, the database, the edit, Whisper-checked subtitles).

Run: `.venv/bin/python benchmarks/incremental.py`. The episode is written here: four scenes of the example series,
each an establishing shot and eleven of action and dialogue, 3 min 8 s. It is filmed by the animatic generator at
the size the issue names, 1920x1080 at 30 fps, and again at 640x360, where filming is cheaper and the edit's fixed
costs (the sound, hearing the line, Prefect) weigh more; each size in a store of its own. With a video model a shot
costs minutes of GPU, so both ratios printed here are the pessimistic end. The edit is three one-line edits in turn,
each of a line in another scene, and its figure their median. Prefect's temporary server starts before the clock
runs. Beside wall time it prints the CPU time of this process and the programs it ran (ffmpeg,
espeak-ng; not Prefect's server), which a machine shared with other work disturbs less."""

import os
import resource
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

BEATS = 6
EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "bronze-echoes"
HEADINGS = ("INT. RESTORATION LAB - NIGHT", "INT. BRONZE TREE HALL - NIGHT", "EXT. DIG SITE - NIGHT",
            "INT. RESTORATION LAB - DAY")
SIZES = ((1920, 1080), (640, 360))
# Three one-line edits, one after the other, each of a line in another scene: the machine is shared and noisy, so
# the edit is timed three times and the median is the figure; the full render costs minutes, its noise weighs less.
EDITS = (("Line two of scene three, spoken by Lin.", "Line two of scene three, whispered by Lin."),
         ("Line three of scene one, spoken by Kai.", "Line three of scene one, shouted by Kai."),
         ("Line four of scene four, spoken by Lin.", "Line four of scene four, sung by Lin."))


def episode_script() -> str:
    """Forty-eight shots: per scene, its establishing shot, six pieces of action and a line of dialogue between
    each two of them."""
    parts = ["Title: Incremental\n"]
    for scene, heading in enumerate(HEADINGS, start=1):
        parts.append(heading)
        for beat in range(1, BEATS + 1):
            speaker = ("LIN YUE", "KAI")[beat % 2]
            parts.append(f"Beat {beat} of scene {scene}: the light on the bronze shifts again.")
            if beat == BEATS:
                continue
            parts.append(f"{speaker}\nLine {('one', 'two', 'three', 'four', 'five', 'six')[beat - 1]} of scene "
                         f"{('one', 'two', 'three', 'four')[scene - 1]}, spoken by {speaker.split()[0].title()}.")
    return "\n\n".join(parts) + "\n"


def make_series(folder: Path, width: int, height: int) -> Path:
    series = Path(shutil.copytree(EXAMPLE, folder / "series"))
    bible = series / "series.yaml"
    bible.write_text(bible.read_text().replace("width: 1920", f"width: {width}")
                     .replace("height: 1080", f"height: {height}")
                     + "  - id: s01e03\n    title: Incremental\n    script: episodes/s01e03.fountain\n"
                       "    language: en\n    number: 3\n")
    (series / "episodes" / "s01e03.fountain").write_text(episode_script())
    return series


def cpu() -> float:
    return sum(usage.ru_utime + usage.ru_stime for usage in
               (resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)))


def measure(folder: Path, width: int, height: int) -> None:
    """A full render, the same after each of three one-line edits, and again unchanged, each timed; then the
    ratios, the edit's as the median of the three."""
    from aigms.flows.episode import render_episode

    series = make_series(folder, width, height)
    script = series / "episodes" / "s01e03.fountain"
    missing = [before for before, _ in EDITS if before not in script.read_text()]
    assert not missing, f"the benchmark's script no longer holds the lines it edits: {missing}"

    def render() -> tuple[float, float, object]:
        started, used = time.perf_counter(), cpu()
        result = render_episode(str(series), "s01e03", str(folder / "out"), str(folder / "home"), force=True)
        return time.perf_counter() - started, cpu() - used, result

    full, full_cpu, first = render()
    edits = []
    for before, after in EDITS:
        script.write_text(script.read_text().replace(before, after))
        edits.append(render())
    unchanged, unchanged_cpu, third = render()
    edited = statistics.median(wall for wall, _, _ in edits)
    edited_cpu = statistics.median(used for _, used, _ in edits)
    second = edits[0][2]
    print(f"episode: {first.shots} shots at {width}x{height} (animatic), 20 of them dialogue")
    print(f"  full render:           {full:6.1f} s, CPU {full_cpu:6.1f} s ({first.rendered} shots filmed)")
    print(f"  one line edited:       {edited:6.1f} s, CPU {edited_cpu:6.1f} s, the median of "
          + ", ".join(f"{wall:.1f} s" for wall, _, _ in edits)
          + f" ({second.rendered} shot filmed, {second.reused} reused, one line heard, the cut re-joined)")
    print(f"  unchanged re-render:   {unchanged:6.1f} s, CPU {unchanged_cpu:6.1f} s ({third.rendered} shots filmed, "
          f"nothing re-encoded)")
    print(f"  ratio: a one-line edit re-renders in {edited / full:.3f}x the time of a full render "
          f"({edited_cpu / full_cpu:.3f}x its CPU time); an unchanged episode in {unchanged / full:.3f}x", flush=True)


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="aigms-incremental-") as name:
        folder = Path(name)
        os.environ.update({"PREFECT_HOME": str(folder / "prefect"), "PREFECT_LOGGING_LEVEL": "WARNING",
                           "HF_HUB_OFFLINE": "1"})
        from aigms.prefect_defaults import apply_prefect_defaults

        apply_prefect_defaults()
        from prefect import flow

        flow(lambda: None, name="warm-up")()
        for width, height in SIZES:
            measure(folder / f"{width}x{height}", width, height)


if __name__ == "__main__":
    sys.exit(main())
