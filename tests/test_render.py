"""Text from documents and people is shown as text: never HTML, links, images or directives."""

from __future__ import annotations

import pytest
from markdown_it import MarkdownIt

from ui.render import md_highlight, md_marked, md_text

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
    assert visible == expected.replace("\n", "")


def test_highlight_and_mark_escape_too():
    html = rendered(md_highlight("<b>满意率</b>70%", "满意率"))
    assert "<b>" not in html and "&lt;b&gt;" in html
    assert md_marked("[x](y)") == ":orange-background[**\\[x\\]\\(y\\)**]"
