"""Templates are read once per process: a run renders with the templates it started with."""

from __future__ import annotations

from pathlib import Path

from memprop.netgen import deck


def test_every_template_is_in_the_environment_subfolders_included():
    names = deck.template_environment("templates/ngspice").list_templates()
    assert "deck.cir.j2" in names and "devices/vteam.j2" in names and "devices/_state.j2" in names
    assert not [n for n in names if not n.endswith(".j2")]


def test_a_template_edited_on_disk_later_does_not_change_the_environment(tmp_path: Path):
    """Files edited after the environment was made - even ones it had not rendered yet - render
    as they were (a lazy loader would read the edited file)."""
    (tmp_path / "t" / "sub").mkdir(parents=True)
    (tmp_path / "t" / "sub" / "a.j2").write_text("first {{ x }}")
    env = deck.template_environment("t", package=tmp_path)
    (tmp_path / "t" / "sub" / "a.j2").write_text("second {{ x }}")
    assert env.get_template("sub/a.j2").render(x=1) == "first 1"
    assert deck.template_environment("t", package=tmp_path).get_template("sub/a.j2").render(x=1) == "second 1"
