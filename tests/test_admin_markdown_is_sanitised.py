"""Answers are Markdown from staff: what reaches the browser keeps formatting and loses anything executable."""

from __future__ import annotations

from html.parser import HTMLParser

from django.utils.safestring import SafeString

from faq.markdown import plain_text, render_markdown


def test_markdown_formatting_becomes_html_marked_safe_for_templates():
    html = render_markdown("Some **bold** and *emphasis*.\n\n- one\n- two")
    assert isinstance(html, SafeString)
    assert "<strong>bold</strong>" in html
    assert "<em>emphasis</em>" in html
    assert "<ul>\n<li>one</li>" in html


def test_script_tags_are_shown_as_text_never_as_elements():
    html = render_markdown("Hello <script>alert(1)</script> world")
    assert "<script" not in html
    assert "&lt;script&gt;" in html


class _Attributes(HTMLParser):
    """Every attribute name on every element, as a browser would parse them."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.names: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.names.extend(name for name, _ in attrs)


def test_event_handler_attributes_never_reach_the_page():
    html = render_markdown(
        '<img src="x" onerror="alert(1)">\n\n'
        '<a href="/" onclick="alert(1)">x</a>\n\n'
        '![pic](https://example.com/a.png "x\\" onerror=\\"alert(1)")\n\n'
        '[link](/ "x\\" onmouseover=\\"alert(1)")'
    )
    assert "<img" not in html
    names = _Attributes(html).names
    assert names == ["href", "title", "rel"]  # the quote trick stays inside the title's value


def test_javascript_links_lose_their_target():
    html = render_markdown("[click](javascript:alert(1)) [again](JaVaScRiPt:alert(1)) <javascript:alert(1)>")
    assert 'href="javascript' not in html.lower()
    assert "<a" not in html


def test_links_outside_the_allowed_schemes_lose_their_href_but_keep_their_text():
    html = render_markdown("[file](ftp://example.com/file)")
    assert "href" not in html
    assert ">file</a>" in html


def test_links_get_rel_noopener_noreferrer_nofollow_and_keep_their_title():
    html = render_markdown('[Docs](https://example.com/docs "The docs") and [an article](/articles/returns/)')
    assert '<a href="https://example.com/docs" title="The docs" rel="noopener noreferrer nofollow">Docs</a>' in html
    assert '<a href="/articles/returns/" rel="noopener noreferrer nofollow">an article</a>' in html


def test_tables_are_kept_with_their_alignment_as_a_class_not_a_style():
    html = render_markdown("| Plan | Price |\n|:-----|------:|\n| Basic | £5 |")
    assert "<table>" in html and "<thead>" in html and "<tbody>" in html
    assert '<th class="align-left">Plan</th>' in html
    assert '<td class="align-right">£5</td>' in html


def test_inline_code_and_code_blocks_are_kept_and_escaped():
    html = render_markdown("Run `reembed --missing`.\n\n```python\nif a < b:\n    print('<b>')\n```")
    assert "<code>reembed --missing</code>" in html
    assert "<pre><code>if a &lt; b:\n    print('&lt;b&gt;')\n</code></pre>" in html


def test_headings_fit_under_the_pages_own_h1():
    html = render_markdown("# Top\n\n## Second\n\n###### Deep")
    assert "<h1" not in html
    assert "<h2>Top</h2>" in html and "<h2>Second</h2>" in html
    assert "<h4>Deep</h4>" in html


def test_blockquotes_and_rules_survive():
    html = render_markdown("> Quoted\n\n---\n\nline one  \nline two")
    assert "<blockquote>\n<p>Quoted</p>\n</blockquote>" in html
    assert "<hr>" in html
    assert "<br>" in html


def test_plain_text_has_no_tags_and_one_space_between_words():
    text = plain_text(
        "# Returns\n\nYou have **30 days** & a [free label](https://example.com).\n\n- Pack it\n- Post it"
    )
    assert text == "Returns: You have 30 days & a free label. Pack it; Post it"


def test_plain_text_keeps_what_the_reader_saw_as_text_and_drops_nothing_else():
    # Raw HTML is shown literally on the page, so the snippet shows it literally too (templates escape it).
    assert plain_text("Type <b> to bold") == "Type <b> to bold"
