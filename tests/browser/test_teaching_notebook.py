"""The teaching notebook in a real browser: JupyterLab, headless Chromium, Playwright.

Runs notebooks/02_teaching_walkthrough.ipynb in JupyterLab, clicks Start on its last
EventPanel and checks the page: the diagram now fills Running and the history table gained
a row. Then it moves the HistoryPlayer's slider and checks the diagram changes back.
Screenshots go to test-artifacts/. Skips where Chromium is absent, except under CI.

Why the kernel is started through the REST API before the page opens: left to itself,
JupyterLab starts it from the page, and its execution indicator reads "idle" before any
kernel exists. A Run All in that window finds no kernel and starts one itself; JupyterLab
keeps only the newer of the two session requests, shuts the first kernel down and drops
the websocket it was opening to it (a 500 with ``'NoneType' object has no attribute
'kernel_ws_protocol'`` when that happens mid-handshake), and the Run All is lost with it.
With the session made first, the page connects to it and starts nothing.

Every wait is on an explicit signal, never on time: the REST API answering, the notebook's
own kernel connection being the one started here, connected and idle, every code cell
holding its execution count. Each wait is bounded by ``STEP_S`` and the whole test by
``TEST_S``; a failure carries the end of the JupyterLab log.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import pytest
from playwright.sync_api import Dialog, Locator, Page, expect, sync_playwright
from playwright.sync_api import Error as PlaywrightError

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK = "02_teaching_walkthrough.ipynb"
KERNEL_NAME = "python3"
CHROMIUM = Path(shutil.which("chromium") or "/usr/bin/chromium")
ARTIFACTS = ROOT / "test-artifacts"
TOKEN = "descartes-nb-browser-test"
CURRENT_FILL = "#ffe082"  # the diagram's fill for the current state
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Bounds, not expectations: generous enough for a loaded 2-core machine, and only there
# so that a test that went wrong fails with the log instead of hanging.
STEP_S: Final = 90.0  # one wait: the server up, the page connected, every cell run, ...
TEST_S: Final = 300.0  # everything after the server is up
SHUTDOWN_S: Final = 30.0

# The notebook panel of ``path`` in JupyterLab's shell (the app is exposed by the server
# option ``expose_app_in_browser``, as JupyterLab's own browser check does).
_PANEL_JS = """(path) => {
    const app = window.jupyterapp;
    if (!app) return null;
    return Array.from(app.shell.widgets('main'))
        .find(w => w.context && w.context.path === path && w.sessionContext) || null;
}"""
# null while the notebook is not yet connected; the kernel id once its connection is up and
# idle, or at once if it holds another kernel than ours.
KERNEL_READY_JS = f"""([path, expected]) => {{
    const panel = ({_PANEL_JS})(path);
    const kernel = panel && panel.sessionContext.session && panel.sessionContext.session.kernel;
    if (!kernel) return null;
    if (kernel.id !== expected) return kernel.id;
    const ready = kernel.connectionStatus === 'connected' && kernel.status === 'idle'
        && window.jupyterapp.shell.currentWidget === panel;
    return ready ? kernel.id : null;
}}"""
# null while cells are still to run; at once, what went wrong if a cell raised or the
# notebook is no longer on the kernel started here; else, once every code cell has its
# execution count and the kernel is idle again, the counts.
RUN_STATE_JS = f"""([path, expected]) => {{
    const panel = ({_PANEL_JS})(path);
    const session = panel && panel.sessionContext.session;
    const kernel = session && session.kernel;
    if (!kernel || kernel.id !== expected) {{
        const now = kernel ? kernel.id : 'no kernel';
        return {{problem: 'the notebook left the kernel started here for ' + now}};
    }}
    const cells = panel.content.widgets.filter(cell => cell.model.type === 'code');
    const errors = cells.flatMap(cell => cell.model.outputs.toJSON())
        .filter(output => output.output_type === 'error')
        .map(output => output.ename + ': ' + output.evalue);
    if (errors.length) return {{problem: 'a cell raised ' + errors.join('; ')}};
    const counts = cells.map(cell => cell.model.executionCount);
    return counts.includes(null) || kernel.status !== 'idle' ? null : {{counts}};
}}"""


class Deadline:
    """The time left for the test; each wait gets one step's time, or less near the end."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.start = time.monotonic()

    def elapsed(self) -> float:
        return time.monotonic() - self.start

    def ms(self) -> float:
        left = self.seconds - self.elapsed()
        if left <= 0:
            raise TimeoutError(f"the test ran past its deadline of {self.seconds:.0f} s")
        return min(STEP_S, left) * 1000


@dataclass(frozen=True)
class Lab:
    """A running JupyterLab: its URL, its REST API and its log."""

    url: str
    log: Path

    def api(self, method: str, path: str, body: object = None) -> Any:
        request = urllib.request.Request(
            f"{self.url}{path}",
            method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers={"Authorization": f"token {TOKEN}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=STEP_S) as response:
            return json.loads(response.read() or b"null")

    def log_tail(self, lines: int = 80) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    @contextlib.contextmanager
    def log_on_failure(self, deadline: Deadline) -> Iterator[None]:
        """Fail with the error, the time it came after, and the end of the JupyterLab log."""
        try:
            yield
        except Exception as exc:  # any failure: add what the server saw
            pytest.fail(
                f"{type(exc).__name__} after {deadline.elapsed():.1f} s: {exc}\n\n"
                f"--- JupyterLab log ({self.log}), last lines ---\n{self.log_tail()}"
            )


@pytest.fixture(scope="module")
def chromium() -> Path:
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail("Chromium is missing; .ci/run installs Debian's chromium package")
        pytest.skip("needs Debian's chromium package (apt-get install chromium)")
    return CHROMIUM


def write_settings(folder: Path) -> None:
    """Render every cell (no windowing) and fetch no news.

    The kernel is started by the test; the automatic start only keeps a kernel-choice
    dialog away if something else asked JupyterLab for one.
    """
    settings = {
        "notebook-extension/tracker": {"autoStartDefaultKernel": True, "windowingMode": "none"},
        "apputils-extension/notification": {"fetchNews": "false", "checkForUpdates": False},
    }
    for name, values in settings.items():
        plugin, file = name.split("/")
        path = folder / "@jupyterlab" / plugin / f"{file}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))


def clear_outputs(path: Path) -> None:
    """Drop the committed outputs, execution counts and widget state of a notebook copy.

    Then every prompt, output and widget the page shows comes from this run.
    """
    notebook = json.loads(path.read_text())
    for cell in notebook["cells"]:
        if cell["cell_type"] == "code":
            cell["outputs"] = []
            cell["execution_count"] = None
    notebook["metadata"].pop("widgets", None)
    path.write_text(json.dumps(notebook, indent=1))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until_serving(lab: Lab, server: subprocess.Popen[bytes]) -> None:
    """Wait until the REST API answers (the signal), failing early if the server exits."""
    deadline = Deadline(STEP_S)
    while deadline.elapsed() < STEP_S:
        if server.poll() is not None:
            pytest.fail(f"JupyterLab exited with {server.returncode}:\n{lab.log_tail()}")
        try:
            lab.api("GET", "/api/status")
            return
        except OSError:  # not listening yet (URLError is an OSError)
            time.sleep(0.2)  # polls the signal; it is not a wait for time to pass
    pytest.fail(f"JupyterLab did not answer within {STEP_S:.0f} s:\n{lab.log_tail()}")


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """JupyterLab on 127.0.0.1, serving a copy of notebooks/ (the repository stays clean).

    Its Jupyter and IPython directories are its own, so that no workspace, trust database
    or history is shared with another JupyterLab running on this machine.
    """
    root = tmp_path_factory.mktemp("lab")
    shutil.copytree(ROOT / "notebooks", root / "notebooks")
    clear_outputs(root / "notebooks" / NOTEBOOK)
    write_settings(root / "settings")
    port = free_port()
    env = os.environ | {
        "JUPYTER_CONFIG_DIR": str(root / "config"),
        "JUPYTER_DATA_DIR": str(root / "data"),
        "JUPYTER_RUNTIME_DIR": str(root / "runtime"),
        "IPYTHONDIR": str(root / "ipython"),
    }
    lab = Lab(f"http://127.0.0.1:{port}", root / "lab.log")
    with lab.log.open("w") as log:
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "jupyterlab",
                "--no-browser",
                "--allow-root",
                "--ip=127.0.0.1",
                f"--port={port}",
                "--ServerApp.port_retries=0",  # never serve on another port than ours
                f"--IdentityProvider.token={TOKEN}",
                f"--ServerApp.root_dir={root / 'notebooks'}",
                f"--LabApp.user_settings_dir={root / 'settings'}",
                f"--LabApp.workspaces_dir={root / 'workspaces'}",
                "--LabApp.expose_app_in_browser=True",
                "--LabServerApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
        )
        try:
            wait_until_serving(lab, server)
            yield lab
        finally:
            server.terminate()
            try:
                server.wait(timeout=SHUTDOWN_S)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()


def start_kernel(lab: Lab) -> str:
    """Create the notebook's session through the REST API; JupyterLab will connect to it."""
    body = {"path": NOTEBOOK, "type": "notebook", "name": "", "kernel": {"name": KERNEL_NAME}}
    session = lab.api("POST", "/api/sessions", body)
    return str(session["kernel"]["id"])


def test_teaching_notebook_panel_and_player_in_chromium(lab: Lab, chromium: Path) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    deadline = Deadline(TEST_S)
    dialogs: list[str] = []

    def on_dialog(dialog: Dialog) -> None:
        dialogs.append(dialog.message)  # an alert() here would mean injected script ran
        dialog.dismiss()

    with lab.log_on_failure(deadline), sync_playwright() as playwright:
        kernel_id = start_kernel(lab)
        browser = playwright.chromium.launch(
            executable_path=str(chromium), args=CHROMIUM_ARGS, timeout=deadline.ms()
        )
        page = browser.new_page(viewport={"width": 1500, "height": 1000})
        page.on("dialog", on_dialog)
        try:
            open_notebook(page, lab, kernel_id, deadline)
            run_all_cells(page, kernel_id, deadline)
            check_event_panel(page, deadline)
            check_history_player(page, deadline)
            # Hostile text from users shows as text and runs nothing.
            hostile = page.get_by_text("<img src=x onerror=alert(1)>").first
            expect(hostile).to_be_visible(timeout=deadline.ms())
            expect(page.locator(".jp-Dialog")).to_have_count(0, timeout=deadline.ms())
            assert dialogs == []
        finally:
            with contextlib.suppress(PlaywrightError):  # a picture for the failure, if any
                page.screenshot(path=ARTIFACTS / "browser-last.png", full_page=True)
            browser.close()
        kernels = [kernel["id"] for kernel in lab.api("GET", "/api/kernels")]
        assert kernels == [kernel_id], "JupyterLab started a kernel of its own"


def open_notebook(page: Page, lab: Lab, kernel_id: str, deadline: Deadline) -> None:
    """Open the notebook and wait until its kernel connection is ours, connected and idle."""
    page.goto(f"{lab.url}/lab/tree/{NOTEBOOK}?token={TOKEN}", timeout=deadline.ms())
    ready = page.wait_for_function(
        KERNEL_READY_JS, arg=[NOTEBOOK, kernel_id], polling=100, timeout=deadline.ms()
    )
    assert ready.json_value() == kernel_id, "the notebook is not on the kernel the test started"


def run_all_cells(page: Page, kernel_id: str, deadline: Deadline) -> None:
    """Run > Run All Cells once, and wait until every code cell has run, in order, once."""
    page.locator(".lm-MenuBar-itemLabel").get_by_text("Run", exact=True).click(
        timeout=deadline.ms()
    )
    # exact: the menus also hold "Restart Kernel and Run All Cells…", which asks first
    page.locator(".lm-Menu-itemLabel").get_by_text("Run All Cells", exact=True).click(
        timeout=deadline.ms()
    )
    state = page.wait_for_function(
        RUN_STATE_JS, arg=[NOTEBOOK, kernel_id], polling=100, timeout=deadline.ms()
    ).json_value()
    assert "problem" not in state, state["problem"]
    assert state["counts"] == list(range(1, len(state["counts"]) + 1))


def current_states(diagram: Locator) -> Locator:
    """The labels of the diagram's nodes filled as current (a locator, so expect retries)."""
    fill = f"[fill='{CURRENT_FILL}']"
    shape = diagram.page.locator(f"path{fill}, polygon{fill}, ellipse{fill}")
    return diagram.locator("g.node").filter(has=shape).locator("text")


def check_event_panel(page: Page, deadline: Deadline) -> None:
    """Start on the last EventPanel: title, history table and diagram follow."""
    panel = page.locator(".descartes-nb-event-panel").last
    expect(panel.locator(".descartes-nb-title")).to_contain_text("Idle", timeout=deadline.ms())
    # A new workflow: its history says it is empty, and only Start looks clickable.
    history_rows = panel.locator(".descartes-nb-history tr")
    expect(panel.locator(".descartes-nb-history")).to_contain_text(
        "No events processed yet.", timeout=deadline.ms()
    )
    expect(history_rows).to_have_count(0, timeout=deadline.ms())
    diagram = panel.locator(".descartes-nb-diagram")
    expect(current_states(diagram)).to_have_text(["Idle"], timeout=deadline.ms())
    start = panel.get_by_role("button", name="Start", exact=True)
    expect(start).to_be_enabled(timeout=deadline.ms())
    expect(start).to_have_class(re.compile(r"\bmod-primary\b"), timeout=deadline.ms())
    expect(panel.get_by_role("button", name="Pause", exact=True)).to_be_disabled(
        timeout=deadline.ms()
    )
    start.click(timeout=deadline.ms())
    expect(panel.locator(".descartes-nb-title")).to_contain_text("Running", timeout=deadline.ms())
    expect(panel.locator(".descartes-nb-message")).to_contain_text(
        "Processed Start: Idle → Running.", timeout=deadline.ms()
    )
    expect(history_rows).to_have_count(2, timeout=deadline.ms())
    expect(current_states(diagram)).to_have_text(["Running"], timeout=deadline.ms())
    page.screenshot(
        path=ARTIFACTS / "browser-panel-after-start.png", full_page=True, timeout=deadline.ms()
    )


def check_history_player(page: Page, deadline: Deadline) -> None:
    """The last HistoryPlayer follows to step 1; its slider back to step 0 shows Idle."""
    player = page.locator(".descartes-nb-history-player").last
    entry = player.locator(".descartes-nb-entry")
    diagram = player.locator(".descartes-nb-diagram")
    expect(entry).to_contain_text("Step 1 of 1", timeout=deadline.ms())
    expect(current_states(diagram)).to_have_text(["Running"], timeout=deadline.ms())
    player.locator(".noUi-handle").first.focus(timeout=deadline.ms())
    page.keyboard.press("ArrowLeft")
    expect(entry).to_contain_text("Step 0 of 1", timeout=deadline.ms())
    expect(current_states(diagram)).to_have_text(["Idle"], timeout=deadline.ms())
    page.screenshot(
        path=ARTIFACTS / "browser-player-step-0.png", full_page=True, timeout=deadline.ms()
    )
