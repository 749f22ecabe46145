"""JupyterLab and headless Chromium for the browser tests: serve, open, run, wait, shoot.

A test module serves a copy of notebooks/ (``lab = lab_fixture(NOTEBOOK)``); its test
creates the notebook's session (``lab.start_session``), opens a page (``browser_page``) and
runs the notebook there (``lab.run_notebook``). Screenshots go to test-artifacts/.
conftest.py shares the fixtures ``deadline`` and ``chromium``, which skips every browser
test where Chromium is absent, except under CI.

Why the kernel is started through the REST API before the page opens: left to itself,
JupyterLab starts it from the page, and its execution indicator reads "idle" before any
kernel exists. A Run All in that window finds no kernel and starts one itself; JupyterLab
keeps only the newer of the two session requests, shuts the first kernel down and drops
the websocket it was opening to it (a 500 with ``'NoneType' object has no attribute
'kernel_ws_protocol'`` when that happens mid-handshake), and the Run All is lost with it.
With the session made first, the page connects to it and starts nothing.

Every wait is on an explicit signal, never on time: the REST API answering, the notebook's
own kernel connection being the one started here, connected and idle, every code cell
holding its execution count. Each wait is bounded by ``STEP_S`` and a test by its
``Deadline``; a failure inside ``Lab.log_on_failure`` carries the end of the JupyterLab log.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Final

import pytest
from playwright.sync_api import Browser, Locator, Page, expect, sync_playwright
from playwright.sync_api import Error as PlaywrightError

from descartes_nb.notebook._style import ACTIVE_FILL

ROOT: Final = Path(__file__).resolve().parents[2]
ARTIFACTS: Final = ROOT / "test-artifacts"
KERNEL_NAME: Final = "python3"
TOKEN: Final = "descartes-nb-browser-test"
CURRENT_FILL: Final = ACTIVE_FILL  # the diagram's fill for the current state
CHROMIUM: Final = Path(shutil.which("chromium") or "/usr/bin/chromium")
CHROMIUM_ARGS: Final = [
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
_KERNEL_READY_JS = f"""([path, expected]) => {{
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
_RUN_STATE_JS = f"""([path, expected]) => {{
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

    def __init__(self, seconds: float = TEST_S) -> None:
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
class Session:
    """A notebook's session on JupyterLab, and the kernel the test started for it."""

    notebook: str
    id: str
    kernel_id: str


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

    def start_session(self, notebook: str) -> Session:
        """Create the notebook's session and its kernel over REST; the page will connect to it."""
        body = {"path": notebook, "type": "notebook", "name": "", "kernel": {"name": KERNEL_NAME}}
        session = self.api("POST", "/api/sessions", body)
        return Session(notebook, str(session["id"]), str(session["kernel"]["id"]))

    def run_notebook(
        self, page: Page, session: Session, deadline: Deadline, *, workspace: str | None = None
    ) -> list[int]:
        """Open the notebook in ``page`` on its session's kernel, Run All, wait until all ran.

        Returns the code cells' execution counts, in notebook order.
        """
        _open_notebook(page, self, session, deadline, workspace)
        return _run_all_cells(page, session, deadline)

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


@pytest.fixture(scope="module", autouse=True)
def chromium() -> None:
    """Skip a module without Debian's Chromium, before its JupyterLab starts (fail under CI)."""
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail("Chromium is missing; .ci/run installs Debian's chromium package")
        pytest.skip("needs Debian's chromium package (apt-get install chromium)")


@pytest.fixture
def deadline() -> Deadline:
    """The test's time, ``TEST_S`` from its start (a module may make its own ``Deadline``)."""
    return Deadline()


def _write_settings(folder: Path, *, theme: str | None = None) -> None:
    """Render every cell (no windowing), fetch no news, and use ``theme`` if given.

    The kernel is started by the test; the automatic start only keeps a kernel-choice
    dialog away if something else asked JupyterLab for one.
    """
    settings: dict[str, dict[str, object]] = {
        "notebook-extension/tracker": {"autoStartDefaultKernel": True, "windowingMode": "none"},
        "apputils-extension/notification": {"fetchNews": "false", "checkForUpdates": False},
    }
    if theme is not None:
        settings["apputils-extension/themes"] = {"theme": theme}
    for name, values in settings.items():
        plugin, file = name.split("/")
        path = folder / "@jupyterlab" / plugin / f"{file}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))


def _clear_outputs(path: Path) -> None:
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


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def lab_fixture(*cleared: str, theme: str | None = None) -> object:
    """A module-scoped ``lab`` fixture: JupyterLab serving notebooks/, ``cleared`` without outputs.

    Use it as ``lab = lab_fixture(NOTEBOOK)``; ``theme`` names a JupyterLab theme.
    """

    @pytest.fixture(scope="module", name="lab")
    def serve(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
        yield from _serve(tmp_path_factory.mktemp("lab"), cleared, theme)

    return serve


def _serve(root: Path, cleared: tuple[str, ...], theme: str | None) -> Iterator[Lab]:
    """JupyterLab on 127.0.0.1 serving a copy of notebooks/ (the repository stays clean).

    Its Jupyter and IPython directories are its own, so that no workspace, trust database
    or history is shared with another JupyterLab running on this machine.
    """
    shutil.copytree(ROOT / "notebooks", root / "notebooks")
    for name in cleared:
        _clear_outputs(root / "notebooks" / name)
    _write_settings(root / "settings", theme=theme)
    port = _free_port()
    lab = Lab(f"http://127.0.0.1:{port}", root / "lab.log")
    with lab.log.open("w") as log:
        server = _start_server(root, port, log)
        try:
            _wait_until_serving(lab, server)
            yield lab
        finally:
            server.terminate()
            try:
                server.wait(timeout=SHUTDOWN_S)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()


def _start_server(root: Path, port: int, log: IO[str]) -> subprocess.Popen[bytes]:
    env = os.environ | {
        "JUPYTER_CONFIG_DIR": str(root / "config"),
        "JUPYTER_DATA_DIR": str(root / "data"),
        "JUPYTER_RUNTIME_DIR": str(root / "runtime"),
        "IPYTHONDIR": str(root / "ipython"),
    }
    command = [
        *(sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root"),
        "--ip=127.0.0.1",
        f"--port={port}",
        "--ServerApp.port_retries=0",  # never serve on another port than ours
        f"--IdentityProvider.token={TOKEN}",
        f"--ServerApp.root_dir={root / 'notebooks'}",
        f"--LabApp.user_settings_dir={root / 'settings'}",
        f"--LabApp.workspaces_dir={root / 'workspaces'}",
        "--LabApp.expose_app_in_browser=True",
        "--LabServerApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
    ]
    return subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)


def _wait_until_serving(lab: Lab, server: subprocess.Popen[bytes]) -> None:
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


@contextlib.contextmanager
def chromium_browser(deadline: Deadline) -> Iterator[Browser]:
    """Headless Chromium, closed on the way out (test-artifacts/ is made for screenshots)."""
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, timeout=deadline.ms()
        )
        try:
            yield browser
        finally:
            browser.close()


@contextlib.contextmanager
def browser_page(deadline: Deadline, *, width: int, height: int, last: str) -> Iterator[Page]:
    """A page in headless Chromium; pass or fail, a screenshot of it goes to ARTIFACTS / last."""
    with chromium_browser(deadline) as browser:
        page = browser.new_page(viewport={"width": width, "height": height})
        try:
            yield page
        finally:
            with contextlib.suppress(PlaywrightError):  # a picture for the failure, if any
                page.screenshot(path=ARTIFACTS / last, full_page=True)


def _open_notebook(
    page: Page, lab: Lab, session: Session, deadline: Deadline, workspace: str | None
) -> None:
    """Open the notebook and wait until its kernel connection is ours, connected and idle."""
    where = "/lab" if workspace is None else f"/lab/workspaces/{workspace}"
    url = f"{lab.url}{where}/tree/{session.notebook}?token={TOKEN}"
    page.goto(url, timeout=deadline.ms())
    ready = page.wait_for_function(
        _KERNEL_READY_JS,
        arg=[session.notebook, session.kernel_id],
        polling=100,
        timeout=deadline.ms(),
    )
    assert ready.json_value() == session.kernel_id, (
        f"{session.notebook}: not on the kernel the test started"
    )


def _run_all_cells(page: Page, session: Session, deadline: Deadline) -> list[int]:
    """Run > Run All Cells once; wait until every code cell ran, none raised, the kernel idles."""
    page.locator(".lm-MenuBar-itemLabel").get_by_text("Run", exact=True).click(
        timeout=deadline.ms()
    )
    # exact: the menus also hold "Restart Kernel and Run All Cells…", which asks first
    page.locator(".lm-Menu-itemLabel").get_by_text("Run All Cells", exact=True).click(
        timeout=deadline.ms()
    )
    state = page.wait_for_function(
        _RUN_STATE_JS,
        arg=[session.notebook, session.kernel_id],
        polling=100,
        timeout=deadline.ms(),
    ).json_value()
    assert "problem" not in state, f"{session.notebook}: {state['problem']}"
    return [int(count) for count in state["counts"]]


def current_states(diagram: Locator) -> Locator:
    """The labels of the diagram's nodes filled as current (a locator, so expect retries)."""
    fill = f"[fill='{CURRENT_FILL}']"
    shape = diagram.page.locator(f"path{fill}, polygon{fill}, ellipse{fill}")
    return diagram.locator("g.node").filter(has=shape).locator("text")


def walk_player(
    page: Page, total: int, stops: list[tuple[int, list[str]]], deadline: Deadline
) -> Locator:
    """Check the last HistoryPlayer at each ``(step, states filled)`` stop, moving back to it.

    The player starts at its last step, ``total``; its slider moves back with the keyboard.
    Returns the player, for a screenshot.
    """
    player = page.locator(".descartes-nb-history-player").last
    entry = player.locator(".descartes-nb-entry")
    diagram = player.locator(".descartes-nb-diagram")
    step = total
    for stop, states in stops:
        if stop < step:
            player.locator(".noUi-handle").first.focus(timeout=deadline.ms())
            for _ in range(step - stop):
                page.keyboard.press("ArrowLeft")
            step = stop
        expect(entry).to_contain_text(f"Step {stop} of {total}", timeout=deadline.ms())
        expect(current_states(diagram)).to_have_text(states, timeout=deadline.ms())
    return player
