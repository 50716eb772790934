"""The menu bar: every action with its shortcut, F1 opens the Guide, About names the versions,
Ctrl+Q closes, File hands the chosen path to the tab that opens it, a second window on the same
settings is read-only."""

from __future__ import annotations

import platform
from importlib import metadata
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog

from grace_gui.help_texts import TABS, TERMS
from grace_gui.settings import READ_ONLY_NOTICE

MENUS = {
    "File": [
        ("Open dataset…", "Ctrl+O"), ("Open data.yaml…", "Ctrl+Shift+O"),
        ("Open run…", "Ctrl+Shift+R"), ("Open model…", "Ctrl+Shift+M"), ("Quit", "Ctrl+Q"),
    ],
    "View": [
        ("1 Dataset", "Ctrl+1"), ("2 Train", "Ctrl+2"), ("3 Inference", "Ctrl+3"),
        ("4 Evaluate", "Ctrl+4"), ("5 Review", "Ctrl+5"), ("6 Eigen-CAM", "Ctrl+6"),
        ("Full screen", "F11"),
    ],
    "Help": [("Guide", "F1"), ("Keyboard shortcuts", "Ctrl+/"), ("About GRACE Inspector", "")],
}  # fmt: skip


def menu_contents(window) -> dict[str, list[tuple[str, str]]]:
    found = {}
    for top in window.menuBar().actions():
        entries = [a for a in top.menu().actions() if not a.isSeparator()]
        found[top.text().replace("&", "")] = [
            (a.text().replace("&", ""), a.shortcut().toString()) for a in entries
        ]
    return found


def active(qtbot, window):
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=5000)
    return window


def test_every_menu_action_exists_with_its_shortcut_and_a_tip(make_window):
    window = make_window()
    assert menu_contents(window) == MENUS
    for action in window.menus.actions.values():
        assert action.statusTip(), f"{action.text()} says nothing in the status bar"
    shortcuts = window.menus.show_dialog("shortcuts").text()
    for entries in MENUS.values():
        for text, keys in entries:
            if keys:
                assert f"\n{keys}\n{text.rstrip('…')}\n" in shortcuts  # a table row


def test_f1_opens_the_guide_with_every_tab_and_term(qtbot, make_window):
    window = active(qtbot, make_window())
    assert "guide" not in window.menus.dialogs
    qtbot.keyClick(window, Qt.Key.Key_F1)
    guide = window.menus.dialogs["guide"]
    qtbot.waitUntil(guide.isVisible, timeout=5000)
    text = guide.text()
    for name, sentence in {**TABS, **TERMS}.items():
        assert name in text and sentence in text, name


def test_ctrl_number_shows_the_tab_and_view_follows_the_tabs(qtbot, make_window):
    window = active(qtbot, make_window())
    qtbot.keyClick(window, Qt.Key.Key_3, Qt.KeyboardModifier.ControlModifier)
    assert window.tabs.currentIndex() == 2
    window.tabs.setCurrentIndex(1)  # a click on the tab bar
    checked = [a.text() for a in window.menus.actions.values() if a.isChecked()]
    assert checked == ["&2 Train"]


def test_about_shows_the_version_device_and_library_versions(make_window):
    window = make_window()
    window.menus.actions["about"].trigger()
    lines = window.menus.dialogs["about"].text().splitlines()
    table = lines[lines.index("Version") :]  # after the heading and the summary
    rows = dict(zip(table[::2], table[1::2], strict=True))  # a cell per line

    def shown(label: str) -> str:
        return rows[label]

    def version(*distributions: str) -> str:
        for d in distributions:
            try:
                return metadata.version(d)
            except metadata.PackageNotFoundError:
                pass
        raise AssertionError(f"none of {distributions} is installed")

    assert shown("Version") == version("grace-inspector")
    assert shown("Device").startswith("CPU")  # the window was built with gpus=[]
    assert shown("Python") == platform.python_version()
    for label, dists in [
        ("torch", ["torch"]), ("torchvision", ["torchvision"]), ("Ultralytics", ["ultralytics"]),
        ("PySide6", ["PySide6", "PySide6-Essentials"]),
        ("OpenCV", ["opencv-python", "opencv-python-headless", "opencv-contrib-python"]),
        ("pytorch-grad-cam", ["grad-cam"]), ("superqt", ["superqt"]),
    ]:  # fmt: skip
        assert shown(label).split(" ")[0] == version(*dists), label


def test_ctrl_q_closes_saves_and_releases_the_settings(qtbot, make_window, settings_path):
    window = active(qtbot, make_window())
    window.tabs.setCurrentIndex(3)
    assert Path(settings_path + ".owner").exists()
    qtbot.keyClick(window, Qt.Key.Key_Q, Qt.KeyboardModifier.ControlModifier)
    assert not window.isVisible()
    assert "[window]" in Path(settings_path).read_text()
    assert not Path(settings_path + ".owner").exists()
    assert make_window().tabs.currentIndex() == 3


@pytest.fixture
def chosen(monkeypatch):
    """The file dialogs answer ``chosen["path"]`` ("" = cancelled) and record their title."""
    answer = {"path": "", "asked": [], "patterns": []}

    def folder(parent, title, start=""):
        answer["asked"].append(title)
        return answer["path"]

    def file(parent, title, start="", pattern=""):
        answer["asked"].append(title)
        answer["patterns"].append(pattern)
        return answer["path"], pattern

    monkeypatch.setattr(QFileDialog, "getExistingDirectory", folder)
    monkeypatch.setattr(QFileDialog, "getOpenFileName", file)
    return answer


def test_file_actions_hand_the_chosen_path_to_the_tabs(make_window, chosen, monkeypatch):
    window = make_window()
    calls = []
    for tab, method in [
        (window.dataset_tab, "open_path"), (window.train_tab, "open_path"),
        (window.cam_tab, "add_checkpoint"), (window.cam_tab, "offer_checkpoint"),
        (window.inference_tab, "open_model"),
    ]:  # fmt: skip
        monkeypatch.setattr(tab, method, lambda p, t=tab, m=method: calls.append((t.title, m, p)))
    act = window.menus.actions

    act["open_dataset"].trigger()  # cancelled: nothing happens
    assert chosen["asked"] == ["Open dataset folder"] and calls == []

    chosen["path"] = "/data/NEU-DET"
    act["open_dataset"].trigger()
    chosen["path"] = "/data/steel/data.yaml"
    act["open_yaml"].trigger()
    chosen["path"] = "/runs/grace-1"
    act["open_run"].trigger()
    assert window.tabs.currentWidget() is window.train_tab
    chosen["path"] = "/runs/grace-1/weights/best.pt"
    act["open_model"].trigger()  # from the Train tab: into Inference, offered to Eigen-CAM
    assert window.tabs.currentWidget() is window.inference_tab
    window.tabs.setCurrentWidget(window.cam_tab)
    act["open_model"].trigger()  # with Eigen-CAM shown: into Eigen-CAM
    assert window.tabs.currentWidget() is window.cam_tab
    assert calls == [
        ("Dataset", "open_path", "/data/NEU-DET"),
        ("Dataset", "open_path", "/data/steel/data.yaml"),
        ("Train", "open_path", "/runs/grace-1"),
        ("Inference", "open_model", "/runs/grace-1/weights/best.pt"),
        ("Eigen-CAM", "offer_checkpoint", "/runs/grace-1/weights/best.pt"),
        ("Eigen-CAM", "add_checkpoint", "/runs/grace-1/weights/best.pt"),
    ]
    s = window.context.settings
    assert s.get("dataset/last_dir") == "/data/steel"  # the next dialog starts there
    assert s.get("window/last_run_dir") == "/runs"
    assert s.get("window/last_model_dir") == "/runs/grace-1/weights"


def test_open_model_selects_it_in_inference(make_window, chosen):
    window = make_window()
    demo = window.context.demo
    chosen["path"] = str(demo.models[0])
    window.menus.actions["open_model"].trigger()
    assert window.inference_tab.inputs.model_path() == str(demo.models[0])
    assert window.context.settings.get("cam/models")[0] == str(demo.models[0])


@pytest.mark.slow
def test_open_model_takes_an_export_into_inference_and_not_into_eigen_cam(
    make_window, chosen, tmp_path
):
    """An OpenVINO model picked by its .xml (a tiny random yolo11n exported at 64): selected in
    Inference as its folder, its classes read from its metadata, not offered to Eigen-CAM; with
    the Eigen-CAM tab shown it is refused there in one line and no panel is added."""
    from grace.deploy.export import export_model
    from grace.infer.bench import make_bench_checkpoint
    from grace_gui.sessions.model_files import MODEL_FILTER

    pt = make_bench_checkpoint(tmp_path / "tiny.pt", "n", nc=2, imgsz=64)
    ov = Path(export_model(pt, "openvino", imgsz=64, out=tmp_path / "export").path)
    window = make_window()
    inference, cam = window.inference_tab, window.cam_tab.session
    assert inference.session.wait(120)  # the demo's first run has ended: its names are shown
    recent = list(cam.recent)
    chosen["path"] = str(ov / "tiny.xml")  # what the file dialog returns for an OpenVINO model
    window.menus.actions["open_model"].trigger()
    assert chosen["patterns"] == [MODEL_FILTER]
    assert window.tabs.currentWidget() is window.inference_tab
    assert inference.inputs.model_path() == str(ov)
    assert inference.session.wait(60) and inference.session.names == ["class0", "class1"]
    assert cam.recent == recent and str(ov) not in (window.context.settings.get("cam/models") or [])
    assert window.context.settings.get("window/last_model_dir") == str(ov.parent)

    window.tabs.setCurrentWidget(window.cam_tab)
    panels = list(cam.checkpoints)
    window.menus.actions["open_model"].trigger()
    assert window.tabs.currentWidget() is window.cam_tab and cam.checkpoints == panels
    notice = window.context.notifications.current
    assert (notice.title, notice.level) == ("Eigen-CAM", "error")
    assert notice.message == (f"{ov}: an exported openvino model; Eigen-CAM needs the PyTorch "
                              "checkpoint (.pt) it was exported from")  # fmt: skip


def test_a_second_window_on_the_same_settings_is_read_only(make_window, settings_path):
    first = make_window()
    second = make_window()
    assert first.context.settings.writable and not second.context.settings.writable
    assert second.context.notifications.current.message == READ_ONLY_NOTICE
    labels = [w.text() for w in second.statusBar().findChildren(type(second.device_label))]
    assert "Settings: read-only" in labels
    first.context.settings.sync()
    before = Path(settings_path).read_bytes()
    second.tabs.setCurrentIndex(2)
    second.close()
    assert Path(settings_path).read_bytes() == before
