#!/bin/bash
# Runs inside the test VM (see initramfs-init): executes the command the host
# wrote to /run/results/cmd with the real Debian userland.
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root
cd /run/results || exit 1
eval "$(cat cmd)"
