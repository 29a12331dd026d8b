"""Text from documents and people is shown as text: never HTML, links, images or directives."""

from __future__ import annotations

import pytest
from markdown_it import MarkdownIt

from ui.render import md_highlight, md_marked, md_text, plain_text

HOSTILE = [
    "<script>alert(1)</script>",
    '<img src=x onerror="alert(1)">',
    "[点我](javascript:alert(1))",
    "![远程图片](http://example.invalid/track.png)",
    "<http://example.invalid>",
    "**粗体** _斜体_ `代码` # 标题",
    "$x^2$ :red[红字] :material/home:",
    "1. 列表\n- 项目\n> 引用",
    "| a | b |\n|---|---|",
]


def rendered(markdown: str) -> str:
    return MarkdownIt("commonmark").enable("table").render(markdown)


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_text_renders_as_the_characters_typed(text):
    html = rendered(md_text(text))
    for tag in (
        "<script",
        "<img",
        "<a ",
        "<strong",
        "<em",
        "<code",
        "<h1",
        "<ol",
        "<ul",
        "<blockquote",
        "<table",
    ):
        assert tag not in html
    # what a reader sees is the text itself (CommonMark HTML-escapes it)
    visible = html.replace("<p>", "").replace("</p>", "").replace("<br />", "").replace("\n", "")
    expected = (
        text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
    )
    # (word joiners aside: they keep addresses from becoming links, and are not seen)
    assert visible.replace("\u2060", "") == expected.replace("\n", "")


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("见 https://evil.example/x", "见 https\u2060://evil.example/x"),
        ("HTTP://1.2.3.4", "HTTP\u2060://1.2.3.4"),
        ("访问 WWW.Evil.example 了解", "访问 WWW\u2060.Evil.example 了解"),
        ("邮件 a@evil.example", "邮件 a\u2060@\u2060evil.example"),
        ("附件 txt\u202eexe.pdf", "附件 txtexe.pdf"),
        ("\u2066隔离\u2069\u200f", "隔离"),
        ("环保局 2026:第3条", "环保局 2026:第3条"),
    ],
)
def test_addresses_stay_text_and_bidi_controls_are_removed(text, shown):
    assert plain_text(text) == shown
    assert md_text(text).replace("\\", "") == shown


def test_highlight_and_mark_escape_too():
    html = rendered(md_highlight("<b>满意率</b>70%", "满意率"))
    assert "<b>" not in html and "&lt;b&gt;" in html
    assert md_marked("[x](y)") == ":orange-background[**\\[x\\]\\(y\\)**]"
