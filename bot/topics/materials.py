"""The materials checklist a topic must complete, derived from its kind of matter (materials.toml)."""

import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

MATTER_KINDS = ("规范性文件", "重大决策", "预算投资", "工作汇报")
MATERIALS_FILE = Path(__file__).parent / "materials.toml"


@dataclass(frozen=True)
class MaterialItem:
    key: str
    label: str
    kinds: tuple[str, ...]
    article: int
    mandatory: bool
    why: str


@cache
def all_items() -> tuple[MaterialItem, ...]:
    raw = tomllib.loads(MATERIALS_FILE.read_text(encoding="utf-8"))["item"]
    return tuple(MaterialItem(**{**item, "kinds": tuple(item["kinds"])}) for item in raw)


def checklist_for(matter_kind: str) -> tuple[MaterialItem, ...]:
    """The items a topic of this kind must account for, in file order."""
    return tuple(item for item in all_items() if matter_kind in item.kinds)


def item(key: str) -> MaterialItem:
    return next(i for i in all_items() if i.key == key)
