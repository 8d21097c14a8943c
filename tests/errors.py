"""What every refusal through the CLI must look like: the exit code, one `memprop: error:` line on
stderr, no traceback and no internal error."""

from __future__ import annotations


def one_error_line(result, code: int = 2, *words: str) -> str:
    """The one error line of a click CliRunner result, checked; `words` must all be in it."""
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output and "internal error" not in result.output, result.output
    lines = result.stderr.split("\n")
    assert lines[0].startswith("memprop: error: ") and lines[1:] == [""], result.stderr
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]
