#!/usr/bin/env bash
# bench/vault.sh — `certctl vault` on a big vault: backup, verify, restore
# and rotate-key of a vault of 100,000 imported certificates (each with its
# own sealed key) and 100,000 revoked serials, written by bench/cmd/seed.
# Aims (issue 13): backup under 5 s, verify under 20 s. Prints wall-clock
# and CPU seconds (user+sys) of each run, and the median; the CPU figure is
# the one to compare across machines or under load.
#
#   bash bench/vault.sh            # 100,000 certificates, 3 runs each (about 3 minutes)
#   QUICK=1 bash bench/vault.sh    # 10,000 certificates, 1 run each
#   N=20000 RUNS=5 bash bench/vault.sh
#
# Everything happens in a temporary directory removed at the end; no
# network is used. Not run by CI.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/certctl-vault-bench.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

N=${N:-100000}
RUNS=${RUNS:-3}
if [[ -n "${QUICK:-}" ]]; then
	N=10000 RUNS=1
fi

log() { printf '%s\n' "$*" >&2; }

log "building certctl and bench/cmd/seed"
(cd "$ROOT" && go build -o "$WORK/certctl" ./cmd/certctl && go build -o "$WORK/seed" ./bench/cmd/seed)
export XDG_CONFIG_HOME=$WORK/config XDG_DATA_HOME=$WORK/data NO_COLOR=1
for v in $(env | sed -n 's/^\(CERTCTL_[A-Z_]*\)=.*/\1/p'); do unset "$v"; done
CERTCTL=$WORK/certctl

log "seeding $N certificates and $N revoked serials"
"$WORK/seed" -vault "$WORK/vault" -certs "$N" -as-is -revoked "$N"
size=$(du -m "$WORK/vault/vault.db" | cut -f1)

# timed LABEL PREPARE -- COMMAND: runs COMMAND $RUNS times (PREPARE before
# each, untimed), prints each run, and sets RES to "median_wall median_cpu".
ROWS=()
timed() {
	local label=$1 prepare=$2
	shift 3
	local walls=() cpus=() i t
	for ((i = 0; i < RUNS; i++)); do
		[[ -n $prepare ]] && bash -c "$prepare"
		if ! t=$( { /usr/bin/env TIMEFORMAT='%R %U %S' bash -c "time $* >/dev/null 2>$WORK/err"; } 2>&1); then
			log "failed: $*"; cat "$WORK/err" >&2; exit 1
		fi
		read -r wall user sys <<<"$t"
		walls+=("$wall")
		cpus+=("$(awk -v u="$user" -v s="$sys" 'BEGIN { printf "%.2f", u + s }')")
		log "  $label run $((i + 1)): ${wall} s wall, ${cpus[-1]} s CPU"
	done
	local mw mc
	mw=$(printf '%s\n' "${walls[@]}" | sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }')
	mc=$(printf '%s\n' "${cpus[@]}" | sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }')
	RES="$mw $mc"
}
row() { ROWS+=("$1|$2|$3"); }
fmt() { read -r w c <<<"$1"; printf '%s s (CPU %s s)' "$w" "$c"; }

log "vault backup"
timed backup "rm -f $WORK/backup.db" -- "$CERTCTL --vault $WORK/vault vault backup --out-file $WORK/backup.db -o json"
row "vault backup, $N certs ($size MB database)" "$(fmt "$RES")" "< 5 s"

log "vault verify"
timed verify "" -- "$CERTCTL --vault $WORK/vault vault verify -o json"
row "vault verify, $N certs" "$(fmt "$RES")" "< 20 s"

log "vault restore (into a new vault)"
timed restore "rm -rf $WORK/restored" -- "$CERTCTL --vault $WORK/restored vault restore --from-file $WORK/backup.db -o json"
row "vault restore, $N certs" "$(fmt "$RES")" "—"

log "vault rotate-key"
timed rotate "" -- "$CERTCTL --vault $WORK/restored vault rotate-key -o json"
row "vault rotate-key, $N sealed keys" "$(fmt "$RES")" "—"
"$CERTCTL" --vault "$WORK/restored" vault verify -o json >/dev/null || { log "verify after rotate-key failed"; exit 1; }

echo
echo "certctl vault operations — $(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "median of $RUNS run(s); the vault was written by bench/cmd/seed (one shared leaf, a sealed key per certificate)"
echo
printf '| %s | %s | %s |\n' "measurement" "certctl" "aim"
printf '|---|---|---|\n'
for r in "${ROWS[@]}"; do
	IFS='|' read -r a b c <<<"$r"
	printf '| %s | %s | %s |\n' "$a" "$b" "$c"
done
