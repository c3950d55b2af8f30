#!/bin/bash -e
# pi-gen, on the build host: copy the box into the image. pi-gen runs this from its own folder
# with ROOTFS_DIR set; 01-run-chroot.sh then installs it inside the image.
#
# CALLBOX_DIST      folder holding the callbox wheel (make image builds it in build/image)
# CALLBOX_READONLY_ROOT=1   read-only root file system, data on its own partition (README.md)

REPO="$(cd ../../.. && pwd)"
DIST="${CALLBOX_DIST:-${REPO}/build/image}"
WHEEL="$(find "${DIST}" -maxdepth 1 -name 'callbox-*.whl' | sort | tail -n 1)"
if [ -z "${WHEEL}" ]; then
	echo "01-run.sh: no callbox wheel in ${DIST}; build the image with make image" >&2
	exit 1
fi

# The box: its wheel and the pinned versions of everything it needs.
install -d -m 755 "${ROOTFS_DIR}/opt/callbox/dist"
install -m 644 "${WHEEL}" "${ROOTFS_DIR}/opt/callbox/dist/"
install -m 644 "${REPO}/image/requirements.lock" "${ROOTFS_DIR}/opt/callbox/requirements.lock"

# The service, its user and its folders (systemd/).
install -D -m 644 "${REPO}/systemd/callbox.service" "${ROOTFS_DIR}/etc/systemd/system/callbox.service"
install -D -m 644 "${REPO}/systemd/callbox-retry.service" "${ROOTFS_DIR}/etc/systemd/system/callbox-retry.service"
install -D -m 644 "${REPO}/systemd/callbox.sysusers" "${ROOTFS_DIR}/usr/lib/sysusers.d/callbox.conf"
install -D -m 644 "${REPO}/systemd/callbox.tmpfiles" "${ROOTFS_DIR}/usr/lib/tmpfiles.d/callbox.conf"

# The default prompts (make prompts: espeak-ng at build time); without them the box plays tones.
if [ -d "${REPO}/build/prompts" ]; then
	install -d -m 755 "${ROOTFS_DIR}/usr/share/callbox/prompts"
	cp -r "${REPO}/build/prompts/." "${ROOTFS_DIR}/usr/share/callbox/prompts/"
fi

# The config the panel's first-boot page starts from (owner set in 01-run-chroot.sh).
install -D -m 600 files/callbox.toml "${ROOTFS_DIR}/etc/callbox/callbox.toml"

# Logs in RAM: journald keeps them in /run only, so the SD card is not worn by logging.
install -D -m 644 files/journald-volatile.conf "${ROOTFS_DIR}/etc/systemd/journald.conf.d/50-callbox-volatile.conf"

if [ "${CALLBOX_READONLY_ROOT:-0}" = "1" ]; then
	install -D -m 755 files/callbox-readonly-root "${ROOTFS_DIR}/usr/local/sbin/callbox-readonly-root"
	install -D -m 644 files/callbox-readonly-root.service "${ROOTFS_DIR}/etc/systemd/system/callbox-readonly-root.service"
	# Keep the root partition at its built size: the data partition takes the rest of the
	# card on first boot. (bookworm grows the root in init=.../firstboot, trixie in "resize".)
	sed -i -e 's# init=/usr/lib/raspberrypi-sys-mods/firstboot##' -e 's# resize\b##' \
		"${ROOTFS_DIR}/boot/firmware/cmdline.txt"
fi
