"""What a new version of a rulebook changes, article by article: added, removed, renumbered (the
same text under another number) and changed (with the characters that changed)."""

from dataclasses import dataclass
from difflib import SequenceMatcher
from enum import Enum

from knowledge.model import Article, Rulebook
from knowledge.numerals import article_label

# Two articles are one article rewritten when at least this share of their characters match.
_SAME_ARTICLE_RATIO = 0.5
# Unchanged characters shown around each change.
_CONTEXT = 12
_WORTH_CUTTING = 6


class ChangeKind(Enum):
    ADDED = "新增"
    REMOVED = "删除"
    RENUMBERED = "条号变动"
    CHANGED = "修改"


@dataclass(frozen=True)
class ArticleChange:
    kind: ChangeKind
    old: Article | None
    new: Article | None

    @property
    def order(self) -> tuple[int, int]:
        """Where the change is read: at the new article's place, a removal at the old one's."""
        if self.new is not None:
            return self.new.number, 1
        assert self.old is not None
        return self.old.number, 0

    def heading(self) -> str:
        old, new = self.old, self.new
        if old is not None and new is not None and old.number != new.number:
            return f"{self.kind.value} {old.label} → {new.label}"
        article = new or old
        assert article is not None
        return f"{self.kind.value} {article.label}"


def diff_rulebooks(old: Rulebook, new: Rulebook) -> list[ArticleChange]:
    """Every article that differs between two versions, in the new version's order."""
    old_left = list(old.articles)
    new_left: list[Article] = []
    changes: list[ArticleChange] = []
    # The same text: unchanged at the same number (preferred), renumbered at another.
    for article in new.articles:
        same = [a for a in old_left if a.text == article.text]
        if not same:
            new_left.append(article)
            continue
        match = next((a for a in same if a.number == article.number), same[0])
        old_left.remove(match)
        if match.number != article.number:
            changes.append(ArticleChange(ChangeKind.RENUMBERED, match, article))
    # Rewritten: the most alike pairs first, a nearer number breaking ties.
    pairs = sorted(
        (
            (-SequenceMatcher(None, o.text, n.text, autojunk=False).ratio(), abs(o.number - n.number), i, j)
            for i, o in enumerate(old_left)
            for j, n in enumerate(new_left)
        ),
    )
    paired_old: set[int] = set()
    paired_new: set[int] = set()
    for negative_ratio, _, i, j in pairs:
        if -negative_ratio < _SAME_ARTICLE_RATIO:
            break
        if i in paired_old or j in paired_new:
            continue
        paired_old.add(i)
        paired_new.add(j)
        changes.append(ArticleChange(ChangeKind.CHANGED, old_left[i], new_left[j]))
    changes += [ArticleChange(ChangeKind.ADDED, None, n) for j, n in enumerate(new_left) if j not in paired_new]
    changes += [ArticleChange(ChangeKind.REMOVED, o, None) for i, o in enumerate(old_left) if i not in paired_old]
    return sorted(changes, key=lambda change: change.order)


def character_diff(old: str, new: str) -> str:
    """The new text with what was deleted as [-…-] and what was added as {+…+}, long unchanged
    stretches shortened to their ends."""
    matcher = SequenceMatcher(None, old, new, autojunk=False)
    opcodes = matcher.get_opcodes()
    parts = []
    for index, (tag, i1, i2, j1, j2) in enumerate(opcodes):
        if tag == "equal":
            parts.append(_shortened(old[i1:i2], first=index == 0, last=index == len(opcodes) - 1))
            continue
        if i2 > i1:
            parts.append(f"[-{old[i1:i2]}-]")
        if j2 > j1:
            parts.append(f"{{+{new[j1:j2]}+}}")
    return "".join(parts)


def _shortened(text: str, first: bool, last: bool) -> str:
    """Unchanged text cut to its context next to a change, when that saves more than a few characters."""
    if first and len(text) > _CONTEXT + _WORTH_CUTTING:
        return "……" + text[-_CONTEXT:]
    if last and len(text) > _CONTEXT + _WORTH_CUTTING:
        return text[:_CONTEXT] + "……"
    if not first and not last and len(text) > 2 * _CONTEXT + _WORTH_CUTTING:
        return text[:_CONTEXT] + "……" + text[-_CONTEXT:]
    return text


def describe_changes(old: Rulebook, new: Rulebook, changes: list[ArticleChange]) -> str:
    """The diff as an admin reads it before publishing, in Chinese."""
    if not changes:
        return f"《{old.title}》与《{new.title}》的条文相同。"
    counts = {kind: sum(1 for c in changes if c.kind is kind) for kind in ChangeKind}
    summary = "，".join(f"{kind.value}{count}条" for kind, count in counts.items() if count)
    lines = [f"《{old.title}》（{len(old.articles)}条）→《{new.title}》（{len(new.articles)}条）：{summary}"]
    for run in _renumbering_runs(changes):
        change = run[0]
        if len(run) > 1:
            first, last = run[0], run[-1]
            assert first.old and first.new and last.old and last.new
            lines.append(
                f"{ChangeKind.RENUMBERED.value} {first.old.label}至{article_label(last.old.number)} → "
                f"{first.new.label}至{article_label(last.new.number)}（条文未变）"
            )
            continue
        lines.append(change.heading())
        if change.kind is ChangeKind.CHANGED and change.old and change.new:
            lines.append(f"  {character_diff(change.old.text, change.new.text)}")
        elif change.kind is ChangeKind.ADDED and change.new:
            lines.append(f"  {{+{change.new.text}+}}")
        elif change.kind is ChangeKind.REMOVED and change.old:
            lines.append(f"  [-{change.old.text}-]")
    return "\n".join(lines)


def _renumbering_runs(changes: list[ArticleChange]) -> list[list[ArticleChange]]:
    """Changes grouped so that a run of articles all moved by the same count (an article inserted
    before them) reads as one line; every other change is a group of its own."""
    runs: list[list[ArticleChange]] = []
    for change in changes:
        previous = runs[-1][-1] if runs else None
        if (
            previous is not None
            and change.kind is previous.kind is ChangeKind.RENUMBERED
            and change.old
            and change.new
            and previous.old
            and previous.new
            and change.old.number == previous.old.number + 1
            and change.new.number == previous.new.number + 1
        ):
            runs[-1].append(change)
        else:
            runs.append([change])
    return runs
