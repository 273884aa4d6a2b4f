#!/usr/bin/env bash
# kube-apiserver and kube-controller-manager 1.20.2, built from Debian bookworm's `kubernetes`
# source package (the only Kubernetes control plane reachable from a machine with Debian mirrors
# and no internet). The binaries are cached outside the work tree; a cached run exits at once.
set -euo pipefail
version=1.20.2
cache=${ZK_ROLLOUT_CACHE:-$HOME/.cache/zk-rollout}
dest="$cache/kubernetes-$version"
binaries=(kube-apiserver kube-controller-manager)

installed() {
  local b
  for b in "${binaries[@]}"; do [ -x "$dest/bin/$b" ] || return 1; done
}
installed && exit 0

mkdir -p "$cache"
# Two setups at once (two shells, CI retries) must not build into each other's tree.
exec 9>"$cache/.kubernetes.lock"
flock 9
installed && exit 0

# Build dependencies, all from Debian. reflect2 1.0.2 replaces the vendored 1.0.1, which
# crashes at run time on Go >= 1.18.
build_deps=(golang-go make rsync dpkg-dev golang-github-modern-go-reflect2-dev)
missing=()
for p in "${build_deps[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: kubernetes build needs Debian packages (${missing[*]}) and this is not root: install them with apt-get" >&2
    exit 1
  fi
  echo "setup: apt-get install ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
reflect2_src=/usr/share/gocode/src/github.com/modern-go/reflect2
[ -f "$reflect2_src/reflect2.go" ] || { echo "setup: $reflect2_src/reflect2.go missing (package golang-github-modern-go-reflect2-dev)" >&2; exit 1; }

# The bookworm mirror the system already uses (deb822 .sources or one-line .list); never edited.
system_mirror() {
  local f
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    awk 'BEGIN { RS = ""; FS = "\n" }
      {
        uris = ""; suites = ""
        for (i = 1; i <= NF; i++) {
          if ($i ~ /^URIs:/) { uris = $i; sub(/^URIs:[ \t]*/, "", uris) }
          if ($i ~ /^Suites:/) { suites = $i; sub(/^Suites:[ \t]*/, "", suites) }
        }
        if (suites ~ /(^| )bookworm( |$)/) { split(uris, u, " "); print u[1]; exit }
      }' "$f"
  done
  { cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null || true; } |
    sed -e 's/\[[^]]*\]//' | awk '$1 == "deb" && $3 == "bookworm" { print $2 }'
}
mirror=$(system_mirror | head -n1 || true)
mirror=${mirror:-http://deb.debian.org/debian}

work=$(mktemp -d "$cache/kubernetes-build.XXXXXX")
trap 'rm -rf "$work"' EXIT
started=$SECONDS

# A private apt configuration: own source list (deb-src only), lists and cache under $work.
aptdir="$work/apt"
mkdir -p "$aptdir/sources.list.d" "$aptdir/lists/partial" "$aptdir/cache/archives/partial"
echo "deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror bookworm main" >"$aptdir/sources.list"
cat >"$aptdir/apt.conf" <<EOF
Dir::Etc::SourceList "$aptdir/sources.list";
Dir::Etc::SourceParts "$aptdir/sources.list.d";
Dir::State::Lists "$aptdir/lists";
Dir::Cache "$aptdir/cache";
APT::Sandbox::User "root";
EOF
export APT_CONFIG="$aptdir/apt.conf"
echo "setup: kubernetes $version source from $mirror (bookworm)"
apt-get update -qq
(cd "$work" && apt-get source -qq --download-only "kubernetes/bookworm")
unset APT_CONFIG
dsc=$(ls "$work"/kubernetes_*.dsc)
# apt-get already checked every file against the signed Sources index; the uploader's key
# (needed for the .dsc's own signature) is not in any keyring here.
dpkg-source --no-check -x "$dsc" "$work/src" >/dev/null
src="$work/src"
[ -d "$src/vendor" ] && [ -f "$src/Makefile" ] ||
  { echo "setup: $dsc did not unpack to a kubernetes tree with vendor/ and Makefile" >&2; exit 1; }

# Swap reflect2 1.0.1 -> 1.0.2 in vendor/, modules.txt and go.mod (vendor mode ignores go.sum).
vendored="$src/vendor/github.com/modern-go/reflect2"
rm -rf "$vendored"
mkdir -p "$vendored"
cp -r "$reflect2_src"/. "$vendored"/
find "$vendored" -name '*_test.go' -delete
sed -i 's|github.com/modern-go/reflect2 v1\.0\.1|github.com/modern-go/reflect2 v1.0.2|g' "$src/vendor/modules.txt" "$src/go.mod" \
  "$src/staging/src/k8s.io/apimachinery/go.mod"
! grep -q 'reflect2 v1\.0\.1' "$src/vendor/modules.txt" "$src/go.mod" ||
  { echo "setup: could not pin reflect2 1.0.2 in vendor/modules.txt and go.mod" >&2; exit 1; }

# The tree is not a git checkout: give the build the version the binaries must report
# (helm and kubectl read it from /version).
cat >"$work/version.env" <<EOF
KUBE_GIT_VERSION='v$version'
KUBE_GIT_MAJOR='1'
KUBE_GIT_MINOR='20'
KUBE_GIT_TREE_STATE='clean'
KUBE_GIT_COMMIT='debian-bookworm-source'
EOF

echo "setup: building kube-apiserver and kube-controller-manager $version (about 6 minutes on 2 cores)"
(
  cd "$src"
  # hack/lib/golang.sh builds in GOPATH mode with GOPATH and GOCACHE under _output/, i.e.
  # inside $work, so nothing lands in ~/go or ~/.cache/go-build.
  export KUBE_GIT_VERSION_FILE="$work/version.env"
  make WHAT="cmd/kube-apiserver cmd/kube-controller-manager" 2>&1 | sed -u 's/^/  make: /'
)
built="$src/_output/local/bin/linux/$(dpkg --print-architecture)"
for b in "${binaries[@]}"; do
  [ -x "$built/$b" ] || { echo "setup: build finished without $built/$b" >&2; exit 1; }
done
"$built/kube-apiserver" --version | grep -qx "Kubernetes v$version" ||
  { echo "setup: built kube-apiserver reports '$("$built/kube-apiserver" --version)', expected v$version" >&2; exit 1; }

# Install by renaming a complete directory into place.
staged="$work/kubernetes-$version"
mkdir -p "$staged/bin"
for b in "${binaries[@]}"; do cp "$built/$b" "$staged/bin/$b"; done
rm -rf "$dest"
mv "$staged" "$dest"
echo "setup: kubernetes $version built in $((SECONDS - started)) s -> $dest/bin"
