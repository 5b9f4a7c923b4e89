#!/bin/sh
# Creates the namespace evomerge runs in and registers evomerge's search attributes on it,
# the same set and types as worker.SearchAttributes() (and devserver, for the embedded
# server): EvoRun=Keyword EvoGeneration=Int EvoBestScore=Double EvoHypervolume=Double
# EvoStage=Keyword. Idempotent. `evomerge run` also adds any that are missing.
# Runs in temporalio/admin-tools (it has the temporal CLI).
set -eu

ns=${TEMPORAL_NAMESPACE:-default}
retention=${TEMPORAL_NAMESPACE_RETENTION:-720h}
addr=${TEMPORAL_ADDRESS:-temporal:7233}
host=${addr%:*}
port=${addr##*:}
# Resolve to IPv4 first: the CLI can otherwise try an IPv6 address Docker does not serve.
ip=$(getent ahostsv4 "$host" | awk 'NR == 1 { print $1 }')
addr=${ip:-$host}:$port
unset TEMPORAL_ADDRESS

retry() { # retry N command...: run command until it succeeds, at most N times, 2 s apart
  n=$1; shift; i=1
  until "$@"; do
    [ "$i" -ge "$n" ] && { echo "gave up after $n tries: $*" >&2; return 1; }
    i=$((i + 1)); sleep 2
  done
}

retry 60 temporal operator cluster health --address "$addr"
temporal operator namespace describe --namespace "$ns" --address "$addr" >/dev/null 2>&1 ||
  retry 10 temporal operator namespace create --namespace "$ns" --retention "$retention" --address "$addr"

# A namespace just created can take a moment to reach every service: hence the retries.
ensure_sa() { # ensure_sa NAME TYPE
  temporal operator search-attribute list --namespace "$ns" --address "$addr" | grep -qw "$1" ||
    temporal operator search-attribute create --namespace "$ns" --address "$addr" --name "$1" --type "$2"
}
for sa in EvoRun=Keyword EvoGeneration=Int EvoBestScore=Double EvoHypervolume=Double EvoStage=Keyword; do
  retry 30 ensure_sa "${sa%%=*}" "${sa#*=}"
done
temporal operator search-attribute list --namespace "$ns" --address "$addr"
echo "namespace $ns is ready with evomerge's search attributes"
