#!/bin/sh
# Debian packages meshplay's lab and tests need. Idempotent: does nothing when all are present.
#   scripts/install-deps.sh           lab + tests: iproute2, ping, BIRD 2, OpenSSH, etcd, procps, sudo (become tests), socat + dig (lab DNS),
#                                     chromium (the HTML report is checked in a real headless browser)
#   scripts/install-deps.sh --bench   also ansible-core, ansible (kubernetes.core) and python3-kubernetes (the comparison bench)
# System services the packages ship (ssh, bird, etcd) are never started: the lab runs its own
# daemons, and a system etcd would hold port 2379.
set -eu

packages="iproute2 iputils-ping bird2 openssh-server openssh-client etcd-server procps sudo socat bind9-dnsutils chromium"
for arg in "$@"; do
  case "$arg" in
    --bench) packages="$packages ansible-core ansible python3-kubernetes" ;;
    -h|--help) sed -n '2,6p' "$0"; exit 0 ;;
    *) echo "install-deps: unknown option $arg (try --help)" >&2; exit 2 ;;
  esac
done
# kubectl is the oracle for kubeconfig merging (test/api-forms): Debian ships it as kubernetes-client. A kubectl
# already on PATH (from another package) is used as it is.
command -v kubectl >/dev/null 2>&1 || packages="$packages kubernetes-client"

if ! command -v dpkg-query >/dev/null 2>&1 || ! command -v apt-get >/dev/null 2>&1; then
  echo "install-deps: needs a Debian-based system (dpkg and apt-get); install by hand: $packages" >&2
  exit 1
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else echo "install-deps: run as root (or install sudo)" >&2; exit 1; fi
fi

is_installed() {
  dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'
}

missing=""
for p in $packages; do
  is_installed "$p" || missing="$missing $p"
done

if [ -z "$missing" ]; then
  echo "install-deps: all present ($packages)"
else
  echo "install-deps: installing$missing"
  # policy-rc.d answering 101 stops maintainer scripts from starting services (init.d and systemd).
  policy=/usr/sbin/policy-rc.d
  own_policy=""
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$policy" >/dev/null
    $SUDO chmod 755 "$policy"
    own_policy=1
  fi
  cleanup() { if [ -n "$own_policy" ]; then $SUDO rm -f "$policy"; fi; }
  trap cleanup EXIT INT TERM
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  # shellcheck disable=SC2086
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing
  cleanup
  own_policy=""

  # Services of packages installed just now: make sure they are neither running nor enabled.
  # Services that were already installed belong to the machine's owner (e.g. their own sshd): untouched.
  services=""
  for p in $missing; do
    case "$p" in
      bird2) services="$services bird" ;;
      openssh-server) services="$services ssh" ;;
      etcd-server) services="$services etcd" ;;
    esac
  done
  for s in $services; do
    if [ "$(cat /proc/1/comm 2>/dev/null)" = systemd ]; then
      $SUDO systemctl stop "$s.service" >/dev/null 2>&1 || true
      $SUDO systemctl disable "$s.service" >/dev/null 2>&1 || true
    elif [ -x "/etc/init.d/$s" ]; then
      $SUDO "/etc/init.d/$s" stop >/dev/null 2>&1 || true
      if command -v update-rc.d >/dev/null 2>&1; then $SUDO update-rc.d "$s" disable >/dev/null 2>&1 || true; fi
    fi
  done
fi

# The lab's API servers need etcd's client port free.
if command -v ss >/dev/null 2>&1 && ss -Hltn 'sport = :2379' 2>/dev/null | grep -q .; then
  echo "install-deps: warning: something listens on port 2379 (a system etcd? \`systemctl stop etcd\`); the kube lab may need it free" >&2
fi

for bin in /usr/sbin/sshd /usr/sbin/bird /usr/sbin/birdc /usr/bin/ssh-keygen /usr/bin/etcd; do
  [ -x "$bin" ] || { echo "install-deps: $bin missing after install" >&2; exit 1; }
done
mkdir -p /run/sshd 2>/dev/null || $SUDO mkdir -p /run/sshd
echo "install-deps: ok"
