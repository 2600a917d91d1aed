#!/usr/bin/env bash
# bench/run.sh — whole-process benchmarks of certctl, side by side with peer
# tools where they are installed, plus the in-process Go benchmarks of
# bench/ (issuance rate against the raw crypto rate).
#
#   bash bench/run.sh            # the full run
#   bash bench/run.sh --readme   # the same, then README.md's performance table is
#                                # rewritten from this run (between the bench markers)
#   QUICK=1 bash bench/run.sh    # smaller vaults and fewer runs, for a smoke test
#
# Needs go; uses hyperfine when installed (apt-get install -y hyperfine), else
# a loop timed with date +%s%N. Peers, when installed: cfssl/cfssljson
# (apt-get install -y golang-cfssl), step (not packaged by Debian), openssl.
# Everything happens in a temporary directory that is removed at the end; no
# network is used. Not run by CI. It ends with bench/acme.sh, bench/vault.sh and bench/bulk.sh.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
README=""
case "${1:-}" in
--readme) README=$ROOT/README.md ;;
"") ;;
*) echo "usage: bash bench/run.sh [--readme]" >&2; exit 2 ;;
esac
if [[ -n $README && -n "${QUICK:-}" ]]; then
	echo "bench/run.sh: --readme takes the full run's figures, not QUICK=1's" >&2
	exit 2
fi
WORK=$(mktemp -d "${TMPDIR:-/tmp}/certctl-bench.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"

N10K=10000
N100K=100000
NREVOKED=100000
RUNS=20
# N1M: the vault of the large-list aims (seeding a million records takes
# about three minutes on SQLite and two on PostgreSQL); LIST_N overrides it.
N1M=1000000
if [[ -n "${QUICK:-}" ]]; then
	N10K=1000 N100K=10000 NREVOKED=10000 RUNS=5 N1M=20000
fi
N1M=${LIST_N:-$N1M}
# BENCH_POSTGRES_URL (a PostgreSQL server certctl may create schemas in, e.g.
# postgres://certctl:certctl@127.0.0.1:5432/certctl?sslmode=disable) adds the
# list figures on PostgreSQL; needs psql.
PGURL=${BENCH_POSTGRES_URL:-}

log() { printf '%s\n' "$*" >&2; }
# redact hides the password of a URL (BENCH_POSTGRES_URL) in what is printed.
redact() { sed -E 's#(://[^:/@ ]*):[^@ ]*@#\1:***@#g' <<<"$1"; }
have() { command -v "$1" >/dev/null 2>&1; }

# ---------------------------------------------------------------- timing
# measure LABEL RUNS [--prepare CMD] [--shell] -- COMMAND
# Sets RES to "median_ms mean_ms stddev_ms" (or "failed") and records the
# command for the report. --shell runs COMMAND through bash (for pipelines); hyperfine then
# subtracts the shell's own start-up, the loop fallback does not.
CMDS=()
measure() {
	local label=$1 runs=$2 prepare="" shell=""
	shift 2
	while [[ $1 != -- ]]; do
		case $1 in
		--prepare) prepare=$2; shift 2 ;;
		--shell) shell=1; shift ;;
		esac
	done
	shift
	local cmd=$*
	CMDS+=("$label: $(redact "$cmd")")
	# What the seeding before left dirty is written back first, not
	# during the runs.
	sync
	if have hyperfine; then
		local warm=2
		((runs < 5)) && warm=1
		local args=(--warmup "$warm" --runs "$runs" --export-csv "$WORK/h.csv" --output=pipe --style none)
		[[ -n $prepare ]] && args+=(--prepare "$prepare")
		[[ -z $shell ]] && args+=(-N)
		if ! hyperfine "${args[@]}" -- "$cmd" >/dev/null 2>"$WORK/h.err"; then
			log "failed: $cmd"; cat "$WORK/h.err" >&2; RES=failed; return
		fi
		RES=$(awk -F, 'NR==2 { printf "%.1f %.1f %.1f\n", $4*1000, $2*1000, $3*1000 }' "$WORK/h.csv")
	else
		local i t0 t1 times=()
		for ((i = 0; i < runs + 2; i++)); do
			[[ -n $prepare ]] && bash -c "$prepare"
			t0=$(date +%s%N)
			if ! bash -c "$cmd" >/dev/null 2>&1; then
				log "failed: $cmd"; RES=failed; return
			fi
			t1=$(date +%s%N)
			((i >= 2)) && times+=($(((t1 - t0) / 1000)))
		done
		RES=$(printf '%s\n' "${times[@]}" | sort -n | awk '{ v[NR] = $1; s += $1; ss += $1 * $1 }
			END { m = s / NR; med = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
			      sd = sqrt(ss / NR - m * m); printf "%.1f %.1f %.1f\n", med / 1000, m / 1000, sd / 1000 }')
	fi
}

# fmt_ms "median mean sd" -> "5.9 ms (7.9 ± 4.2)"
fmt_ms() {
	[[ $1 == failed ]] && { echo failed; return; }
	read -r med mean sd <<<"$1"
	printf '%s ms (mean %s ± %s)' "$med" "$mean" "$sd"
}
median() { [[ $1 == failed ]] && echo 0 || echo "${1%% *}"; }

ROWS=()
row() { ROWS+=("$1|$2|$3|$4"); }

# ---------------------------------------------------------------- build
log "building certctl and the helpers"
mkdir -p bin
# certctl is built as released (Makefile, .goreleaser.yaml: static, stripped,
# its version set at build time), the way its start-up is compared with a Go
# hello-world.
VERSION=$(cd "$ROOT" && git describe --tags --always --dirty 2>/dev/null || echo dev)
(cd "$ROOT" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X github.com/certctl/certctl/pkg/fastpath.version=$VERSION" -o "$WORK/bin/certctl" ./cmd/certctl &&
	go build -o "$WORK/bin/seed" ./bench/cmd/seed &&
	go build -o "$WORK/bin/crlbare" ./bench/cmd/crlbare &&
	go build -o "$WORK/bin/alternate" ./bench/cmd/alternate &&
	go build -o "$WORK/bin/pkigen" ./internal/testpki/pkigen)
CERTCTL=$WORK/bin/certctl
# certctl reads no user config or vault: XDG_* point into $WORK, and the vault
# is always given with --vault. go keeps its own caches and settings.
export GOENV GOCACHE GOMODCACHE GOPATH
GOENV=$(go env GOENV) GOCACHE=$(go env GOCACHE) GOMODCACHE=$(go env GOMODCACHE) GOPATH=$(go env GOPATH)
export XDG_CONFIG_HOME=$WORK/config XDG_DATA_HOME=$WORK/data NO_COLOR=1
for v in $(env | sed -n 's/^\(CERTCTL_[A-Z_]*\)=.*/\1/p'); do unset "$v"; done

# ---------------------------------------------------------------- start-up
log "start-up"
cat >hello.go <<'EOF'
package main

import "fmt"

func main() { fmt.Println("hello") }
EOF
(cd "$WORK" && GO111MODULE=off go build -o bin/hello hello.go)
# They are run in turn (bench/cmd/alternate), not one batch after the
# other: these are 1-2 ms figures, and a shared machine whose speed drifts
# between batches would skew their ratios.
startup=("$CERTCTL" --version -- "$CERTCTL" --help -- "$WORK/bin/hello")
have cfssl && startup+=(-- cfssl version)
CMDS+=("start-up, run in turn 200 times each: bench/cmd/alternate -runs 200 -- ${startup[*]}")
mapfile -t st < <("$WORK/bin/alternate" -runs 200 -- "${startup[@]}") || true
if ((${#st[@]} < 3)); then
	log "failed: bench/cmd/alternate"; st=(failed failed failed failed)
fi
r=${st[0]} rh=${st[1]} h=${st[2]}
ratio() { awk -v a="$(median "$1")" -v b="$(median "$2")" 'BEGIN { if (a > 0 && b > 0) printf "%.2f", a / b; else print "?" }'; }
peer="Go hello-world: $(median "$h") ms"
if have cfssl; then
	c=${st[3]:-failed}
	peer+="; cfssl version: $(median "$c") ms"
else
	peer+="; cfssl: not installed"
fi
# Instructions executed (callgrind), which a busy machine does not skew.
if have valgrind; then
	instr() { GODEBUG=asyncpreemptoff=1 valgrind --tool=callgrind --callgrind-out-file=/dev/null "$@" 2>&1 >/dev/null |
		sed -n 's/.*refs: *//p' | tr -d ,; }
	iv=$(instr "$CERTCTL" --version) ih=$(instr "$CERTCTL" --help) ihw=$(instr "$WORK/bin/hello")
	INSTR_LINE="instructions (callgrind): certctl --version $iv, --help $ih, Go hello-world $ihw: $(awk -v a="$iv" -v b="$ihw" 'BEGIN { printf "%.1f", a / b }')× and $(awk -v a="$ih" -v b="$ihw" 'BEGIN { printf "%.1f", a / b }')×"
	log "$INSTR_LINE"
fi
row "certctl --version (whole process)" "$(fmt_ms "$r")" "≤ 1.5× hello-world" "ratio $(ratio "$r" "$h"); $peer"
row "certctl --help (whole process)" "$(fmt_ms "$rh")" "≤ 1.5× hello-world" "ratio $(ratio "$rh" "$h"); Go hello-world: $(median "$h") ms"

# ---------------------------------------------------------------- import
log "fixtures: $N10K certificate/key pairs"
"$WORK/bin/pkigen" -dir "$WORK/fx" -many "$N10K"
IMPORT_RUNS=3
[[ -n "${QUICK:-}" ]] && IMPORT_RUNS=2
log "import --from-dir of $N10K certificates"
measure "import --from-dir ($N10K)" $IMPORT_RUNS --prepare "rm -rf $WORK/vimp" -- \
	"$CERTCTL --vault $WORK/vimp import --from-dir $WORK/fx -o json"
r=$RES
med=$(median "$r")
rate=$(awk -v n="$N10K" -v ms="$med" 'BEGIN { if (ms > 0) printf "%.0f", n / (ms / 1000); else print "?" }')
row "import --from-dir, $N10K certs" "$rate certs/s ($(fmt_ms "$r"))" "≥ 3,000 certs/s" "—"

# ---------------------------------------------------------------- list
log "list over $N10K certificates (the vault the importer just wrote)"
rm -rf "$WORK/v10k"
"$CERTCTL" --vault "$WORK/v10k" import --from-dir "$WORK/fx" -o json >/dev/null
measure "list -o json ($N10K)" "$RUNS" -- "$CERTCTL --vault $WORK/v10k list -o json"
r=$RES
row "list -o json, $N10K certs" "$(fmt_ms "$r")" "≤ 50 ms" "—"
LIST_LINES=("list -o json, $N10K certs (SQLite): $(median "$r") ms (aim ≤ 50 ms)")

# list_large BACKEND PREFIX VAULT: the large-list aims over the
# N1M-certificate vault VAULT (PREFIX: what selects its store, e.g.
# env 'CERTCTL_STORE=…', quoted for hyperfine and bash alike).
list_large() {
	local backend=$1 pre=$2 vault=$3 p e
	measure "list --max-items 100 ($N1M, $backend)" "$RUNS" -- "$pre $CERTCTL --vault $vault list --max-items 100 -o json"
	p=$RES
	row "list --max-items 100 (first page), $N1M certs, $backend" "$(fmt_ms "$p")" "≤ 100 ms" "—"
	measure "list --expiring-within 30d -o text ($N1M, $backend)" 5 -- "$pre $CERTCTL --vault $vault list --expiring-within 30d -o text"
	e=$RES
	row "list --expiring-within 30d -o text, $N1M certs, $backend" "$(fmt_ms "$e")" "≤ 2 s" "—"
	LIST_LINES+=("list first page, $N1M certs ($backend): $(median "$p") ms (aim ≤ 100 ms)"
		"list --expiring-within 30d -o text, $N1M certs ($backend): $(median "$e") ms (aim ≤ 2000 ms)")
	log "${LIST_LINES[-2]}"
	log "${LIST_LINES[-1]}"
}
log "${LIST_LINES[0]}"
log "seeding $N1M certificate records (bench/cmd/seed: the store's own rows, written table by table; minutes for a million)"
"$WORK/bin/seed" -vault "$WORK/v1m" -certs "$N1M"
list_large SQLite "" "$WORK/v1m"

if [[ -n $PGURL ]] && have psql; then
	log "PostgreSQL: seeding $N10K and $N1M certificate records in schemas of their own"
	PGSCHEMA=certctl_bench_$$
	psql -q "$PGURL" -c "CREATE SCHEMA ${PGSCHEMA}_10k; CREATE SCHEMA ${PGSCHEMA}_1m" >/dev/null
	trap 'psql -q "$PGURL" -c "DROP SCHEMA ${PGSCHEMA}_10k CASCADE; DROP SCHEMA ${PGSCHEMA}_1m CASCADE" >/dev/null 2>&1; rm -rf "$WORK"' EXIT
	sep='?'
	[[ $PGURL == *\?* ]] && sep='&'
	pg10k="CERTCTL_STORE=$PGURL${sep}search_path=${PGSCHEMA}_10k"
	pg1m="CERTCTL_STORE=$PGURL${sep}search_path=${PGSCHEMA}_1m"
	"$WORK/bin/seed" -vault "$WORK/vpg10k" -store "${pg10k#CERTCTL_STORE=}" -certs "$N10K"
	measure "list -o json ($N10K, PostgreSQL)" "$RUNS" -- "env '$pg10k' $CERTCTL --vault $WORK/vpg10k list -o json"
	r=$RES
	# The floor under any command on this server: PostgreSQL's own client
	# connecting (a new backend, authentication) and running one query.
	measure "psql SELECT 1 (PostgreSQL's client: connect, one query)" "$RUNS" -- "psql '$PGURL' -Atqc 'SELECT 1'"
	pf=$RES
	row "list -o json, $N10K certs, PostgreSQL" "$(fmt_ms "$r")" "≤ 50 ms" "psql connecting and running SELECT 1: $(fmt_ms "$pf"), ratio $(ratio "$r" "$pf")"
	LIST_LINES+=("list -o json, $N10K certs (PostgreSQL): $(median "$r") ms (aim ≤ 50 ms); psql connecting and running SELECT 1: $(median "$pf") ms")
	"$WORK/bin/seed" -vault "$WORK/vpg1m" -store "${pg1m#CERTCTL_STORE=}" -certs "$N1M"
	list_large PostgreSQL "env '$pg1m'" "$WORK/vpg1m"
else
	log "list on PostgreSQL: skipped (set BENCH_POSTGRES_URL and install psql)"
fi

log "seeding $N100K certificate records and $NREVOKED revoked serials (bench/cmd/seed, straight through pkg/localstore)"
"$WORK/bin/seed" -vault "$WORK/v100k" -certs "$N100K" -revoked "$NREVOKED"

# ---------------------------------------------------------------- CRL
log "ca crl with $NREVOKED revoked serials"
measure "ca crl default ($NREVOKED revoked)" 5 -- "$CERTCTL --vault $WORK/v100k ca crl default"
r=$RES
peer="openssl: not installed"
if have openssl; then
	mkdir -p ossl
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ossl/ca.key -out ossl/ca.crt \
		-subj "/CN=Bench CA" -days 30 -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
	# index.txt: one revoked entry a line (status, expiry, revocation[,reason], serial, file, subject).
	awk -v n="$NREVOKED" 'BEGIN { srand(1); split("unspecified keyCompromise affiliationChanged superseded cessationOfOperation", r, " ")
		for (i = 0; i < n; i++) printf "R\t351231000000Z\t250101000000Z,%s\t%08X%08X%08X%08X\tunknown\t/CN=host%d\n",
			r[i % 5 + 1], int(rand() * 2^31), int(rand() * 2^31), i, int(rand() * 2^31), i }' >ossl/index.txt
	cat >ossl/ca.cnf <<EOF
[ca]
default_ca = bench
[bench]
database = $WORK/ossl/index.txt
certificate = $WORK/ossl/ca.crt
private_key = $WORK/ossl/ca.key
crlnumber = $WORK/ossl/crlnumber
default_md = sha256
default_crl_days = 7
EOF
	echo 01 >ossl/crlnumber
	measure "openssl ca -gencrl ($NREVOKED revoked)" 5 -- "openssl ca -gencrl -config $WORK/ossl/ca.cnf -out $WORK/ossl/crl.pem"
	o=$RES
	peer="openssl ca -gencrl: $(fmt_ms "$o")"
fi
# The aim's peer: Go's bare x509.CreateRevocationList on the same vault's
# entries, timed in-process by bench/cmd/crlbare (median of 5 calls).
CMDS+=("bare Go x509.CreateRevocationList ($NREVOKED revoked): bench/cmd/crlbare -vault $WORK/v100k -ca default -runs 5")
read -r bare _ < <("$WORK/bin/crlbare" -vault "$WORK/v100k" -ca default -runs 5) || bare=""
crl_ms=${r%% *}
crl_ratio=$(awk -v a="$crl_ms" -v b="$bare" 'BEGIN { if (a != "failed" && b > 0) printf "%.2f", a / b; else print "?" }')
CRL_LINE="ca crl $(awk -v n="$NREVOKED" 'BEGIN { print (n % 1000 ? n : n / 1000 "k") }'): $crl_ms ms; bare Go: ${bare:-?} ms; ratio $crl_ratio (aim ≤ 1.2)"
log "$CRL_LINE"
row "ca crl, $NREVOKED revoked" "$(fmt_ms "$r")" "≤ 1.2× bare Go" "bare Go x509.CreateRevocationList: ${bare:-?} ms, ratio $crl_ratio; $peer"

# ---------------------------------------------------------------- audit report
log "seeding $N100K issued certificates of the default private CA (bench/cmd/seed -issued)"
"$WORK/bin/seed" -vault "$WORK/vissued" -issued "$N100K"
measure "ca audit-report default ($N100K issued, JSON)" 5 -- "$CERTCTL --vault $WORK/vissued ca audit-report default"
r=$RES
measure "ca audit-report default ($N100K issued, CSV)" 5 -- "$CERTCTL --vault $WORK/vissued ca audit-report default --format CSV"
c=$RES
row "ca audit-report, $N100K issued certs (JSON)" "$(fmt_ms "$r")" "< 2 s" "CSV: $(fmt_ms "$c")"

# ---------------------------------------------------------------- issuance
log "whole-process issuance"
"$CERTCTL" --vault "$WORK/vreq" request --domain-name warm.example.test --certificate-authority-arn default \
	--key-algorithm EC_prime256v1 >/dev/null
req_cmd="$CERTCTL --vault $WORK/vreq request --domain-name app.example.test --certificate-authority-arn default --key-algorithm EC_prime256v1 -o json"
peers=()
req_how=""
if have cfssl && have cfssljson; then
	mkdir -p cfssl && cd cfssl
	echo '{"CN":"Bench CA","key":{"algo":"ecdsa","size":256}}' >ca-csr.json
	echo '{"CN":"app.example.test","hosts":["app.example.test"],"key":{"algo":"ecdsa","size":256}}' >leaf.json
	cfssl gencert -initca ca-csr.json 2>/dev/null | cfssljson -bare ca
	cd "$WORK"
	# The aim's pair runs in turn (bench/cmd/alternate, as start-up does),
	# each through sh -c since the cfssl pipeline needs a shell: a drift of
	# the machine's speed then slows both alike.
	cf_cmd="cd $WORK/cfssl && cfssl gencert -ca ca.pem -ca-key ca-key.pem leaf.json 2>/dev/null | cfssljson -bare leaf"
	REQ_RUNS=$((RUNS * 3))
	CMDS+=("request and the cfssl pipeline, run in turn $REQ_RUNS times each: bench/cmd/alternate -runs $REQ_RUNS -- sh -c '$req_cmd >/dev/null' -- sh -c '$cf_cmd'")
	mapfile -t rc < <("$WORK/bin/alternate" -runs "$REQ_RUNS" -- sh -c "$req_cmd >/dev/null" -- sh -c "$cf_cmd") || true
	if ((${#rc[@]} < 2)); then
		log "failed: bench/cmd/alternate (request, cfssl)"; rc=(failed failed)
	fi
	r=${rc[0]} c=${rc[1]}
	log "certctl request: $(fmt_ms "$r"); cfssl gencert | cfssljson: $(fmt_ms "$c") (run in turn)"
	peers+=("cfssl gencert + cfssljson -bare: $(fmt_ms "$c") (the two run in turn, each via sh -c)")
	req_how=", run in turn with cfssl"
else
	measure "certctl request" "$RUNS" -- "$req_cmd"
	r=$RES
	peers+=("cfssl: not installed")
fi
if have step; then
	mkdir -p step
	step certificate create "Bench CA" step/ca.crt step/ca.key --profile root-ca --no-password --insecure \
		--kty EC --crv P-256 >/dev/null 2>&1
	measure "step certificate create" "$RUNS" -- \
		"step certificate create app.example.test $WORK/step/leaf.crt $WORK/step/leaf.key --profile leaf --ca $WORK/step/ca.crt --ca-key $WORK/step/ca.key --no-password --insecure --kty EC --crv P-256 --force"
	s=$RES
	peers+=("step certificate create: $(fmt_ms "$s")")
else
	peers+=("step: not installed (Debian has no step-cli package)")
fi
if have openssl; then
	measure "openssl genpkey + req + x509 -req" "$RUNS" --shell -- \
		"cd $WORK/ossl && openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out leaf.key 2>/dev/null && openssl req -new -key leaf.key -subj /CN=app.example.test -out leaf.csr && openssl x509 -req -in leaf.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 30 -out leaf.crt 2>/dev/null"
	o=$RES
	peers+=("openssl key+CSR+x509 -req: $(fmt_ms "$o")")
fi
row "request --certificate-authority-arn default (EC P-256, whole process$req_how)" "$(fmt_ms "$r")" "≤ the fastest peer" "$(IFS=";"; echo "${peers[*]}" | sed "s/;/; /g")"
# The aim's peer: the cfssl pipeline (key, CSR, signed certificate, files
# written), and the fsyncs a request makes (strace, when installed).
req_ms=$(median "$r")
cf_ms=$(median "${c:-failed}")
have cfssl && have cfssljson || cf_ms=0
req_ratio=$(awk -v a="$req_ms" -v b="$cf_ms" 'BEGIN { if (a > 0 && b > 0) printf "%.2f", a / b; else print "?" }')
REQ_LINE="request: $req_ms ms; cfssl gencert | cfssljson: $cf_ms ms; ratio $req_ratio (aim ≤ 1.0)"
if have strace; then
	# Over 20 requests: a request commits once (its log fsync) and syncs the
	# directory of the log it opened; every so often one folds the log into
	# the database at close (walCloseLimit) and the next restarts the log
	# (a header sync). One request alone shows either case.
	fsync_loop="for i in \$(seq 20); do $CERTCTL --vault $WORK/vreq request --domain-name fsync\$i.example.test --certificate-authority-arn default --key-algorithm EC_prime256v1 -o json >/dev/null; done"
	strace -f -c -e trace=fsync,fdatasync -o "$WORK/strace.txt" bash -c "$fsync_loop" >/dev/null 2>&1 || true
	REQ_LINE+="; fsyncs per request (mean of 20): $(awk '$NF == "fsync" || $NF == "fdatasync" { n += $4 } END { printf "%.2f", n / 20 }' "$WORK/strace.txt")"
	CMDS+=("fsyncs per request: strace -f -c -e trace=fsync,fdatasync bash -c '$fsync_loop'")
fi
log "$REQ_LINE"

# ---------------------------------------------------------------- in-process
log "in-process Go benchmarks (issuance vs raw crypto, one core)"
BT=2s
[[ -n "${QUICK:-}" ]] && BT=300ms
(cd "$ROOT" && go test -run '^$' -bench 'Issue(RawCrypto|Durable|Batched)$|^BenchmarkCaIssue|^BenchmarkRequestDurableConcurrent$' -benchmem -benchtime "$BT" -cpu 1 ./bench/) >"$WORK/gobench.txt" 2>&1 ||
	log "go test -bench failed"
cat "$WORK/gobench.txt" >&2
raw=$(awk '/^BenchmarkIssueRawCrypto/ { for (i = 1; i < NF; i++) if ($(i+1) == "certs/s") print $i }' "$WORK/gobench.txt")
dur=$(awk '/^BenchmarkIssueDurable/ { for (i = 1; i < NF; i++) if ($(i+1) == "certs/s") print $i }' "$WORK/gobench.txt")
bat=$(awk '/^BenchmarkIssueBatched/ { for (i = 1; i < NF; i++) if ($(i+1) == "certs/s") print $i }' "$WORK/gobench.txt")
pct=$(awk -v a="$dur" -v b="$raw" 'BEGIN { if (b > 0) printf "%.0f", 100 * a / b; else print "?" }')
bpct=$(awk -v a="$bat" -v b="$raw" 'BEGIN { if (b > 0) printf "%.0f", 100 * a / b; else print "?" }')
CMDS+=("in-process issuance: cd $ROOT && go test -run '^\$' -bench 'Issue(RawCrypto|Durable|Batched)\$' -benchtime $BT -cpu 1 ./bench/")
row "in-process issuance (key + cert + durable record)" "${dur:-?} certs/s = ${pct}% of raw" "≥ 50% of raw crypto" "raw crypto (P-256 key + leaf): ${raw:-?} certs/s"
row "in-process issuance, 100 a transaction (fsync shared)" "${bat:-?} certs/s = ${bpct}% of raw" "(CPU cost of the path)" "—"
# metric BENCH UNIT: the value reported in UNIT on the line of BENCH (an exact name).
metric() { awk -v b="$1" -v u="$2" '$1 == b || $1 ~ "^"b"-[0-9]+$" { for (i = 1; i < NF; i++) if ($(i+1) == u) print $i }' "$WORK/gobench.txt"; }
# verdict PCT: met / not met against the 50% aim.
verdict() { awk -v p="$1" 'BEGIN { if (p == "") print "?"; else if (p + 0 >= 50) print "met"; else print "NOT met" }'; }
rcon=$(metric BenchmarkRequestDurableConcurrent certs/s)
rconcpu=$(metric BenchmarkRequestDurableConcurrent cpu-µs/cert)
rawcpu=$(metric BenchmarkIssueRawCrypto cpu-µs/cert)
rpct=$(awk -v a="$rcon" -v b="$raw" 'BEGIN { if (b > 0) printf "%.0f", 100 * a / b }')
rcpct=$(awk -v a="$rawcpu" -v b="$rconcpu" 'BEGIN { if (b > 0) printf "%.0f", 100 * a / b }')
CMDS+=("in-process request, concurrent issuers: cd $ROOT && go test -run '^\$' -bench '^BenchmarkRequestDurableConcurrent\$|IssueRawCrypto' -benchtime $BT -cpu 1 ./bench/")
row "in-process request (key + cert + durable record), ${BENCH_ISSUERS:-16} concurrent issuers on one core (group commit)" \
	"${rcon:-?} certs/s = ${rpct}% of raw (CPU ${rconcpu:-?} µs/cert = ${rcpct}%)" "≥ 50% of raw crypto: $(verdict "$rpct") (by CPU: $(verdict "$rcpct"))" \
	"raw crypto (P-256 key + leaf): ${raw:-?} certs/s, ${rawcpu:-?} CPU µs/cert"
# The responder's CRL GET (ca serve, endpoint serve) over as many revoked
# serials: the first GET after a change signs, the next ones while nothing
# the CRL shows has changed are answered with the CRL it signed.
(cd "$ROOT" && BENCH_CRL_N=$NREVOKED go test -run '^$' -bench '^BenchmarkCRLServe$' -benchmem -benchtime "$BT" ./bench/) >"$WORK/crlserve.txt" 2>&1 ||
	log "go test -bench BenchmarkCRLServe failed"
cat "$WORK/crlserve.txt" >&2
crlserve() { awk -v b="$1" '$1 ~ "^BenchmarkCRLServe/"b"(-[0-9]+)?$" { for (i = 1; i < NF; i++) if ($(i+1) == "ns/op") print $i }' "$WORK/crlserve.txt"; }
signed_ns=$(crlserve signed)
again_ns=$(crlserve served-again)
CMDS+=("responder CRL GET: cd $ROOT && BENCH_CRL_N=$NREVOKED go test -run '^\$' -bench '^BenchmarkCRLServe\$' -benchtime $BT ./bench/")
row "responder CRL GET (ca serve, endpoint serve), $NREVOKED revoked, in-process" \
	"served again: $(awk -v n="$again_ns" 'BEGIN { if (n > 0) printf "%.0f µs", n / 1000; else print "?" }')" "—" \
	"signed (the first GET after a revocation or a change to the CA): $(awk -v n="$signed_ns" 'BEGIN { if (n > 0) printf "%.1f ms", n / 1e6; else print "?" }')"
csign=$(metric BenchmarkCaIssueSignOnly certs/s)
csigncpu=$(metric BenchmarkCaIssueSignOnly cpu-µs/cert)
CMDS+=("in-process ca issue: cd $ROOT && go test -run '^\$' -bench '^BenchmarkCaIssue' -benchtime $BT -cpu 1 ./bench/")
for b in CaIssueCryptoOnly CaIssue CaIssueConcurrent CaIssueBatched; do
	rate=$(metric "Benchmark$b" certs/s)
	cpu=$(metric "Benchmark$b" cpu-µs/cert)
	pct=$(metric "Benchmark$b" pct-of-sign-only)
	cpct=$(metric "Benchmark$b" cpu-pct-of-sign-only)
	allocs=$(metric "Benchmark$b" allocs/op)
	case $b in
	CaIssueCryptoOnly) what="ca issue's cryptography alone: CSR parsed and checked, template built, signed (the ceiling: no vault)" ;;
	CaIssue) what="ca issue from a CSR (parse, check, sign, record), one caller: one durable commit each" ;;
	CaIssueConcurrent) what="ca issue from a CSR, ${BENCH_ISSUERS:-16} concurrent issuers on one core (group commit: one fsync per group)" ;;
	CaIssueBatched) what="ca issue from a CSR, 100 a transaction (authorities.IssueBatch)" ;;
	esac
	[[ $b == CaIssueBatched ]] && allocs="$allocs per 100"
	row "$what" "${rate:-?} certs/s = ${pct%.*}% of sign-only (CPU ${cpu:-?} µs/cert = ${cpct%.*}%; ${allocs:-?} allocs/op)" \
		"≥ 50% of sign-only: $(verdict "$pct") (by CPU: $(verdict "$cpct"))" \
		"sign-only (crypto/x509 from the CSR's key): ${csign:-?} certs/s, ${csigncpu:-?} CPU µs/cert"
done

# ---------------------------------------------------------------- report
# machine: what the figures were measured on.
machine() {
	local cpu mem
	cpu=$(sed -n 's/^model name[[:space:]]*: *//p' /proc/cpuinfo 2>/dev/null | head -1)
	mem=$(awk '/^MemTotal:/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo 2>/dev/null)
	echo "${cpu:-unknown CPU}, $(nproc) cores, ${mem:-? GiB} RAM, $(uname -sr), $(go version | cut -d' ' -f3)"
}
{
	echo
	echo "certctl benchmarks — $(date -u +%Y-%m-%dT%H:%M:%SZ), certctl $VERSION, $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "machine: $(machine)"
	if have hyperfine; then echo "timer: $(hyperfine --version), median of the runs (mean ± σ); start-up: bench/cmd/alternate, its commands run in turn, in a random order"; else echo "timer: date +%s%N loop, median of the runs (mean ± σ); start-up: bench/cmd/alternate, its commands run in turn, in a random order"; fi
	echo "the ${N100K}-certificate vault and its ${NREVOKED} revoked serials were written by bench/cmd/seed straight"
	echo "through pkg/localstore (one shared leaf and key; distinct IDs, names, creation and expiry times),"
	echo "as were the list vaults of ${N1M} certificates (SQLite, and PostgreSQL when BENCH_POSTGRES_URL was set)"
	echo
	printf '| %s | %s | %s | %s |\n' "measurement" "certctl" "aim" "peer figures"
	printf '|---|---|---|---|\n'
	for r in "${ROWS[@]}"; do
		IFS='|' read -r a b c d <<<"$r"
		printf '| %s | %s | %s | %s |\n' "$a" "$b" "$c" "$d"
	done
	echo
	for l in "${LIST_LINES[@]}"; do echo "$l"; done
	echo "$CRL_LINE"
	echo "$REQ_LINE"
	[[ -n ${INSTR_LINE:-} ]] && echo "$INSTR_LINE"
} | tee "$WORK/report.txt"
echo
echo "commands:"
for c in "${CMDS[@]}"; do echo "  $c"; done

echo
echo "ACME endpoints (orders/s and latency with 1-32 concurrent clients, Pebble beside when installed):"
bash "$ROOT/bench/acme.sh" | tee "$WORK/acme.txt"

echo
echo "vault operations (backup, verify, restore and rotate-key of a ${N100K}-certificate vault):"
N=$N100K bash "$ROOT/bench/vault.sh" | tee "$WORK/vault.txt"

echo
echo "Bulk operations (tagging by selection, import --from-dir re-run):"
bash "$ROOT/bench/bulk.sh" | tee "$WORK/bulk.txt"

# ---------------------------------------------------------------- README
# --readme: the section between the bench markers of README.md becomes this
# run's report: the table and ratio lines, the ACME comparison with Pebble
# and the bulk summary.
if [[ -n $README ]]; then
	{
		echo "<!-- bench:begin — written by \`bash bench/run.sh --readme\`; do not edit by hand -->"
		sed -n '/^certctl benchmarks/,$p' "$WORK/report.txt"
		echo
		echo "ACME server (\`bench/acme.sh\`: golang.org/x/crypto/acme clients on loopback, Pebble beside):"
		echo
		echo '```'
		awk '/^certctl vs pebble/ { on = 1 } on && /^$/ { exit } on' "$WORK/acme.txt"
		echo '```'
		echo
		sed -n '/^Bulk tagging by filter/,/^Sync re-run/p' "$WORK/bulk.txt"
		echo "<!-- bench:end -->"
	} >"$WORK/readme-block.md"
	awk -v block="$WORK/readme-block.md" '
		/^<!-- bench:begin/ { while ((getline l < block) > 0) print l; skip = 1; next }
		/^<!-- bench:end -->/ { skip = 0; next }
		!skip' "$README" >"$WORK/README.md"
	if ! grep -q '^<!-- bench:begin' "$WORK/README.md"; then
		log "README.md has no <!-- bench:begin --> … <!-- bench:end --> markers: not updated"
		exit 1
	fi
	cp "$WORK/README.md" "$README"
	log "README.md: performance table rewritten from this run"
fi
