#!/usr/bin/env bash
# bench/bulk.sh — whole-process figures of certctl's bulk operations:
#   * tags add by a terse selection over a 100,000-certificate vault (each
#     certificate its own recorded AddTagsToCertificate change, committed
#     2,000 to a transaction; only the tags column of each is read and
#     rewritten), aim < 10 s;
#   * import --from-dir run again over 10,000 unchanged files (the sync
#     skips each file by its digest, without parsing it), aim < 2 s;
#   * the first import of those 10,000 files, for comparison.
# Prints figures, asserts nothing. Wall time depends on what else the
# machine runs, so CPU time (user + sys) and the load average are printed
# beside it.
#
#   bash bench/bulk.sh            # 100,000 and 10,000 (a few minutes, mostly seeding)
#   QUICK=1 bash bench/bulk.sh    # 10,000 and 1,000
#
# Everything happens in a temporary directory that is removed at the end; no
# network is used. Not run by CI.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/certctl-bulk.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"

NTAG=100000
NFILES=10000
RERUNS=5
if [[ -n "${QUICK:-}" ]]; then
	NTAG=10000 NFILES=1000 RERUNS=3
fi

log() { printf '%s\n' "$*" >&2; }

log "building certctl and the helpers"
mkdir -p bin
(cd "$ROOT" && go build -o "$WORK/bin/certctl" ./cmd/certctl &&
	go build -o "$WORK/bin/seed" ./bench/cmd/seed &&
	go build -o "$WORK/bin/pkigen" ./internal/testpki/pkigen)
CERTCTL=$WORK/bin/certctl
export XDG_CONFIG_HOME=$WORK/config XDG_DATA_HOME=$WORK/data NO_COLOR=1
for v in $(env | sed -n 's/^\(CERTCTL_[A-Z_]*\)=.*/\1/p'); do unset "$v"; done

# timed LABEL COMMAND... — runs COMMAND once (stdout discarded) and sets
# WALL, CPU (seconds, user + sys of the command and its children).
timed() {
	local label=$1
	shift
	local t0 t1 c0 c1
	c0=$(awk '{ print $14 + $15 + $16 + $17 }' /proc/$$/stat)
	t0=$(date +%s%N)
	"$@" >/dev/null
	t1=$(date +%s%N)
	c1=$(awk '{ print $14 + $15 + $16 + $17 }' /proc/$$/stat)
	WALL=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", (b - a) / 1e9 }')
	CPU=$(awk -v a="$c0" -v b="$c1" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.2f", (b - a) / hz }')
	log "$label: ${WALL} s wall, ${CPU} s CPU"
}

ROWS=()
# row LABEL FIGURES AIM [MET]
row() { ROWS+=("$1|$2|$3|${4:-—}"); }
# met WALL LIMIT — whether a wall time is within its aim ("yes", or "no: N s over").
met() { awk -v w="$1" -v l="$2" 'BEGIN { if (w < l) print "yes"; else printf "no: %.2f s over\n", w - l }'; }

# ---------------------------------------------------------------- tagging
log "seeding $NTAG certificate records (bench/cmd/seed, straight through pkg/localstore)"
"$WORK/bin/seed" -vault "$WORK/vtag" -certs "$NTAG"
timed "tags add by selection ($NTAG)" "$CERTCTL" --vault "$WORK/vtag" tags add \
	--query-terse 'san:*.bulk.example.test' --tags wave=1 --yes -o json
TAGWALL=$WALL TAGCPU=$CPU
row "tags add --query-terse 'san:*.bulk.example.test', $NTAG certs" "$WALL s wall, $CPU s CPU" "< 10 s" "$(met "$WALL" 10)"
n=$("$CERTCTL" --vault "$WORK/vtag" audit list --event-name AddTagsToCertificate --query 'length(AuditEvents)' -o text)
log "recorded AddTagsToCertificate changes: $n"
timed "tags add --dry-run by selection ($NTAG)" "$CERTCTL" --vault "$WORK/vtag" tags add \
	--query-terse 'san:*.bulk.example.test' --tags wave=2 --dry-run -o json
row "  the same, --dry-run (selection and plan only)" "$WALL s wall, $CPU s CPU" "—"

# ---------------------------------------------------------------- sync
log "fixtures: $NFILES certificate/key pairs"
"$WORK/bin/pkigen" -dir "$WORK/fx" -many "$NFILES" >/dev/null
timed "import --from-dir, first run ($NFILES)" "$CERTCTL" --vault "$WORK/vimp" import --from-dir "$WORK/fx" -o json
row "import --from-dir, first run, $NFILES files" "$WALL s wall, $CPU s CPU" "—"
walls=() cpus=()
for ((i = 0; i < RERUNS; i++)); do
	timed "import --from-dir, unchanged ($NFILES), run $((i + 1))" "$CERTCTL" --vault "$WORK/vimp" import --from-dir "$WORK/fx" -o json
	walls+=("$WALL") cpus+=("$CPU")
done
med() { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
skipped=$("$CERTCTL" --vault "$WORK/vimp" import --from-dir "$WORK/fx" --query Skipped -o text)
SYNCWALL=$(med "${walls[@]}")
row "import --from-dir again, $NFILES unchanged files ($skipped skipped; median of $RERUNS)" "$SYNCWALL s wall, $(med "${cpus[@]}") s CPU" "< 2 s" "$(met "$SYNCWALL" 2)"

# ---------------------------------------------------------------- report
echo
echo "certctl bulk benchmarks — $(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo
printf '| %s | %s | %s | %s |\n' "measurement" "certctl" "aim" "met (wall)"
printf '|---|---|---|---|\n'
for r in "${ROWS[@]}"; do
	IFS='|' read -r a b c d <<<"$r"
	printf '| %s | %s | %s | %s |\n' "$a" "$b" "$c" "$d"
done
echo
echo "Bulk tagging by filter: $NTAG certificates in $TAGWALL s wall ($TAGCPU s CPU) against the aim of 10 s for 100,000: $(met "$TAGWALL" 10)."
echo "Sync re-run: $NFILES unchanged files in $SYNCWALL s wall against the aim of 2 s for 10,000: $(met "$SYNCWALL" 2)."
echo "(On a busy machine wall time exceeds CPU time: compare CPU time, and the load average above.)"
