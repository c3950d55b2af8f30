#!/bin/bash -e
# pi-gen, inside the image (fed to bash in the chroot after 01-run.sh): the user, the
# virtualenv with pinned wheels, the service. Nothing here listens with a default password.

# The box's user (no password, no shell) and its folders with owner and mode.
systemd-sysusers /usr/lib/sysusers.d/callbox.conf
systemd-tmpfiles --create /usr/lib/tmpfiles.d/callbox.conf
chown callbox:callbox /etc/callbox/callbox.toml
chmod 600 /etc/callbox/callbox.toml

# A virtualenv with exactly the versions of image/requirements.lock, as wheels only (no
# compiler in the image; piwheels builds them for the Pi). It sees the system's packages for
# python3-lgpio, gpiozero's pin factory on Raspberry Pi OS; the pinned ones come first.
python3 -m venv --system-site-packages /opt/callbox/venv
/opt/callbox/venv/bin/pip install --no-cache-dir --disable-pip-version-check \
	--only-binary=:all: --ignore-installed \
	--extra-index-url https://www.piwheels.org/simple \
	-r /opt/callbox/requirements.lock
/opt/callbox/venv/bin/pip install --no-cache-dir --disable-pip-version-check --no-deps \
	/opt/callbox/dist/callbox-*.whl
/opt/callbox/venv/bin/callbox check-config /etc/callbox/callbox.toml

systemctl enable callbox.service
# Read-only root (CALLBOX_READONLY_ROOT=1: 01-run.sh installed the first-boot unit).
if [ -e /etc/systemd/system/callbox-readonly-root.service ]; then
	systemctl enable callbox-readonly-root.service
fi

# Logs in RAM (journald.conf.d/50-callbox-volatile.conf): no syslog copy on the card either.
if systemctl list-unit-files rsyslog.service > /dev/null 2>&1; then
	systemctl disable rsyslog.service
fi
# No swap file on the SD card.
if systemctl list-unit-files dphys-swapfile.service > /dev/null 2>&1; then
	systemctl disable dphys-swapfile.service
fi

# No way in with a default password: root is locked (pi-gen's first user has no password
# unless FIRST_USER_PASS is set, and SSH stays off unless ENABLE_SSH=1).
passwd --lock root
