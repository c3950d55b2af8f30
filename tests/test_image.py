"""The pi-gen stage (image/stage-callbox), checked here without pi-gen: pi-gen needs root,
debootstrap, qemu and ~20 GB. Its shell scripts are linted (shellcheck when installed, else
`bash -n`), the host-side script is run into a scratch root, and every path the service and
the scripts rely on is checked to exist (README.md, "Flashing the image and first boot")."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests import peers

ROOT = Path(__file__).resolve().parent.parent
IMAGE = ROOT / "image"
STAGE = IMAGE / "stage-callbox"
SUB = STAGE / "00-callbox"
FILES = SUB / "files"
BOOKWORM_CMDLINE = ("console=serial0,115200 console=tty1 root=ROOTDEV rootfstype=ext4 "
                    "fsck.repair=yes rootwait quiet init=/usr/lib/raspberrypi-sys-mods/firstboot\n")

SCRIPTS = {   # script: shell it is written for
    STAGE / "prerun.sh": "bash",
    STAGE / "EXPORT_IMAGE": "bash",
    SUB / "01-run.sh": "bash",
    SUB / "01-run-chroot.sh": "bash",
    FILES / "callbox-readonly-root": "sh",
    IMAGE / "pi-gen.config": "bash",
}


def test_stage_layout():
    # pi-gen runs NN-run.sh only when executable, feeds NN-run-chroot.sh to bash in the chroot,
    # installs NN-packages with apt, and exports stages holding EXPORT_IMAGE.
    assert os.access(STAGE / "prerun.sh", os.X_OK)
    assert os.access(SUB / "01-run.sh", os.X_OK)
    assert os.access(FILES / "callbox-readonly-root", os.X_OK)
    assert 'IMG_SUFFIX="-callbox"' in (STAGE / "EXPORT_IMAGE").read_text()
    packages = (SUB / "00-packages").read_text().split()
    assert {"python3", "python3-venv", "python3-lgpio", "overlayroot"} <= set(packages)
    assert "copy_previous" in (STAGE / "prerun.sh").read_text()


@pytest.mark.parametrize("script", sorted(SCRIPTS), ids=lambda p: p.name)
def test_shell_scripts_lint(script):
    shell = SCRIPTS[script]
    if shutil.which("shellcheck"):
        command = ["shellcheck", "-s", shell, "-e", "SC2154", str(script)]   # pi-gen's vars
    else:
        command = [shell, "-n", str(script)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stdout + result.stderr


def run_host_script(tmp_path: Path, readonly: bool) -> Path:
    """Run 01-run.sh as pi-gen would (from its folder, ROOTFS_DIR set) into a scratch root."""
    rootfs, dist = tmp_path / "rootfs", tmp_path / "dist"
    (rootfs / "boot/firmware").mkdir(parents=True)
    (rootfs / "boot/firmware/cmdline.txt").write_text(BOOKWORM_CMDLINE)
    dist.mkdir()
    (dist / "callbox-0.1.0-py3-none-any.whl").write_bytes(b"PK")
    env = {"PATH": os.environ["PATH"], "ROOTFS_DIR": str(rootfs), "CALLBOX_DIST": str(dist),
           "CALLBOX_READONLY_ROOT": "1" if readonly else "0"}
    result = subprocess.run(["./01-run.sh"], cwd=SUB, env=env, capture_output=True, text=True,
                            timeout=30)
    assert result.returncode == 0, result.stderr
    return rootfs


def mode(path: Path) -> int:
    return path.stat().st_mode & 0o7777


def test_host_script_copies_the_box_in(tmp_path):
    rootfs = run_host_script(tmp_path, readonly=False)
    assert (rootfs / "opt/callbox/dist/callbox-0.1.0-py3-none-any.whl").is_file()
    assert (rootfs / "opt/callbox/requirements.lock").read_text() == \
        (IMAGE / "requirements.lock").read_text()
    unit = rootfs / "etc/systemd/system/callbox.service"
    assert unit.read_text() == (ROOT / "systemd/callbox.service").read_text()
    assert (rootfs / "etc/systemd/system/callbox-retry.service").is_file()
    assert (rootfs / "usr/lib/sysusers.d/callbox.conf").is_file()
    assert (rootfs / "usr/lib/tmpfiles.d/callbox.conf").is_file()
    config = rootfs / "etc/callbox/callbox.toml"
    assert mode(config) == 0o600
    assert "Storage=volatile" in \
        (rootfs / "etc/systemd/journald.conf.d/50-callbox-volatile.conf").read_text()
    assert not (rootfs / "usr/local/sbin/callbox-readonly-root").exists()
    assert (rootfs / "boot/firmware/cmdline.txt").read_text() == BOOKWORM_CMDLINE


def test_host_script_read_only_root_option(tmp_path):
    rootfs = run_host_script(tmp_path, readonly=True)
    script = rootfs / "usr/local/sbin/callbox-readonly-root"
    assert mode(script) == 0o755
    unit = (rootfs / "etc/systemd/system/callbox-readonly-root.service").read_text()
    assert "ExecStart=/usr/local/sbin/callbox-readonly-root" in unit
    assert "Before=callbox.service" in unit
    cmdline = (rootfs / "boot/firmware/cmdline.txt").read_text()
    assert "init=" not in cmdline and "resize" not in cmdline   # the root keeps its size
    assert cmdline.startswith("console=serial0,115200") and "rootwait quiet" in cmdline
    text = script.read_text()
    assert "raspi-config nonint do_overlayfs 0" in text
    assert "LABEL=${LABEL}  ${DATA}  ext4" in text and "bind," in text


def test_host_script_needs_the_wheel(tmp_path):
    env = {"PATH": os.environ["PATH"], "ROOTFS_DIR": str(tmp_path / "rootfs"),
           "CALLBOX_DIST": str(tmp_path)}
    result = subprocess.run(["./01-run.sh"], cwd=SUB, env=env, capture_output=True, text=True,
                            timeout=30)
    assert result.returncode == 1 and "make image" in result.stderr


def test_chroot_script_makes_what_the_unit_runs():
    chroot = (SUB / "01-run-chroot.sh").read_text()
    unit = (ROOT / "systemd/callbox.service").read_text()
    program = re.search(r"^ExecStart=(\S+)", unit, re.M).group(1)
    venv = program.removesuffix("/bin/callbox")
    assert f"python3 -m venv --system-site-packages {venv}" in chroot
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["callbox"] == "firmware.cli:main"       # what the venv puts in bin/callbox
    assert "--only-binary=:all:" in chroot and "-r /opt/callbox/requirements.lock" in chroot
    assert "systemd-sysusers /usr/lib/sysusers.d/callbox.conf" in chroot
    assert "systemctl enable callbox.service" in chroot
    assert f"{program} check-config /etc/callbox/callbox.toml" in chroot
    assert "passwd --lock root" in chroot
    assert "User=callbox" in unit and re.search(r"^u callbox ",
                                                (ROOT / "systemd/callbox.sysusers").read_text(),
                                                re.M)


def test_lock_pins_every_dependency():
    lines = [line for line in (IMAGE / "requirements.lock").read_text().splitlines()
             if line and not line.startswith("#")]
    pinned = {}
    for line in lines:
        name, sep, version = line.partition("==")
        assert sep and re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", name) and version, line
        pinned[canonicalize_name(name)] = version
    assert len(pinned) == len(lines)
    for text in tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]:
        req = Requirement(text)
        version = pinned.get(canonicalize_name(req.name))
        assert version is not None, f"{req.name} not in image/requirements.lock: " \
                                    "run python image/lock.py > image/requirements.lock"
        assert req.specifier.contains(version, prereleases=True), f"{req.name}=={version}: {req}"
    test_tools = {"pytest", "hypothesis", "playwright", "pyvoip", "time-machine"}
    assert not test_tools & set(pinned)   # test tools stay out


def test_pi_gen_config_has_no_default_login():
    config = (IMAGE / "pi-gen.config").read_text()
    assert re.search(r"^ENABLE_SSH=0$", config, re.M)
    assert "FIRST_USER_PASS" not in config
    assert "image/stage-callbox" in config and "export CALLBOX_READONLY_ROOT" in config


@peers.needs(bool(shutil.which("make")), "make is not installed")
def test_make_image_explains_what_it_needs():
    result = subprocess.run(["make", "-s", "image", "PIGEN_DIR="], cwd=ROOT,
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 2
    assert "pi-gen" in result.stdout and "PIGEN_DIR" in result.stdout


def test_the_box_never_imports_its_test_phone():
    """pyVoIP is a test phone (a test extra), not part of the firmware the image installs."""
    for path in (ROOT / "firmware").rglob("*.py"):
        assert not re.search(r"^\s*(import|from)\s+pyVoIP\b", path.read_text(), re.M | re.I), path
