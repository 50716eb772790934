"""What a reviewer's decision means (pure; no I/O): the actions, the label each one leaves on an
item, and the current state derived from the append-only log.

Vocabulary. An *item* is one thing to look at in one image (a false positive, a missed box, a
detection near its threshold...). Every image has *starting labels*: its ground truth when known,
else the model's detections at or above their class threshold. An item is about one *object*:
one of those starting labels (``label_index``) or, when it has none (a false positive on a
labelled image, a detection under its threshold), an object of its own. The queue that made the
item stored what *accept* and *reject* leave on that object (``on_accept``, ``on_reject``: a
label ``{"class": name, "box": [x1, y1, x2, y2]}`` in pixels, or ``None`` for no box).

Actions:

- ``accept``: the proposal is right (a real defect; for a miss, the ground truth is right);
- ``reject``: the proposal is wrong (a false alarm; for a miss, there is no defect there);
- ``class NAME``: the object is a defect of class NAME (its box as it stands);
- ``box X1 Y1 X2 Y2``: the object's box is this (its class as it stands);
- ``add CLASS X1 Y1 X2 Y2``: a box the model and the labels missed, added to the image;
- ``ok``: the image has no defect: every label of the image is removed (later decisions on the
  image apply after it);
- ``skip``: looked at, no decision (the item leaves the open queue, its labels are unchanged);
- ``undo``: takes back the item's last decision that is not yet undone.

Nothing is updated in place: the state of an item is the stack of its decisions with the undone
ones taken out; its status is ``done`` when the top of that stack is a decision other than skip
(or an ``ok`` on its image stands), ``skipped`` when it is a skip, else ``open``. An image's
labels are its starting labels with its items' standing decisions applied in the order they
were made.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from grace.errors import GraceError

ACTIONS = ("accept", "reject", "class", "box", "add", "ok", "skip", "undo")
LABEL_ACTIONS = ("accept", "reject", "class", "box")  # set the item's object
Label = dict[str, Any]  # {"class": name, "box": [x1, y1, x2, y2]}


@dataclass(frozen=True)
class Decision:
    """One row of the decision log.

    Attributes
    ----------
    id, item
        Decision id (increasing in commit order) and the item it is about.
    action
        One of :data:`ACTIONS`.
    who, when
        The OS user and the UTC time (ISO 8601).
    before, after
        The item's object (or, for ``add``, the new box) before and after; ``None`` = no box.
    undoes
        For ``undo``: the id of the decision taken back.
    """

    id: int
    item: int
    action: str
    who: str
    when: str
    before: Label | None = None
    after: Label | None = None
    undoes: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "item": self.item, "action": self.action, "who": self.who,
                "when": self.when, "before": self.before, "after": self.after,
                "undoes": self.undoes}  # fmt: skip


def standing(decisions: Iterable[Decision]) -> dict[int, list[Decision]]:
    """Per item, its decisions not undone, oldest first (``decisions`` in commit order)."""
    stacks: dict[int, list[Decision]] = {}
    for d in decisions:
        stack = stacks.setdefault(d.item, [])
        if d.action == "undo":
            stack[:] = [s for s in stack if s.id != d.undoes]
        else:
            stack.append(d)
    return stacks


def status_of(stack: Sequence[Decision], image_ok: bool = False) -> str:
    """``done``, ``skipped`` or ``open`` (module rules)."""
    if stack and stack[-1].action != "skip":
        return "done"
    if image_ok:
        return "done"
    return "skipped" if stack else "open"


def current_label(stack: Sequence[Decision], initial: Label | None) -> Label | None:
    """The item's object now: the ``after`` of its last standing label action, else
    ``initial``."""
    for d in reversed(stack):
        if d.action in LABEL_ACTIONS:
            return d.after
    return initial


def image_ok_standing(stacks: Mapping[int, Sequence[Decision]], items: Iterable[int]) -> bool:
    """Whether an ``ok`` on the image (any of its ``items``) stands."""
    return any(d.action == "ok" for i in items for d in stacks.get(i, ()))


def image_labels(
    initial: Sequence[Label],
    items: Mapping[int, int | None],
    stacks: Mapping[int, Sequence[Decision]],
) -> list[Label]:
    """The image's labels: ``initial`` with the standing decisions of its ``items`` (item id ->
    its ``label_index``) applied in commit order (module rules)."""
    state: dict[tuple, Label | None] = {("label", i): lab for i, lab in enumerate(initial)}
    mine = sorted((d for i in items for d in stacks.get(i, ())), key=lambda d: d.id)
    for d in mine:
        if d.action == "ok":
            state = dict.fromkeys(state)
        elif d.action in LABEL_ACTIONS:
            idx = items[d.item]
            state[("label", idx) if idx is not None else ("item", d.item)] = d.after
        elif d.action == "add":
            state[("add", d.id)] = d.after
    return [lab for lab in state.values() if lab is not None]


def class_name(text: str, names: Sequence[str]) -> str:
    """``text`` as one of ``names`` (exact, then case-insensitive, then a class index)."""
    if text in names:
        return text
    lower = {n.lower(): n for n in names}
    if text.lower() in lower:
        return lower[text.lower()]
    if text.isdigit() and int(text) < len(names):
        return names[int(text)]
    raise GraceError(f"class {text!r}: not a class of this store ({', '.join(names)})")


def check_box(values: Sequence[Any], width: int, height: int) -> list[float]:
    """Four numbers ``x1 y1 x2 y2`` in pixels, a box of positive size inside the
    ``width`` x ``height`` image; else a :class:`GraceError` naming the value."""
    text = " ".join(str(v) for v in values)
    if len(values) != 4:
        raise GraceError(f"box {text!r}: expected 4 numbers X1 Y1 X2 Y2 (pixels)")
    try:
        x1, y1, x2, y2 = (float(v) for v in values)
    except (TypeError, ValueError):
        raise GraceError(f"box {text!r}: expected 4 numbers X1 Y1 X2 Y2 (pixels)") from None
    if not all(math.isfinite(v) for v in (x1, y1, x2, y2)):
        raise GraceError(f"box {text!r}: not finite")
    if x2 <= x1 or y2 <= y1:
        raise GraceError(f"box {text!r}: X2 must exceed X1 and Y2 exceed Y1")
    if x1 < 0 or y1 < 0 or x2 > width or y2 > height:
        raise GraceError(f"box {text!r}: outside the {width}x{height} image")
    return [round(x1, 2), round(y1, 2), round(x2, 2), round(y2, 2)]


def change(
    action: str,
    current: Label | None,
    on_accept: Label | None,
    on_reject: Label | None,
    cls: str | None = None,
    box: list[float] | None = None,
) -> tuple[Label | None, Label | None]:
    """``(before, after)`` of a label action or ``add`` on an item whose object is now
    ``current`` (``cls`` and ``box`` already checked)."""
    base = current or on_accept or on_reject
    if action == "accept":
        return current, on_accept
    if action == "reject":
        return current, on_reject
    if action == "class":
        assert base is not None and cls is not None
        return current, {"class": cls, "box": list(base["box"])}
    if action == "box":
        assert base is not None and box is not None
        return current, {"class": base["class"], "box": list(box)}
    if action == "add":
        assert cls is not None and box is not None
        return None, {"class": cls, "box": list(box)}
    return current, current
