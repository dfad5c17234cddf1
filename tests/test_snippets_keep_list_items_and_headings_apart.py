"""A snippet reads as the page shows the answer (issue 19 point 1): a heading and the text under it,
or two list items, do not run together into one sentence ("Check first Open the tracking link")."""

from __future__ import annotations

from faq.markdown import plain_snippet, plain_text


def test_list_items_and_headings_are_kept_apart_by_punctuation():
    text = plain_text("### Check first\n\nOpen the tracking link.\n\n- leave it in the safe place\n- with a *friend*")
    assert text == "Check first: Open the tracking link. leave it in the safe place; with a friend"


def test_items_that_end_in_punctuation_keep_their_own():
    assert plain_text("- Pack it.\n- Post it!\n\n## Done?") == "Pack it. Post it! Done?"


def test_a_snippet_cut_after_an_item_ends_cleanly():
    assert plain_snippet("- first item here\n- second item here", 18) == "first item here…"
