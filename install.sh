#!/usr/bin/env bash
# avcare installer for Debian/Ubuntu classroom PCs. `bash install.sh --help` explains it.
#
# What it sets up (each step is skipped when already done, so running it again upgrades in place):
#   Node.js >= 20.19, usbutils, alsa-utils, v4l-utils, ffmpeg, the usb.ids database;
#   a system user `avcare`; the avcare package (global npm install, so `avcare-agent` is on PATH);
#   a udev rule for USB device access; /etc/avcare/agent.json (never overwritten); /var/lib/avcare;
#   with --cloud and --token, the PC's enrollment (`avcare-agent enroll`, as the avcare user, so
#   its credentials stay readable by that user only); the systemd unit avcare-agent.service,
#   enabled and (re)started.
#
# How avcare itself is installed: from a clone, `npm ci` then `npm pack` turn the source into the
# same tarball a release would be, and `npm install -g <tarball>` installs it with production
# dependencies only. With --from-npm the package comes from the npm registry instead. Both end in
# `npm root -g`/avcare, so an upgrade or --uninstall works the same whichever way it came.
set -euo pipefail

readonly MIN_NODE_VERSION=20.19.0 # package.json "engines"
readonly SERVICE_USER=avcare
readonly PACKAGE_NAME=avcare
readonly UNIT_NAME=avcare-agent.service
# input: /dev/input/event* of a touch panel, read only to count touches (never their positions).
readonly SERVICE_GROUPS=(dialout video audio plugdev input) # serial, cameras, sound, removable devices, touch panels
# ffmpeg plays and records the A/V sync test's flash and beep in the room (ffplay on the display, ffmpeg from the camera and microphone).
# libnotify-bin: notify-send, for the desktop notice of a remote session request (avcare-agent consent watch --notify).
readonly SYSTEM_PACKAGES=(usbutils alsa-utils v4l-utils ffmpeg libnotify-bin)
readonly USB_IDS_FILES=(/usr/share/misc/usb.ids /usr/share/hwdata/usb.ids /var/lib/usbutils/usb.ids)

# Live paths, as the running agent and systemd see them.
readonly CONFIG_PATH=/etc/avcare/agent.json
readonly CLOUD_CA_PATH=/etc/avcare/cloud-ca.pem
readonly STATE_PATH=/var/lib/avcare

# AVCARE_ROOT prefixes every file and directory this script writes, reads back or removes
# (config, state dir, udev rule, unit). Tests point it at a temporary directory; commands such as
# useradd and systemctl still act on the live system, so it is not a staging DESTDIR.
readonly ROOT="${AVCARE_ROOT:-}"
readonly CONFIG_DIR_FILE="$ROOT/etc/avcare"
readonly CONFIG_FILE="$ROOT$CONFIG_PATH"
readonly CLOUD_CA_FILE="$ROOT$CLOUD_CA_PATH"
readonly STATE_DIR="$ROOT$STATE_PATH"
readonly UDEV_RULE_FILE="$ROOT/etc/udev/rules.d/60-avcare.rules"
readonly UNIT_FILE="$ROOT/etc/systemd/system/$UNIT_NAME"
# Started in each desktop session, as the person logged in: only their own session can show them a notification.
readonly AUTOSTART_FILE="$ROOT/etc/xdg/autostart/avcare-consent-watch.desktop"

SOURCE_DIR="$(cd "$(dirname "${BASH_SOURCE[0]:-.}")" && pwd)"
readonly SOURCE_DIR
readonly ORIGINAL_ARGS=("$@")

DRY_RUN=0
ASSUME_YES=0
ACTION=install
PURGE=0
FROM_NPM=0
NPM_VERSION=latest
SCHOOL_ID=""
ROOM_ID=""
CLOUD_URL=""
ENROLL_TOKEN=""
CA_FILE=""
INSECURE_PLAINTEXT=0

NODE_BIN=""
NPM_BIN=""
NPM_ROOT=""
APT_UPDATED=0
PACK_DIR=""

usage() {
  cat <<'EOF'
Usage: sudo bash install.sh [options]

Installs the avcare agent as a systemd service on a Debian or Ubuntu classroom PC.
Run it again to upgrade; your /etc/avcare/agent.json is never overwritten.

Options:
  --cloud URL          the avcare cloud this PC reports to, e.g. https://avcare.example.edu.cn
  --token TOKEN        the enrollment token a school admin created (avcare-cloud enroll-tokens
                       create); with --cloud, the PC enrolls and gets its own credentials
  --ca FILE            the cloud's CA certificate (PEM), when it is not in the system's store;
                       copied to /etc/avcare/cloud-ca.pem
  --insecure-plaintext allow an http:// --cloud on another machine (the token crosses the
                       network in clear; trusted networks only)
  --school ID          schoolId for a new /etc/avcare/agent.json (without --cloud)
  --room ID            the room of this PC (defaults to the token's room, or the host name)
  --from-npm [VERSION] install avcare from the npm registry (default: latest) instead of
                       from the source tree this script sits in
  --yes, -y            answer yes to questions (installing Node.js from apt)
  --dry-run            print every command and file the script would run or write; change nothing
                       (works without root)
  --uninstall          remove the service, the udev rule, the package and the avcare user;
                       keeps /etc/avcare and /var/lib/avcare
  --purge              with --uninstall: also delete /etc/avcare and /var/lib/avcare
  -h, --help           show this help

Environment:
  AVCARE_ROOT          prefix for the files the script writes (for tests and image builds)

Example: sudo bash install.sh --cloud https://avcare.example.edu.cn --token avc_et_... --room r101

After installing: edit /etc/avcare/agent.json (serial ports, projectors), check with
`avcare-agent doctor` and watch the log with `journalctl -u avcare-agent -f`.
EOF
}

say() { printf 'avcare: %s\n' "$*"; }
note() { printf 'avcare: note: %s\n' "$*"; }
warn() { printf 'avcare: warning: %s\n' "$*" >&2; }
die() {
  printf 'avcare: error: %s\n' "$*" >&2
  exit 1
}
usage_error() {
  printf 'install.sh: %s (see bash install.sh --help)\n' "$*" >&2
  exit 2
}

# Prints the command; runs it unless this is a dry run. %q keeps the printed line copy-pasteable.
run() {
  if [ "$DRY_RUN" = 1 ]; then
    printf '[dry-run] would run:'
  else
    printf '+'
  fi
  printf ' %q' "$@"
  printf '\n'
  if [ "$DRY_RUN" = 0 ]; then
    "$@"
  fi
}

# write_file MODE OWNER:GROUP PATH, content on stdin. The new file replaces the old one with a
# rename, so udev and systemd never read a half-written file.
write_file() {
  local mode="$1" owner="$2" path="$3" content tmp
  content="$(cat)"
  if [ "$DRY_RUN" = 1 ]; then
    printf '[dry-run] would write %s (mode %s, owner %s):\n' "$path" "$mode" "$owner"
    printf '%s\n' "$content" | sed 's/^/    | /'
    return 0
  fi
  tmp="$(mktemp "$(dirname "$path")/.avcare-install.XXXXXX")"
  if ! { printf '%s\n' "$content" >"$tmp" && chmod "$mode" "$tmp" && chown "$owner" "$tmp" && mv -f "$tmp" "$path"; }; then
    rm -f "$tmp"
    die "could not write $path"
  fi
  say "wrote $path"
}

ensure_dir() {
  local mode="$1" owner="$2" path="$3"
  if [ -d "$path" ]; then
    return 0
  fi
  run install -d -m "$mode" -o "${owner%%:*}" -g "${owner##*:}" "$path"
}

remove_path() {
  local path="$1"
  if [ -e "$path" ] || [ -L "$path" ]; then
    run rm -rf -- "$path"
  else
    note "$path is not there; nothing to remove"
  fi
}

cleanup() {
  if [ -n "$PACK_DIR" ] && [ "$DRY_RUN" = 0 ]; then
    rm -rf -- "$PACK_DIR"
  fi
}
trap cleanup EXIT

# --- arguments ---------------------------------------------------------------------------------

is_topic_id() { [[ "$1" =~ ^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$ ]]; } # protocol/ids.ts topicIdSchema

parse_args() {
  while [ $# -gt 0 ]; do
    case "$1" in
      --dry-run) DRY_RUN=1 ;;
      --yes | -y) ASSUME_YES=1 ;;
      --uninstall) ACTION=uninstall ;;
      --purge) PURGE=1 ;;
      --from-npm)
        FROM_NPM=1
        if [ $# -gt 1 ] && [[ "$2" != -* ]]; then
          NPM_VERSION="$2"
          shift
        fi
        ;;
      --from-npm=*)
        FROM_NPM=1
        NPM_VERSION="${1#--from-npm=}"
        ;;
      --cloud | --token | --ca)
        if [ $# -lt 2 ] || [[ "$2" == -* ]]; then
          usage_error "option '$1' needs a value"
        fi
        case "$1" in
          --cloud) CLOUD_URL="$2" ;;
          --token) ENROLL_TOKEN="$2" ;;
          --ca) CA_FILE="$2" ;;
        esac
        shift
        ;;
      --insecure-plaintext) INSECURE_PLAINTEXT=1 ;;
      --school | --room)
        if [ $# -lt 2 ] || [[ "$2" == -* ]]; then
          usage_error "option '$1' needs a value"
        fi
        is_topic_id "$2" || usage_error "bad value for $1: '$2' (letters, digits, '.', '_' and '-', starting with a letter or digit, at most 64)"
        if [ "$1" = --school ]; then SCHOOL_ID="$2"; else ROOM_ID="$2"; fi
        shift
        ;;
      -h | --help)
        usage
        exit 0
        ;;
      *) usage_error "unknown option '$1'" ;;
    esac
    shift
  done
  if [[ ! "$NPM_VERSION" =~ ^[A-Za-z0-9][A-Za-z0-9.+-]*$ ]]; then
    usage_error "bad version for --from-npm: '$NPM_VERSION'"
  fi
  if [ "$PURGE" = 1 ] && [ "$ACTION" != uninstall ]; then
    usage_error "--purge only goes with --uninstall"
  fi
  if [ "$ACTION" = uninstall ] && { [ -n "$SCHOOL_ID" ] || [ -n "$ROOM_ID" ] || [ "$FROM_NPM" = 1 ] || [ -n "$CLOUD_URL" ] || [ -n "$ENROLL_TOKEN" ]; }; then
    usage_error "--school, --room, --cloud, --token and --from-npm do not go with --uninstall"
  fi
  if [ -n "$CLOUD_URL" ] && [ -z "$ENROLL_TOKEN" ]; then usage_error "--cloud needs --token (the enrollment token a school admin created)"; fi
  if [ -n "$ENROLL_TOKEN" ] && [ -z "$CLOUD_URL" ]; then usage_error "--token needs --cloud (the cloud's address)"; fi
  if [ -n "$CLOUD_URL" ] && [[ ! "$CLOUD_URL" =~ ^https?://[^[:space:]/]+/?$ ]]; then
    usage_error "bad value for --cloud: '$CLOUD_URL' (https://HOST[:PORT], e.g. https://avcare.example.edu.cn)"
  fi
  if [ -n "$ENROLL_TOKEN" ] && [[ ! "$ENROLL_TOKEN" =~ ^[A-Za-z0-9_-]{10,200}$ ]]; then
    usage_error "bad value for --token (copy it exactly as 'avcare-cloud enroll-tokens create' printed it)"
  fi
  if [ -n "$CA_FILE" ] && [ -z "$CLOUD_URL" ]; then usage_error "--ca goes with --cloud"; fi
  if [ -n "$SCHOOL_ID" ] && [ -n "$CLOUD_URL" ]; then usage_error "--school does not go with --cloud: the enrollment token names the school"; fi
}

# --- privileges --------------------------------------------------------------------------------

require_root() {
  if [ "$DRY_RUN" = 1 ]; then
    say "dry run: printing every action, changing nothing (running as $(id -un))"
    return 0
  fi
  if [ "$(id -u)" = 0 ]; then
    return 0
  fi
  # A script piped into bash has no file to re-run.
  if command -v sudo >/dev/null 2>&1 && [ -f "${BASH_SOURCE[0]:-}" ]; then
    say "root is needed to install a service; re-running with sudo"
    exec sudo -- bash "${BASH_SOURCE[0]}" "${ORIGINAL_ARGS[@]}"
  fi
  die "root is needed to install a service: run it as root, e.g. 'su -c \"bash install.sh\"' or 'sudo bash install.sh'"
}

# --- Node.js -----------------------------------------------------------------------------------

version_at_least() { # version_at_least HAVE NEED
  [ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | head -n 1)" = "$2" ]
}

# The upstream part of the version apt would install ("1:20.20.2-1nodesource1" -> 20.20.2), or nothing.
apt_candidate_version() {
  apt-cache policy "$1" 2>/dev/null | awk '/Candidate:/ { print $2 }' | sed -e 's/^[0-9]*://' -e 's/[-+~].*$//' | grep -v '^(none)$' || true
}

apt_update_once() {
  if [ "$APT_UPDATED" = 0 ]; then
    run apt-get update -q
    APT_UPDATED=1
  fi
}

apt_install() {
  run env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@"
}

confirm() {
  local question="$1" answer
  if [ "$ASSUME_YES" = 1 ]; then
    return 0
  fi
  if [ "$DRY_RUN" = 1 ]; then
    say "would ask: $question [y/N] (--yes answers it)"
    return 0
  fi
  if [ ! -t 0 ]; then
    die "$question -- stdin is not a terminal, so install.sh cannot ask. Re-run with --yes to accept, or install Node.js >= $MIN_NODE_VERSION yourself."
  fi
  read -r -p "avcare: $question [y/N] " answer
  case "$answer" in
    y | Y | yes | YES) return 0 ;;
    *) die "Node.js was not installed; avcare needs Node.js >= $MIN_NODE_VERSION" ;;
  esac
}

installed_node_version() {
  if command -v node >/dev/null 2>&1; then
    node --version 2>/dev/null | sed 's/^v//'
  fi
}

install_node_from_apt() {
  local problem="$1" candidate
  if ! command -v apt-get >/dev/null 2>&1; then
    die "$problem; this is not a Debian/Ubuntu system with apt-get: install Node.js >= $MIN_NODE_VERSION from https://nodejs.org and run install.sh again"
  fi
  candidate="$(apt_candidate_version nodejs)"
  if [ -z "$candidate" ] && [ "$DRY_RUN" = 0 ]; then
    apt_update_once
    candidate="$(apt_candidate_version nodejs)"
  fi
  if [ -z "$candidate" ]; then
    if [ "$DRY_RUN" = 1 ]; then
      warn "$problem, and apt does not know a nodejs package yet; a real run would run apt-get update and look again"
      return 0
    fi
    die "$problem, and apt offers no nodejs package: install Node.js >= $MIN_NODE_VERSION from https://nodejs.org or NodeSource"
  fi
  if ! version_at_least "$candidate" "$MIN_NODE_VERSION"; then
    # Debian 12 and Ubuntu 24.04 ship Node 18; Debian 13 ships Node 20.
    local message="$problem, and this release's nodejs package is $candidate, older than $MIN_NODE_VERSION. Install Node.js 20 or newer from NodeSource (https://github.com/nodesource/distributions) or https://nodejs.org, then run install.sh again."
    if [ "$DRY_RUN" = 1 ]; then
      warn "a real run would stop here: $message"
      return 0
    fi
    die "$message"
  fi
  confirm "$problem. Install Node.js $candidate with apt-get install nodejs?"
  apt_install nodejs
  # NodeSource's nodejs bundles npm and conflicts with Debian's npm package, so ask for npm only when it is still missing.
  if [ "$DRY_RUN" = 1 ] || ! command -v npm >/dev/null 2>&1; then
    if [ "$DRY_RUN" = 1 ]; then note "npm is installed next only when the nodejs package did not bring it"; fi
    apt_install npm
  fi
}

ensure_node() {
  local current problem
  current="$(installed_node_version)"
  if [ -n "$current" ] && version_at_least "$current" "$MIN_NODE_VERSION"; then
    say "Node.js $current found (avcare needs >= $MIN_NODE_VERSION)"
  else
    if [ -z "$current" ]; then
      problem="Node.js is not installed"
    else
      problem="Node.js $current is older than $MIN_NODE_VERSION"
    fi
    install_node_from_apt "$problem"
    current="$(installed_node_version)"
    if [ "$DRY_RUN" = 0 ] && { [ -z "$current" ] || ! version_at_least "$current" "$MIN_NODE_VERSION"; }; then
      die "Node.js is still missing or too old after installing (${current:-none}); install Node.js >= $MIN_NODE_VERSION yourself"
    fi
  fi
  NODE_BIN="$(command -v node 2>/dev/null || echo /usr/bin/node)"
  NPM_BIN="$(command -v npm 2>/dev/null || echo npm)"
  if command -v npm >/dev/null 2>&1; then
    NPM_ROOT="$(npm root -g)"
  else
    NPM_ROOT=/usr/local/lib/node_modules # Debian's npm uses the prefix /usr/local
    [ "$DRY_RUN" = 1 ] || die "npm is missing: install it (apt-get install npm) and run install.sh again"
  fi
  refuse_home_paths "Node.js at $NODE_BIN" "$(readlink -f "$NODE_BIN" 2>/dev/null || echo "$NODE_BIN")"
  refuse_home_paths "npm's global folder $NPM_ROOT" "$NPM_ROOT"
}

# The service runs as avcare with ProtectHome=yes, so it cannot reach a Node.js installed by nvm
# (or any other per-user installer) inside /root or /home.
refuse_home_paths() {
  local what="$1" path="$2"
  case "$path" in
    /root/* | /home/*)
      local message="$what lies inside a home directory (nvm?); the service cannot run it. Install a system-wide Node.js (apt, NodeSource) and run install.sh with it first on PATH."
      if [ "$DRY_RUN" = 1 ]; then warn "a real run would stop here: $message"; else die "$message"; fi
      ;;
  esac
}

# --- system packages ---------------------------------------------------------------------------

is_installed() {
  # shellcheck disable=SC2016 # ${Status} is dpkg-query's field name, not a shell expansion
  dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'
}

usb_ids_file() {
  local file
  for file in "${USB_IDS_FILES[@]}"; do
    if [ -f "$file" ]; then
      printf '%s\n' "$file"
      return 0
    fi
  done
}

install_system_packages() {
  if ! command -v apt-get >/dev/null 2>&1; then
    warn "apt-get not found (not Debian/Ubuntu?): install lsusb (usbutils), amixer (alsa-utils), v4l2-ctl (v4l-utils) and the usb.ids database yourself"
    return 0
  fi
  local missing=() package want_usb_ids=0
  for package in "${SYSTEM_PACKAGES[@]}"; do
    is_installed "$package" || missing+=("$package")
  done
  # Debian 12 and Ubuntu 22.04 moved the id database out of usbutils into its own package usb.ids;
  # older releases ship it inside usbutils.
  if ! is_installed usb.ids && [ -z "$(usb_ids_file)" ]; then
    want_usb_ids=1
  fi
  if [ "${#missing[@]}" = 0 ] && [ "$want_usb_ids" = 0 ]; then
    say "system packages present: ${SYSTEM_PACKAGES[*]}, usb.ids"
    return 0
  fi
  apt_update_once
  if [ "$want_usb_ids" = 1 ]; then
    if [ -n "$(apt_candidate_version usb.ids)" ] || [ "$DRY_RUN" = 1 ]; then
      missing+=(usb.ids)
    else
      note "this release has no usb.ids package; usbutils carries the id database"
    fi
  fi
  apt_install "${missing[@]}"
}

# --- service user ------------------------------------------------------------------------------

user_in_group() {
  id -nG "$1" 2>/dev/null | tr ' ' '\n' | grep -qx "$2"
}

ensure_service_user() {
  if getent passwd "$SERVICE_USER" >/dev/null; then
    say "system user $SERVICE_USER exists"
  elif getent group "$SERVICE_USER" >/dev/null; then
    # A group left from an earlier install: useradd --user-group would refuse to create it again.
    run useradd --system --gid "$SERVICE_USER" --home-dir "$STATE_PATH" --no-create-home --shell /usr/sbin/nologin --comment "avcare agent" "$SERVICE_USER"
  else
    run useradd --system --user-group --home-dir "$STATE_PATH" --no-create-home --shell /usr/sbin/nologin --comment "avcare agent" "$SERVICE_USER"
  fi
  local group
  for group in "${SERVICE_GROUPS[@]}"; do
    if ! getent group "$group" >/dev/null; then
      note "group $group does not exist on this system; skipped"
    elif ! user_in_group "$SERVICE_USER" "$group"; then
      run usermod -aG "$group" "$SERVICE_USER"
    fi
  done
}

# --- the avcare package ------------------------------------------------------------------------

is_source_tree() {
  # tsconfig.build.json is not in the npm package's "files": only a clone has it.
  [ -f "$SOURCE_DIR/package.json" ] && [ -f "$SOURCE_DIR/tsconfig.build.json" ] &&
    grep -q '"name": *"avcare"' "$SOURCE_DIR/package.json"
}

source_version() {
  sed -n 's/^ *"version": *"\([^"]*\)".*/\1/p' "$SOURCE_DIR/package.json" | head -n 1
}

# Builds as the owner of the clone: npm run as root would leave root-owned node_modules and dist
# behind in a teacher's own checkout.
run_as_source_owner() {
  local owner home
  owner="$(stat -c %U "$SOURCE_DIR")"
  if [ "$(id -u)" = 0 ] && [ "$owner" != root ] && command -v runuser >/dev/null 2>&1; then
    home="$(getent passwd "$owner" | cut -d: -f6)"
    run runuser -u "$owner" -- env -C "$SOURCE_DIR" HOME="$home" "$@"
  else
    run env -C "$SOURCE_DIR" "$@"
  fi
}

install_from_source() {
  local version tarball
  version="$(source_version)"
  say "installing avcare $version from the source tree $SOURCE_DIR"
  if [ "$DRY_RUN" = 1 ]; then
    PACK_DIR=/tmp/avcare-pack.XXXXXX
  else
    PACK_DIR="$(mktemp -d /tmp/avcare-pack.XXXXXX)"
    chown "$(stat -c %U:%G "$SOURCE_DIR")" "$PACK_DIR"
  fi
  # package.json "prepare" runs the TypeScript build during both npm ci and npm pack, so the
  # tarball always holds a dist/ built from this source.
  run_as_source_owner "$NPM_BIN" ci --no-audit --no-fund
  run_as_source_owner "$NPM_BIN" pack --pack-destination "$PACK_DIR"
  tarball="$PACK_DIR/$PACKAGE_NAME-$version.tgz"
  if [ "$DRY_RUN" = 0 ] && [ ! -f "$tarball" ]; then
    die "npm pack did not produce $tarball"
  fi
  run "$NPM_BIN" install -g --no-audit --no-fund "$tarball"
}

install_avcare_package() {
  if [ "$FROM_NPM" = 1 ]; then
    say "installing $PACKAGE_NAME@$NPM_VERSION from the npm registry"
    run "$NPM_BIN" install -g --no-audit --no-fund "$PACKAGE_NAME@$NPM_VERSION"
  elif is_source_tree; then
    install_from_source
  else
    die "install.sh is not inside an avcare source tree ($SOURCE_DIR): run it from a clone of the repository, or pass --from-npm [VERSION]"
  fi
  if [ "$DRY_RUN" = 0 ]; then
    [ -f "$(agent_entry)" ] || die "the package did not install $(agent_entry)"
    command -v avcare-agent >/dev/null 2>&1 ||
      warn "avcare-agent is not on PATH: add $(npm prefix -g)/bin to PATH (the service does not need it)"
  fi
}

agent_entry() { printf '%s/%s/dist/agent/cli.js\n' "$NPM_ROOT" "$PACKAGE_NAME"; }

# --- udev --------------------------------------------------------------------------------------

udev_rule() {
  cat <<'EOF'
# Installed by avcare install.sh: rewritten on upgrade, removed by `install.sh --uninstall`.
#
# Why: the agent reads USB descriptors with libusb, which opens /dev/bus/usb/BBB/DDD read-write
# even to read a device's name and serial number. Debian leaves those nodes root:root 0664, so
# only root could. This rule gives group avcare read-write on the USB devices avcare looks after
# and no others: keyboards, mice and USB sticks stay root-only, because write access to a usbfs
# node also lets a process detach the device's kernel driver.
#
# ID_USB_INTERFACES (":CCSSPP:" for each interface) comes from udev's usb_id builtin, imported in
# 50-udev-default.rules; this file sorts after it.

# Cameras (video class 0e), microphones and speakers (audio 01), audio/video devices (10).
SUBSYSTEM=="usb", ENV{DEVTYPE}=="usb_device", ENV{ID_USB_INTERFACES}=="*:0e????:*", MODE="0664", GROUP="avcare"
SUBSYSTEM=="usb", ENV{DEVTYPE}=="usb_device", ENV{ID_USB_INTERFACES}=="*:01????:*", MODE="0664", GROUP="avcare"
SUBSYSTEM=="usb", ENV{DEVTYPE}=="usb_device", ENV{ID_USB_INTERFACES}=="*:10????:*", MODE="0664", GROUP="avcare"

# Serial adapters for VISCA cameras: CDC-ACM (02/02) and the common USB-serial chips
# (FTDI 0403, Prolific 067b, WCH CH340 1a86, Silicon Labs CP210x 10c4). The tty itself belongs to
# group dialout; this only lets the agent read the adapter's serial number.
SUBSYSTEM=="usb", ENV{DEVTYPE}=="usb_device", ENV{ID_USB_INTERFACES}=="*:0202??:*", MODE="0664", GROUP="avcare"
SUBSYSTEM=="usb", ENV{DEVTYPE}=="usb_device", ATTR{idVendor}=="0403", MODE="0664", GROUP="avcare"
SUBSYSTEM=="usb", ENV{DEVTYPE}=="usb_device", ATTR{idVendor}=="067b", MODE="0664", GROUP="avcare"
SUBSYSTEM=="usb", ENV{DEVTYPE}=="usb_device", ATTR{idVendor}=="1a86", MODE="0664", GROUP="avcare"
SUBSYSTEM=="usb", ENV{DEVTYPE}=="usb_device", ATTR{idVendor}=="10c4", MODE="0664", GROUP="avcare"

# VR headsets, by vendor and product: their HID class alone would also match keyboards and mice.
# Oculus/Meta 2833, Valve 28de, Pico 2d40 (whole vendor); HTC Vive 0bb4:2c87;
# HP Reverb G1 03f0:0c6a and G2 03f0:0580; Sony PSVR 054c:09af and PSVR2 054c:0cde.
SUBSYSTEM=="usb", ENV{DEVTYPE}=="usb_device", ATTR{idVendor}=="2833", MODE="0664", GROUP="avcare"
SUBSYSTEM=="usb", ENV{DEVTYPE}=="usb_device", ATTR{idVendor}=="28de", MODE="0664", GROUP="avcare"
SUBSYSTEM=="usb", ENV{DEVTYPE}=="usb_device", ATTR{idVendor}=="2d40", MODE="0664", GROUP="avcare"
SUBSYSTEM=="usb", ENV{DEVTYPE}=="usb_device", ATTR{idVendor}=="0bb4", ATTR{idProduct}=="2c87", MODE="0664", GROUP="avcare"
SUBSYSTEM=="usb", ENV{DEVTYPE}=="usb_device", ATTR{idVendor}=="03f0", ATTR{idProduct}=="0c6a", MODE="0664", GROUP="avcare"
SUBSYSTEM=="usb", ENV{DEVTYPE}=="usb_device", ATTR{idVendor}=="03f0", ATTR{idProduct}=="0580", MODE="0664", GROUP="avcare"
SUBSYSTEM=="usb", ENV{DEVTYPE}=="usb_device", ATTR{idVendor}=="054c", ATTR{idProduct}=="09af", MODE="0664", GROUP="avcare"
SUBSYSTEM=="usb", ENV{DEVTYPE}=="usb_device", ATTR{idVendor}=="054c", ATTR{idProduct}=="0cde", MODE="0664", GROUP="avcare"
EOF
}

reload_udev() {
  if command -v udevadm >/dev/null 2>&1 && [ -e /run/udev/control ]; then
    run udevadm control --reload-rules
    # A change event re-applies the rule to devices already plugged in, so no replugging is needed.
    run udevadm trigger --subsystem-match=usb --action=change
  else
    note "udev is not running here (container?): skipping udevadm control --reload-rules; the rule applies once udev runs"
  fi
}

install_udev_rule() {
  ensure_dir 0755 root:root "$(dirname "$UDEV_RULE_FILE")"
  udev_rule | write_file 0644 root:root "$UDEV_RULE_FILE"
  reload_udev
}

# --- configuration and state -------------------------------------------------------------------

sample_config() {
  printf '{\n'
  # Enrolled, the school, agent and room come with the PC's identity (avcare-agent enroll).
  if [ -z "$CLOUD_URL" ]; then
    printf '  "schoolId": "%s",\n' "${SCHOOL_ID:-unassigned}"
    if [ -n "$ROOM_ID" ]; then
      printf '  "roomId": "%s",\n' "$ROOM_ID"
    fi
  fi
  printf '  "serialPorts": [],\n'
  printf '  "pjlink": []\n'
  printf '}\n'
}

install_config() {
  ensure_dir 0755 root:root "$CONFIG_DIR_FILE"
  if [ -e "$CONFIG_FILE" ]; then
    say "keeping your $CONFIG_FILE"
    if [ -n "$SCHOOL_ID" ] || [ -n "$ROOM_ID" ]; then
      warn "--school/--room were not applied because $CONFIG_FILE already exists; edit schoolId/roomId there"
    fi
    return 0
  fi
  [ -n "$ROOM_ID" ] || [ -n "$CLOUD_URL" ] || note "no --room given: roomId defaults to the host name"
  # 0640 root:avcare: the agent reads it, and it may hold PJLink passwords other users must not see.
  sample_config | write_file 0640 "root:$SERVICE_USER" "$CONFIG_FILE"
}

install_state_dir() {
  ensure_dir 0750 "$SERVICE_USER:$SERVICE_USER" "$STATE_DIR"
}

# The CA file goes where the agent's user can read it (a file in root's home would not be).
install_cloud_ca() {
  [ -n "$CA_FILE" ] || return 0
  if [ "$DRY_RUN" = 0 ] && [ ! -r "$CA_FILE" ]; then die "cannot read --ca $CA_FILE"; fi
  if [ "$DRY_RUN" = 1 ] && [ ! -r "$CA_FILE" ]; then
    note "would copy --ca $CA_FILE to $CLOUD_CA_FILE (mode 0644)"
    return 0
  fi
  write_file 0644 root:root "$CLOUD_CA_FILE" <"$CA_FILE"
}

# Enrolls as the agent's own user, so the credentials file it writes (0600) is that user's. The
# token is masked in what is printed: a terminal log or a screenshot must not carry it.
enroll_agent() {
  [ -n "$CLOUD_URL" ] || return 0
  local args=(enroll --cloud "$CLOUD_URL" --token "$ENROLL_TOKEN")
  [ -n "$ROOM_ID" ] && args+=(--room "$ROOM_ID")
  [ -n "$CA_FILE" ] && args+=(--ca "$CLOUD_CA_PATH")
  [ "$INSECURE_PLAINTEXT" = 1 ] && args+=(--insecure-plaintext)
  local command=(runuser -u "$SERVICE_USER" -- env "STATE_DIRECTORY=$STATE_PATH" "AVCARE_CONFIG=$CONFIG_PATH" "$NODE_BIN" "$(agent_entry)" "${args[@]}")
  if [ "$DRY_RUN" = 1 ]; then
    printf '[dry-run] would run:'
  else
    printf '+'
  fi
  printf ' %q' "${command[@]}" | sed "s/$ENROLL_TOKEN/[token]/g"
  printf '\n'
  if [ "$DRY_RUN" = 0 ]; then
    "${command[@]}" || die "enrollment failed (see above); fix the cause and run install.sh again: it is safe to repeat"
  fi
}

# --- systemd -----------------------------------------------------------------------------------

systemd_unit() {
  cat <<EOF
# Installed by avcare install.sh: rewritten on upgrade, removed by \`install.sh --uninstall\`.
# Local changes belong in a drop-in: systemctl edit $UNIT_NAME
[Unit]
Description=avcare classroom AV monitoring agent
After=network-online.target
Wants=network-online.target

[Service]
Type=simple
User=$SERVICE_USER
Group=$SERVICE_USER
# The Node.js install.sh checked (>= $MIN_NODE_VERSION), by path: \`env node\` under systemd's PATH could find another.
# Flags as in agent/daemon-node-flags.ts: interpreted only (no JIT, so W^X below; ~10 MB less), small young heap.
ExecStart=$NODE_BIN --jitless --no-expose-wasm --max-semi-space-size=1 $(agent_entry) run
Environment=AVCARE_CONFIG=$CONFIG_PATH
Environment=NODE_ENV=production
Restart=on-failure
RestartSec=5
# A bare Node.js is about 40 MB; past 100 MB the kernel reclaims hard, and at 150 MB the agent is
# killed and restarted rather than let it take memory from the lesson.
MemoryHigh=100M
MemoryMax=150M
# Creates $STATE_PATH owned by $SERVICE_USER, makes it writable under ProtectSystem=strict (as
# ReadWritePaths= would) and sets STATE_DIRECTORY, which agent/state-dir.ts reads.
StateDirectory=avcare
StateDirectoryMode=0750

NoNewPrivileges=yes
ProtectSystem=strict
ProtectHome=yes
PrivateTmp=yes
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectKernelLogs=yes
ProtectControlGroups=yes
ProtectClock=yes
ProtectHostname=yes
RestrictSUIDSGID=yes
RestrictRealtime=yes
RestrictNamespaces=yes
LockPersonality=yes
SystemCallArchitectures=native
# Netlink carries udev's hotplug events; INET for MQTT, PJLink and VISCA over IP.
RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK
# No memory is both writable and executable: node runs --jitless (ExecStart), which needs none.
MemoryDenyWriteExecute=yes

# Devices: only the classes the probes open. Groups match by major number, so a camera or serial
# adapter plugged in after the start is covered too. PrivateDevices= would hide them all.
DevicePolicy=closed
DeviceAllow=char-usb_device rw
DeviceAllow=char-ttyUSB rw
DeviceAllow=char-ttyACM rw
DeviceAllow=char-ttyS rw
DeviceAllow=char-video4linux rw
DeviceAllow=char-alsa rw
# Touch panels' input devices, read only: the agent counts touches, never their positions.
DeviceAllow=char-input r

[Install]
WantedBy=multi-user.target
EOF
}

systemd_running() {
  # The check sd_booted() makes: /run/systemd/system exists only when systemd is PID 1.
  command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]
}

install_unit() {
  ensure_dir 0755 root:root "$(dirname "$UNIT_FILE")"
  systemd_unit | write_file 0644 root:root "$UNIT_FILE"
  if systemd_running; then
    run systemctl daemon-reload
    run systemctl enable "$UNIT_NAME"
    # restart starts a stopped service and reloads an upgraded one.
    run systemctl restart "$UNIT_NAME"
  else
    note "systemd is not running here (container?): skipping systemctl daemon-reload, systemctl enable $UNIT_NAME, systemctl restart $UNIT_NAME"
    note "start the agent by hand instead: runuser -u $SERVICE_USER -- env AVCARE_CONFIG=$CONFIG_PATH $NODE_BIN $(agent_entry) run"
  fi
}

consent_autostart() {
  cat <<EOF
[Desktop Entry]
Type=Application
Name=avcare remote session requests
Name[zh_CN]=avcare 远程会话申请
Comment=Shows a notification when a remote engineer asks to diagnose this PC
Exec=env STATE_DIRECTORY=$STATE_PATH AVCARE_CONFIG=$CONFIG_PATH $NODE_BIN $(agent_entry) consent watch --notify
NoDisplay=true
X-GNOME-Autostart-enabled=true
EOF
}

install_autostart() {
  ensure_dir 0755 root:root "$(dirname "$AUTOSTART_FILE")"
  consent_autostart | write_file 0644 root:root "$AUTOSTART_FILE"
  note "teachers who answer remote session requests at this PC need group $SERVICE_USER: sudo usermod -aG $SERVICE_USER NAME (takes effect at their next login)"
}

# --- actions -----------------------------------------------------------------------------------

do_install() {
  ensure_node
  install_system_packages
  ensure_service_user
  install_avcare_package
  install_udev_rule
  install_config
  install_state_dir
  install_cloud_ca
  enroll_agent
  install_unit
  install_autostart
  if [ "$DRY_RUN" = 1 ]; then
    say "dry run finished: nothing was changed"
    return 0
  fi
  if [ -n "$CLOUD_URL" ]; then
    say "installed and enrolled with $CLOUD_URL. Next: add serial cameras and projectors to $CONFIG_PATH (serialPorts, pjlink),"
  else
    say "installed. Next: enroll the PC (sudo bash install.sh --cloud URL --token TOKEN), and edit $CONFIG_PATH (serialPorts, pjlink),"
  fi
  say "then check the PC with 'avcare-agent doctor' and watch the log with 'journalctl -u avcare-agent -f'."
}

do_uninstall() {
  if systemd_running; then
    if [ -e "$UNIT_FILE" ]; then
      run systemctl disable --now "$UNIT_NAME"
    fi
  else
    note "systemd is not running here: skipping systemctl disable --now $UNIT_NAME"
  fi
  remove_path "$UNIT_FILE"
  if systemd_running; then
    run systemctl daemon-reload
  fi
  remove_path "$UDEV_RULE_FILE"
  remove_path "$AUTOSTART_FILE"
  reload_udev
  if command -v npm >/dev/null 2>&1; then
    NPM_ROOT="$(npm root -g)"
    if [ -d "$NPM_ROOT/$PACKAGE_NAME" ]; then
      run npm uninstall -g "$PACKAGE_NAME"
    else
      note "the $PACKAGE_NAME package is not installed in $NPM_ROOT"
    fi
  else
    note "npm not found: no package to remove"
  fi
  if getent passwd "$SERVICE_USER" >/dev/null; then
    run userdel "$SERVICE_USER"
  else
    note "no user $SERVICE_USER to remove"
  fi
  # userdel removes the user's own group only when login.defs' USERGROUPS_ENAB says so.
  if getent group "$SERVICE_USER" >/dev/null; then
    if [ "$DRY_RUN" = 1 ]; then note "the next step runs only if userdel leaves the group $SERVICE_USER behind"; fi
    run groupdel "$SERVICE_USER"
  fi
  if [ "$PURGE" = 1 ]; then
    remove_path "$CONFIG_DIR_FILE"
    remove_path "$STATE_DIR"
  else
    note "kept $CONFIG_DIR_FILE and $STATE_DIR (add --purge to delete them)"
  fi
  if [ "$DRY_RUN" = 1 ]; then
    say "dry run finished: nothing was changed"
  else
    say "avcare removed"
  fi
}

main() {
  parse_args "$@"
  require_root
  case "$ACTION" in
    install) do_install ;;
    uninstall) do_uninstall ;;
  esac
}

main "$@"
