"""Templates are read once per process: a run renders with the templates it started with."""

from __future__ import annotations

from memprop.netgen import deck


def test_templates_are_a_snapshot_not_read_again(tmp_path, monkeypatch):
    """Every template is in the environment, subfolders included; an edited file on disk does not
    change what an environment already made renders."""
    env = deck.template_environment("templates/ngspice")
    names = env.list_templates()
    assert "deck.cir.j2" in names and "devices/vteam.j2" in names and "devices/_state.j2" in names
    before = env.get_template("devices/_linear_read.j2").render()
    real_texts = deck._template_texts

    def edited(folder, prefix):
        return [(n, "edited") for n, _ in real_texts(folder, prefix)]

    monkeypatch.setattr(deck, "_template_texts", edited)  # what a later read of the files would see
    assert env.get_template("devices/_linear_read.j2").render() == before
    assert deck.template_environment("templates/ngspice").get_template("devices/_linear_read.j2").render() == "edited"
