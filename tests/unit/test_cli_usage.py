"""What a CLI refusal may echo: one line, no word of it longer than ``ECHO_MAX`` characters."""

from __future__ import annotations

from motcua.entrypoints.cli.usage import ECHO_MAX, shown


def test_a_long_word_is_cut_with_its_length() -> None:
    message = shown(f"no dossier or task with code {'A' * 100_000!r}")
    assert message == f"no dossier or task with code '{'A' * (ECHO_MAX - 1)}… (100002 characters)"


def test_a_short_message_is_left_as_it_is_on_one_line() -> None:
    assert shown("no dossier\nwith code  'X'") == "no dossier with code 'X'"
    word = "B" * ECHO_MAX
    assert shown(word) == word
