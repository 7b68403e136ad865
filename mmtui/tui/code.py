"""Commands and code shown whole: folded to the width they get (`mmtui.content.fold`), each
block focusable (tab) and copied to the terminal's clipboard with c, as the original text."""

from __future__ import annotations

from typing import Any

from textual.binding import Binding
from textual.content import Content
from textual.geometry import Size
from textual.widget import Widget
from textual.widgets import Markdown
from textual.widgets.markdown import MarkdownBlock, MarkdownFence

from mmtui.content.fold import fold


class FoldedCode(Widget):
    """Code folded to this widget's width, refolded when the width changes."""

    DEFAULT_CSS = """
    FoldedCode {
        height: auto;
        width: 1fr;
    }
    """

    def __init__(self, code: str, language: str = "sh", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.code = code
        self.language = language

    def show(self, code: str, language: str | None = None) -> None:
        self.code = code
        if language is not None:
            self.language = language
        self.refresh(layout=True)

    def folded(self, width: int) -> str:
        return fold(self.code, self.language, width)

    def get_content_width(self, container: Size, viewport: Size) -> int:
        return max((len(line) for line in self.code.split("\n")), default=0)

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return len(self.folded(width).split("\n")) if self.code else 0

    def render(self) -> Content:
        text = self.folded(self.content_size.width)
        app = self.app
        return MarkdownFence.highlight(
            text, self.language, ansi=app.native_ansi_color, dark=app.current_theme.dark
        )


def copy_text(widget: Widget, text: str, what: str = "Command") -> None:
    """Put `text` on the terminal's clipboard (OSC 52) and say so."""
    widget.app.copy_to_clipboard(text)
    first = text.strip().split("\n", 1)[0]
    shown = first if len(first) <= 60 else first[:59] + "…"
    widget.app.notify(shown, title=f"{what} copied to the clipboard", timeout=4)


class CommandFence(MarkdownFence):
    """A Markdown code block shown whole (folded, never cut) that tab reaches and c copies."""

    can_focus = True
    BINDINGS = [Binding("c", "copy", "Copy")]
    DEFAULT_CSS = """
    CommandFence {
        overflow: hidden hidden;
        border-left: blank;
        & > FoldedCode {
            padding: 1 1;
        }
        &:focus {
            border-left: thick $accent;
            background-tint: $accent 10%;
        }
    }
    """

    def compose(self) -> Any:
        yield FoldedCode(self.code, self.lexer, id="code-content")

    def set_content(self, content: Content) -> None:
        for code in self.query(FoldedCode):
            code.show(self.code, self.lexer)

    async def _update_from_block(self, block: MarkdownBlock) -> None:
        if isinstance(block, MarkdownFence):
            self._copy_context(block)
            self.set_content(block._highlighted_code)
        else:
            await super()._update_from_block(block)

    def action_copy(self) -> None:
        copy_text(self, self.code)


class GuideMarkdown(Markdown):
    """Markdown whose code blocks are CommandFences."""

    BLOCKS = {**Markdown.BLOCKS, "fence": CommandFence, "code_block": CommandFence}
