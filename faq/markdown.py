"""Article answers are Markdown written by staff: render them to HTML that is safe to show anyone.

markdown-it-py renders (CommonMark + tables, raw HTML off); nh3 then keeps only the tags below,
so neither a pasted <script> nor a parser quirk can reach a customer's browser.
"""

from __future__ import annotations

import html
import re
from functools import cache

import nh3
from django.utils.safestring import SafeString, mark_safe
from markdown_it import MarkdownIt
from markdown_it.rules_core import StateCore
from markdown_it.token import Token

ALLOWED_TAGS = {
    "p",
    "h2",
    "h3",
    "h4",
    "ul",
    "ol",
    "li",
    "strong",
    "em",
    "code",
    "pre",
    "blockquote",
    "a",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
    "hr",
    "br",
}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}}
# Column alignment as a class (static/css), not markdown-it's style="text-align:...": the
# Content-Security-Policy allows no inline style, and only these classes survive.
_ALIGNMENTS = ("left", "center", "right")
ALLOWED_CLASSES = {cell: {f"align-{side}" for side in _ALIGNMENTS} for cell in ("th", "td")}
# Anything else (javascript:, data:, vbscript:) is dropped from href; relative links stay.
ALLOWED_URL_SCHEMES = {"http", "https", "mailto"}
# Staff links are not endorsements (nofollow), and the target must not reach back into our page.
LINK_REL = "noopener noreferrer nofollow"


def _clamp_headings(state: StateCore) -> None:
    # The page's <h1> is the question, and only h2-h4 are allowed: without this a "# Heading"
    # would lose its tag and run into the next paragraph.
    for token in state.tokens:
        if token.type in ("heading_open", "heading_close"):
            token.tag = f"h{min(max(int(token.tag[1]), 2), 4)}"


def _alignment_classes(state: StateCore) -> None:
    for token in state.tokens:
        if token.type in ("th_open", "td_open") and token.attrs:
            side = str(token.attrs.pop("style", "")).removeprefix("text-align:")
            if side in _ALIGNMENTS:
                token.attrs["class"] = f"align-{side}"


# A help-centre path written out in the text ("see (/articles/delivery-costs/)"): staff and
# imported content write them, and a path a customer has to copy into the address bar is a dead end.
SITE_PATH = re.compile(r"(?<![\w/.])/(?:articles|categories)/[A-Za-z0-9_-]+/(?:#[A-Za-z0-9_-]+)?")


def _link_site_paths(state: StateCore) -> None:
    for block in state.tokens:
        if block.type != "inline" or not block.children:
            continue
        children, depth = [], 0
        for token in block.children:
            depth += {"link_open": 1, "link_close": -1}.get(token.type, 0)
            if token.type != "text" or depth or not SITE_PATH.search(token.content):
                children.append(token)
                continue
            children.extend(_split_on_paths(token.content))
        block.children = children


def _split_on_paths(text: str) -> list[Token]:
    tokens, start = [], 0
    for match in SITE_PATH.finditer(text):
        if match.start() > start:
            tokens.append(Token("text", "", 0, content=text[start : match.start()]))
        tokens.append(Token("link_open", "a", 1, attrs={"href": match.group()}))
        tokens.append(Token("text", "", 0, content=match.group()))
        tokens.append(Token("link_close", "a", -1))
        start = match.end()
    if start < len(text):
        tokens.append(Token("text", "", 0, content=text[start:]))
    return tokens


@cache
def _parser() -> MarkdownIt:
    # html=False: raw HTML in an answer is shown as text, never passed through.
    parser = MarkdownIt("commonmark", {"html": False}).enable("table")
    parser.core.ruler.push("clamp_headings", _clamp_headings)
    parser.core.ruler.push("alignment_classes", _alignment_classes)
    parser.core.ruler.push("link_site_paths", _link_site_paths)
    return parser


def _render_html(text: str) -> str:
    return nh3.clean(
        _parser().render(text),
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=ALLOWED_URL_SCHEMES,
        link_rel=LINK_REL,
        allowed_classes=ALLOWED_CLASSES,
    )


def render_markdown(text: str) -> SafeString:
    """Markdown -> sanitised HTML, safe to put in a template unescaped."""
    return mark_safe(_render_html(text))  # noqa: S308 - nh3 has just sanitised it with an allow-list


def plain_text(markdown: str) -> str:
    """The rendered answer as one line of plain text (for snippets and meta descriptions)."""
    # nh3 with no allowed tags strips all markup and drops <script>/<style> content; it leaves
    # entities escaped, so unescape to get the characters back (templates escape them again).
    # A heading or list item that ends without punctuation gets ":" or ";", so "Check first Open the
    # link" and "leave it with a neighbour take it to a pickup point" read as the page shows them.
    rendered = _UNPUNCTUATED_END.sub(_punctuate, _render_html(markdown))
    # A space after every block and cell: "<td>Card</td><td>Free</td>" is "Card Free", not "CardFree".
    rendered = _BLOCK_END.sub(lambda match: match.group() + " ", rendered)
    text = html.unescape(nh3.clean(rendered, tags=set()))
    return " ".join(text.split()).rstrip(":;")


# A word (or ")") just before a list item's or heading's end, maybe inside inline tags (</em></li>).
_UNPUNCTUATED_END = re.compile(r"(?<=[\w)])((?:</(?:em|strong|code|a)>)*)</(li|h[2-4])>")


def _punctuate(match: re.Match) -> str:
    return (";" if match.group(2) == "li" else ":") + match.group()


_BLOCK_END = re.compile(r"</(?:p|li|td|th|tr|h[2-4]|blockquote|pre)>|<br\s*/?>|<hr\s*/?>")


def plain_snippet(markdown: str, chars: int) -> str:
    """At most `chars` characters of the answer as plain text, cut between words, never inside one."""
    text = plain_text(markdown)
    if len(text) <= chars:
        return text
    cut = text[: chars - 1]
    if not text[chars - 1].isspace() and " " in cut:
        cut = cut.rsplit(" ", 1)[0]
    return cut.rstrip(" ,;:.-(\u2013\u2014") + "…"


# An inline Markdown link, [text](target) or [text](target "title"). In our content its text is
# usually another article's question, which pulled this article's vector towards that one's: the demo
# set's hit@1 fell 0.692 -> 0.678 when its bare paths became such links (README, "Retrieval quality").
_INLINE_LINK = re.compile(r'(?<!!)\[(?:[^\[\]\\]|\\.)*\]\(\s*<?[^\s()<>]*>?(?:\s+"[^"]*")?\s*\)')


def embedding_text(markdown: str) -> str:
    """The answer as the model reads it: the Markdown as written, without its inline links (text and
    target). Measured against keeping the link text, its target path, or the target's words: dropping
    it scored as well as the best on the demo set and changes nothing in a text without links."""
    return _INLINE_LINK.sub("", markdown)
