#!/usr/bin/env bash
# Installs the Pinger agent from this directory (the unpacked pinger-agent-linux-x64 artifact):
#   PREFIX/bin/pinger-agent with its native addons beside it, /etc/pinger/agent.env (URL and token, root-only),
#   a systemd unit that runs the agent as an unprivileged user holding only CAP_NET_RAW.
# Re-running it upgrades in place and keeps the env file unless --url or --token is given.
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: sudo ./install.sh --url URL --token TOKEN [options]
       sudo ./install.sh                           (upgrade: keeps /etc/pinger/agent.env)
       sudo ./install.sh --uninstall               (keeps /etc/pinger and /var/lib/pinger)

  --url URL        control plane base URL, http:// or https:// (or PINGER_URL in the environment)
  --token TOKEN    this source's agent token (or PINGER_TOKEN in the environment, which keeps it out of ps)
  --prefix DIR     where the binary goes, as DIR/bin/pinger-agent (default /opt/pinger)
  --user NAME      unprivileged user the agent runs as, created if missing (default pinger)
  --no-systemd     install no unit; print how to run the agent by hand
  --root DIR       stage the install under DIR (like DESTDIR): no user is created, systemd is not touched
  --uninstall      stop and remove the service and the binary
  -h, --help       this help
EOF
}

die() {
  printf 'install.sh: %s\n' "$*" >&2
  exit 2
}

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
url=${PINGER_URL:-}
token=${PINGER_TOKEN:-}
prefix=/opt/pinger
user=pinger
root=
use_systemd=yes
uninstall=no

while [ $# -gt 0 ]; do
  opt=$1
  case $opt in
  --*=*) set -- "${opt%%=*}" "${opt#*=}" "${@:2}" && continue ;;
  esac
  case $opt in
  --url | --token | --prefix | --user | --root)
    [ $# -ge 2 ] || die "$opt needs a value"
    case $opt in
    --url) url=$2 ;;
    --token) token=$2 ;;
    --prefix) prefix=$2 ;;
    --user) user=$2 ;;
    --root) root=$2 ;;
    esac
    shift 2
    ;;
  --no-systemd) use_systemd=no && shift ;;
  --uninstall) uninstall=yes && shift ;;
  -h | --help) usage && exit 0 ;;
  *) usage >&2 && die "unknown option $opt" ;;
  esac
done

# --- validate everything before touching anything ----------------------------------------------------------
case $prefix in /*) ;; *) die "--prefix must be an absolute path, got '$prefix'" ;; esac
case $prefix in *[[:space:]]* | *@* | *'$'*) die "--prefix must not contain spaces, @ or \$, got '$prefix'" ;; esac
if [ -n "$root" ]; then
  case $root in /*) ;; *) die "--root must be an absolute path, got '$root'" ;; esac
  root=${root%/}
fi
[[ $user =~ ^[a-z_][a-z0-9_-]{0,31}$ ]] || die "--user must be a system user name (lowercase letters, digits, _ or -), got '$user'"
if [ -n "$url" ] && ! [[ $url =~ ^https?://[^[:space:]\"\'\\]+$ ]]; then
  die "--url must be an http:// or https:// URL without spaces or quotes, got '$url'"
fi
if [ -n "$token" ] && ! [[ $token =~ ^[A-Za-z0-9._~+/=-]+$ ]]; then
  die "--token must be the agent token as issued (letters, digits and . _ ~ + / = -)"
fi
if [ -z "$root" ] && [ "$(id -u)" -ne 0 ]; then
  die "must run as root (sudo ./install.sh ...), or stage into a directory with --root DIR"
fi

bin_dir=$prefix/bin
# The native addons pinger-agent loads from its own directory: raw sockets, and kernel receive timestamps.
addons=(raw.node pinger_native.node)
env_file=/etc/pinger/agent.env
unit_file=/etc/systemd/system/pinger-agent.service
state_dir=/var/lib/pinger

# systemd is ours to drive only on a live system: not when staging, and only when it is PID 1.
systemd_running() {
  [ -z "$root" ] && command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]
}

if [ "$uninstall" = yes ]; then
  if systemd_running; then
    systemctl disable --now pinger-agent.service 2>/dev/null || true
  fi
  rm -f "$root$unit_file" "$root$bin_dir/pinger-agent"
  for f in "${addons[@]}"; do rm -f "$root$bin_dir/$f"; done
  rmdir "$root$bin_dir" "$root$prefix" 2>/dev/null || true
  if systemd_running; then systemctl daemon-reload; fi
  echo "Removed the Pinger agent. Kept $env_file (token) and $state_dir (undelivered results); delete them by hand if unwanted."
  exit 0
fi

for f in pinger-agent "${addons[@]}" pinger-agent.service; do
  [ -f "$here/$f" ] || die "$here/$f is missing: run install.sh from the unpacked pinger-agent archive"
done

# The env file is kept on upgrade; a value given now replaces the stored one.
env_value() { # KEY FILE -> the value of KEY=..., or nothing
  sed -n "s/^$1=//p" "$2" | tail -n 1
}
if [ -f "$root$env_file" ]; then
  [ -n "$url" ] || url=$(env_value PINGER_URL "$root$env_file")
  [ -n "$token" ] || token=$(env_value PINGER_TOKEN "$root$env_file")
fi
[ -n "$url" ] || die "--url is required for a first install (the control plane's base URL, e.g. http://<host>:8080)"
[ -n "$token" ] || die "--token is required for a first install (the source's agent token)"

# --- the user ----------------------------------------------------------------------------------------------
if id -u "$user" >/dev/null 2>&1; then
  group=$(id -gn "$user")
elif [ -n "$root" ]; then
  group=$user # staged: the target host creates the user (useradd --user-group) when it installs for real
  echo "note: user $user does not exist here; the target host must create it (staging into $root)"
else
  command -v useradd >/dev/null 2>&1 || die "useradd not found: create the user $user yourself, then run this again"
  nologin=$(command -v nologin || echo /usr/sbin/nologin)
  useradd --system --user-group --home-dir "$state_dir" --no-create-home --shell "$nologin" \
    --comment "Pinger agent" "$user"
  group=$user
  echo "created system user $user"
fi

# --- files -------------------------------------------------------------------------------------------------
# Each file is written beside its target and renamed over it: a running agent keeps its old inode.
put() { # SOURCE TARGET MODE
  local tmp
  tmp=$(mktemp "$2.XXXXXX")
  cat "$1" >"$tmp"
  chmod "$3" "$tmp"
  mv -f "$tmp" "$2"
}

install -d -m 0755 "$root$bin_dir"
put "$here/pinger-agent" "$root$bin_dir/pinger-agent" 0755
for f in "${addons[@]}"; do put "$here/$f" "$root$bin_dir/$f" 0644; done

install -d -m 0755 "$root/etc/pinger"
env_tmp=$(mktemp "$root$env_file.XXXXXX") # mktemp creates it 0600: the token is never world-readable
cat >"$env_tmp" <<EOF
# Pinger agent environment, written by install.sh. Read by systemd as root; keep it mode 0600.
PINGER_URL=$url
PINGER_TOKEN=$token
EOF
chmod 0600 "$env_tmp"
mv -f "$env_tmp" "$root$env_file"

if [ "$use_systemd" = yes ]; then
  install -d -m 0755 "$root/etc/systemd/system"
  unit_tmp=$(mktemp "$root$unit_file.XXXXXX")
  sed -e "s|@USER@|$user|g" -e "s|@GROUP@|$group|g" -e "s|@ENV_FILE@|$env_file|g" -e "s|@BIN_DIR@|$bin_dir|g" \
    "$here/pinger-agent.service" >"$unit_tmp"
  chmod 0644 "$unit_tmp"
  mv -f "$unit_tmp" "$root$unit_file"
fi

echo "installed $bin_dir/pinger-agent ($("$root$bin_dir/pinger-agent" --version 2>/dev/null || echo 'version unknown'))${root:+ under $root}"

# --- start -------------------------------------------------------------------------------------------------
if [ "$use_systemd" = yes ] && systemd_running; then
  systemctl daemon-reload
  systemctl enable pinger-agent.service >/dev/null
  systemctl restart pinger-agent.service
  echo "pinger-agent.service is $(systemctl is-active pinger-agent.service) and enabled; logs: journalctl -u pinger-agent -f"
elif [ "$use_systemd" = yes ]; then
  if [ -n "$root" ]; then
    echo "staged $unit_file; on the target host start it with:"
  else
    echo "installed $unit_file; systemd is not running here, so once it is:"
  fi
  echo "  systemctl daemon-reload && systemctl enable --now pinger-agent.service"
else
  [ -n "$root" ] || install -d -m 0700 -o "$user" -g "$group" "$state_dir"
  echo "no unit installed; run the agent as $user with only CAP_NET_RAW, e.g. from your supervisor:"
  echo "  sudo sh -c 'set -a; . $env_file; exec setpriv --reuid=$user --regid=$group --init-groups \\"
  echo "    --inh-caps=+net_raw --ambient-caps=+net_raw $bin_dir/pinger-agent agent --spool $state_dir/spool'"
fi
