"""Running the nlk CLI from the interop tests: where it is, a bounded run, clear failures."""

from __future__ import annotations

import os
import shlex
import subprocess
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
# One CLI call on a table of a few hundred rows should take well under a second; the bound only
# turns a hang into a clear failure.
DEFAULT_TIMEOUT = float(os.environ.get("NLK_TIMEOUT", "120"))


class NlkError(AssertionError):
    pass


def nlk_path() -> Path:
    """$NLK_BIN, else build/tools/nlk under the repository root."""
    env = os.environ.get("NLK_BIN")
    path = Path(env) if env else REPO_ROOT / "build" / "tools" / "nlk"
    if not path.is_absolute():
        path = REPO_ROOT / path
    return path


def missing_reason() -> str | None:
    path = nlk_path()
    if not path.exists():
        return (f"nlk CLI not found at {path}: build it (cmake --build build --target nlk) "
                "or point NLK_BIN at it")
    if not os.access(path, os.X_OK) or path.is_dir():
        return f"nlk CLI at {path} is not an executable file"
    return None


def run_nlk(*args, check: bool | None = True, timeout: float | None = None, env: dict | None = None,
            cwd: str | os.PathLike | None = None) -> subprocess.CompletedProcess:
    """Run `nlk ARGS...`, capture text output. check=True: fail unless exit 0; check=False: fail
    unless exit non-zero; check=None: no assertion. A run longer than `timeout` fails (no hang)."""
    reason = missing_reason()
    if reason:
        raise NlkError(reason)
    cmd = [str(nlk_path()), *map(str, args)]
    full_env = dict(os.environ)
    if env:
        full_env.update(env)
    shown = shlex.join(cmd)
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout or DEFAULT_TIMEOUT,
                              env=full_env, cwd=cwd, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as e:
        raise NlkError(f"`{shown}` did not finish within {e.timeout:.0f}s (killed); "
                       f"stderr so far: {(e.stderr or b'')[-2000:]!r}") from None
    if check is True and proc.returncode != 0:
        raise NlkError(f"`{shown}` exited {proc.returncode}\nstderr: {proc.stderr[-4000:]}"
                       f"\nstdout: {proc.stdout[-1000:]}")
    if check is False and proc.returncode == 0:
        raise NlkError(f"`{shown}` exited 0 but was expected to fail\nstdout: {proc.stdout[-1000:]}")
    return proc
