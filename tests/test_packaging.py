"""The built wheel installs into a clean virtual environment, imports and carries its data."""

from __future__ import annotations

import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("build", reason="the 'build' package (dev extra) builds the wheel")
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "build", "--sdist", "--wheel", "--outdir", str(out), str(ROOT)],
        check=True,
        capture_output=True,
        timeout=600,
    )
    (whl,) = out.glob("customer_value-*.whl")
    return whl


@pytest.mark.slow
def test_twine_check_passes(wheel: Path) -> None:
    pytest.importorskip("twine", reason="twine (dev extra) checks the distribution metadata")
    dists = sorted(str(p) for p in wheel.parent.iterdir())
    assert any(d.endswith(".tar.gz") for d in dists), dists
    result = subprocess.run(
        [sys.executable, "-m", "twine", "check", "--strict", *dists],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.slow
def test_wheel_installs_imports_and_has_datasets(wheel: Path, tmp_path: Path) -> None:
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    # The run-time dependencies come from this environment (no network needed);
    # customer_value itself only from the wheel.
    purelib = sysconfig.get_paths()["purelib"]
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    (Path(site) / "deps.pth").write_text(purelib + "\n")
    subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--no-deps", str(wheel)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    code = (
        f"import customer_value, customer_value.datasets as d;"
        f"assert str(customer_value.__file__).startswith({site!r}), customer_value.__file__;"
        "assert len(d.load_cdnow_transactions()) == 6919;"
        "assert len(d.load_cdnow_transactions(sample=False)) == 69659;"
        "assert len(d.load_cdnow_summary()) == 2357;"
        "assert int(d.load_donations()['weights'].sum()) == 11104;"
        "print(customer_value.__version__)"
    )
    result = subprocess.run(
        [str(python), "-c", code], capture_output=True, text=True, cwd=tmp_path, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip()
    quick = subprocess.run(
        [str(python), str(ROOT / "examples" / "quickstart.py")],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )
    assert quick.returncode == 0, quick.stderr
