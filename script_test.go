package certctl_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jmespath/go-jmespath"
	"github.com/rogpeppe/go-internal/testscript"
	"github.com/rogpeppe/go-internal/txtar"
	_ "modernc.org/sqlite"

	"github.com/certctl/certctl/internal/testbin"
	"github.com/certctl/certctl/internal/testpki"
	"github.com/certctl/certctl/pkg/app"
	auditrec "github.com/certctl/certctl/pkg/audit"
	"github.com/certctl/certctl/pkg/hsm"
	"github.com/certctl/certctl/pkg/validation/validationtest"
)

func TestMain(m *testing.M) {
	testscript.Main(removingFixtures{m}, map[string]func(){
		"certctl": func() { os.Exit(app.Main()) },
	})
}

// removingFixtures runs the tests, then removes the fixtures they made
// (a test run left a directory of them in the temporary directory).
type removingFixtures struct{ m *testing.M }

func (r removingFixtures) Run() int {
	code := r.m.Run()
	if fixturesDir != "" {
		os.RemoveAll(fixturesDir)
	}
	return code
}

var (
	fixturesOnce sync.Once
	fixturesDir  string
	fixturesErr  error
)

// fixtures generates the import fixtures once per test binary (the RSA 8192
// key takes a while) and returns their directory.
func fixtures() (string, error) {
	fixturesOnce.Do(func() {
		fixturesDir, fixturesErr = os.MkdirTemp("", "certctl-fixtures-")
		if fixturesErr == nil {
			fixturesErr = testpki.WriteImportFixtures(fixturesDir, time.Now())
		}
		if fixturesErr == nil {
			many := filepath.Join(fixturesDir, "many")
			if fixturesErr = os.Mkdir(many, 0o700); fixturesErr == nil {
				fixturesErr = testpki.WriteMany(many, 12, time.Now())
			}
		}
	})
	return fixturesDir, fixturesErr
}

func TestScripts(t *testing.T) {
	src, err := fixtures()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {})
	testscript.Run(t, testscript.Params{
		Dir:                 "testdata/script",
		RequireExplicitExec: true,
		RequireUniqueNames:  true,
		// [pkcs11]: this build has PKCS#11 support (cgo and -tags pkcs11).
		// [have:TOOL]: the external tool (openssl, lego, curl…), which a
		// machine with only Go may lack, is installed; a script skips
		// itself without it ([!have:openssl] skip), except under
		// CERTCTL_REQUIRE_INTEROP=1 (CI), where a missing tool fails it.
		// TestScriptsDeclareTheirTools checks that every script asks for
		// the tools it runs.
		Condition: func(cond string) (bool, error) {
			if cond == "pkcs11" {
				return hsm.Supported(), nil
			}
			if tool, ok := strings.CutPrefix(cond, "have:"); ok {
				if _, err := testbin.Look(tool); err != nil {
					if testbin.Required() {
						return false, fmt.Errorf("%s is required (CERTCTL_REQUIRE_INTEROP=1) but not found: %v", tool, err)
					}
					return false, nil
				}
				return true, nil
			}
			return false, fmt.Errorf("unknown condition %q", cond)
		},
		Setup: func(env *testscript.Env) error {
			work := env.WorkDir
			env.Setenv("HOME", filepath.Join(work, "home"))
			env.Setenv("XDG_CONFIG_HOME", filepath.Join(work, "home", ".config"))
			env.Setenv("XDG_DATA_HOME", filepath.Join(work, "home", ".local", "share"))
			env.Setenv("CERTCTL_VAULT", filepath.Join(work, "vault"))
			env.Setenv("NO_COLOR", "")
			env.Defer(func() { checkAuditNames(env.T(), work) })
			return copyDir(src, filepath.Join(work, "fx"))
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"jmes":      cmdJMES,
			"vaultdump": cmdVaultDump,
			"filemode":  cmdFileMode,
			"rc":        cmdRC,
			"sleep":     cmdSleep,
			"freeport":  cmdFreePort,
			"dnsserve":  cmdDNSServe,
			"website":   cmdWebsite,
		},
	})
}

// checkAuditNames fails the script when an audit record of a vault it
// made (any SQLite database under work: vaults, backups) is recorded
// under a name audit.EventNames does not list — the names `audit list
// --event-name` completes and suggests (tester: RemoveDeployTarget was
// recorded and not listed). Every script's changes are checked so.
func checkAuditNames(t testscript.T, work string) {
	_ = filepath.WalkDir(work, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".db") {
			return nil
		}
		db, err := sql.Open("sqlite", "file:"+p+"?mode=ro")
		if err != nil {
			return nil
		}
		defer db.Close()
		rows, err := db.Query(`SELECT data FROM audit`)
		if err != nil {
			return nil // not a vault, or not one with an audit log
		}
		defer rows.Close()
		for rows.Next() {
			var data []byte
			var rec struct{ EventName string }
			if rows.Scan(&data) != nil || json.Unmarshal(data, &rec) != nil {
				continue
			}
			if !slices.Contains(auditrec.EventNames, rec.EventName) {
				t.Fatal(fmt.Sprintf("%s: an audit record of %q, a name audit.EventNames does not list", p, rec.EventName))
			}
		}
		return nil
	})
}

func copyDir(src, dst string) error {
	return filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o700)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, data, 0o600)
	})
}

// cmdJMES: jmes FILE EXPR WANT — evaluates a JMESPath expression over the
// JSON in FILE (stdout, stderr or a path) and compares the result, encoded
// as compact JSON (strings unquoted), with WANT.
func cmdJMES(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 3 {
		ts.Fatalf("usage: jmes FILE EXPR WANT")
	}
	data := ts.ReadFile(args[0])
	var doc any
	if err := json.Unmarshal([]byte(data), &doc); err != nil {
		ts.Fatalf("%s is not JSON: %v\n%s", args[0], err, data)
	}
	res, err := jmespath.Search(args[1], doc)
	if err != nil {
		ts.Fatalf("jmes %q: %v", args[1], err)
	}
	got := ""
	if s, ok := res.(string); ok {
		got = s
	} else {
		b, _ := json.Marshal(res)
		got = string(b)
	}
	if (got == args[2]) == neg {
		if neg {
			ts.Fatalf("jmes %q = %s, want anything else", args[1], got)
		}
		ts.Fatalf("jmes %q = %s, want %s", args[1], got, args[2])
	}
}

// cmdVaultDump: vaultdump FILE — writes every row of every table of the
// vault's database, sorted, to FILE, so a script can cmp the vault's
// content before and after a command. The audit trail (the audit table
// and its head in meta) is left out: it grows with every change, a
// refused one included, by design.
func cmdVaultDump(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 1 {
		ts.Fatalf("usage: vaultdump FILE")
	}
	dbPath := filepath.Join(ts.Getenv("CERTCTL_VAULT"), "vault.db")
	var out bytes.Buffer
	if _, err := os.Stat(dbPath); err == nil {
		db, err := sql.Open("sqlite", "file:"+dbPath+"?mode=ro")
		ts.Check(err)
		defer db.Close()
		ctx := context.Background()
		rows, err := db.QueryContext(ctx, `SELECT name FROM sqlite_master WHERE type='table' ORDER BY name`)
		ts.Check(err)
		var tables []string
		for rows.Next() {
			var n string
			ts.Check(rows.Scan(&n))
			tables = append(tables, n)
		}
		rows.Close()
		for _, tbl := range tables {
			if tbl == "audit" {
				continue
			}
			r, err := db.QueryContext(ctx, "SELECT * FROM "+tbl)
			ts.Check(err)
			cols, _ := r.Columns()
			var lines []string
			for r.Next() {
				vals := make([]any, len(cols))
				ptrs := make([]any, len(cols))
				for i := range vals {
					ptrs[i] = &vals[i]
				}
				ts.Check(r.Scan(ptrs...))
				if tbl == "meta" && fmt.Sprint(vals[0]) == "audit.head" {
					continue
				}
				lines = append(lines, fmt.Sprintf("%v", vals))
			}
			r.Close()
			sort.Strings(lines)
			fmt.Fprintf(&out, "== %s (%d rows)\n%s\n", tbl, len(lines), strings.Join(lines, "\n"))
		}
	}
	ts.Check(os.WriteFile(ts.MkAbs(args[0]), out.Bytes(), 0o600))
}

// cmdFileMode: filemode PATH MODE — checks a file's permission bits (octal).
func cmdFileMode(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: filemode PATH MODE")
	}
	st, err := os.Stat(ts.MkAbs(args[0]))
	ts.Check(err)
	got := fmt.Sprintf("%o", st.Mode().Perm())
	if (got == args[1]) == neg {
		ts.Fatalf("mode of %s is %s, want %s", args[0], got, args[1])
	}
}

// cmdRC: rc N PROG ARGS... — runs PROG like exec and checks that it exits
// with status N (testscript's own `! exec` only checks for non-zero).
func cmdRC(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) < 2 {
		ts.Fatalf("usage: rc N PROG ARGS...")
	}
	want, err := strconv.Atoi(args[0])
	ts.Check(err)
	err = ts.Exec(args[1], args[2:]...)
	got := 0
	if err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			ts.Fatalf("%s: %v", args[1], err)
		}
		got = ee.ExitCode()
	}
	if (got == want) == neg {
		ts.Fatalf("%s exited %d, want %d", args[1], got, want)
	}
}

// cmdSleep: sleep DURATION — waits (for scripts that drive a background
// command such as events --follow).
func cmdSleep(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 1 {
		ts.Fatalf("usage: sleep DURATION")
	}
	d, err := time.ParseDuration(args[0])
	ts.Check(err)
	time.Sleep(d)
}

// cmdFreePort: freeport NAME — sets the environment variable NAME to a
// free TCP address on 127.0.0.1 (for a server the script starts).
func cmdFreePort(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 1 || neg {
		ts.Fatalf("usage: freeport NAME")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	ts.Check(err)
	addr := l.Addr().String()
	ts.Check(l.Close())
	ts.Setenv(args[0], addr)
}

// cmdDNSServe: dnsserve VAR NAME... — starts, for the rest of the script,
// an authoritative DNS server on 127.0.0.1 whose every NAME has the address
// 127.0.0.1 (other names do not exist), and sets VAR to its host:port, for
// validation.resolvers: a name validated by HTTP then resolves to a
// loopback site (website) and nothing beyond loopback is reached.
func cmdDNSServe(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) < 2 || neg {
		ts.Fatalf("usage: dnsserve VAR NAME...")
	}
	srv, stop, err := validationtest.ListenDNS()
	ts.Check(err)
	ts.Defer(stop)
	for _, n := range args[1:] {
		ts.Check(srv.AddLines(n + ". 300 IN A 127.0.0.1"))
	}
	ts.Setenv(args[0], srv.Addr)
}

// cmdWebsite: website VAR DIR — starts, for the rest of the script, a web
// site on 127.0.0.1 that serves the files under DIR (in the work
// directory), and sets VAR to its port, for validation.http_port. A file
// P.redirect answers GET P with a 301 to the URL it holds, as a site's
// redirect rule would; a missing file is 404, whatever the host asked.
func cmdWebsite(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 || neg {
		ts.Fatalf("usage: website VAR DIR")
	}
	dir := ts.MkAbs(args[1])
	files := http.FileServer(http.Dir(dir))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := path.Clean("/" + r.URL.Path)
		if to, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(p)+".redirect")); err == nil {
			http.Redirect(w, r, strings.TrimSpace(string(to)), http.StatusMovedPermanently)
			return
		}
		files.ServeHTTP(w, r)
	}))
	ts.Defer(srv.Close)
	ts.Setenv(args[0], strconv.Itoa(srv.Listener.Addr().(*net.TCPAddr).Port))
}

// scriptTools are the external tools the scripts may run, which a machine
// with only Go installed may lack.
var scriptTools = []string{"openssl", "sqlite3", "python3", "curl", "nc", "lego", "mkcert", "certbot", "cfssl", "cfssljson",
	"jq", "zlint", "uacme", "dehydrated", "haproxy", "psql", "softhsm2-util", "script", "socat", "xxd"}

// TestScriptsDeclareTheirTools: every script that executes one of
// scriptTools first skips itself without it ([!have:TOOL] skip), so that
// `go test ./...` on a machine with only Go skips it rather than fail (and
// CI, which has them all, runs it) — and none skips itself for a tool it
// never runs.
func TestScriptsDeclareTheirTools(t *testing.T) {
	files, err := filepath.Glob("testdata/script/*.txtar")
	if err != nil || len(files) == 0 {
		t.Fatalf("no scripts: %v", err)
	}
	uses := map[string]*regexp.Regexp{}
	for _, tool := range scriptTools {
		uses[tool] = regexp.MustCompile(`(^|[\s'"(;|&` + "`" + `$])` + regexp.QuoteMeta(tool) + `($|[^\w.\-/])`)
	}
	for _, f := range files {
		ar, err := txtar.ParseFile(f)
		if err != nil {
			t.Fatal(err)
		}
		needed := map[string]bool{}
		for _, line := range strings.Split(string(ar.Comment), "\n") {
			if tool, ok := strings.CutPrefix(strings.TrimSpace(line), "[!have:"); ok {
				if tool, rest, ok := strings.Cut(tool, "]"); ok && strings.HasPrefix(strings.TrimSpace(rest), "skip") {
					needed[tool] = true
				}
			}
		}
		run := map[string]bool{}
		for _, line := range strings.Split(string(ar.Comment), "\n") {
			cmd := strings.TrimSpace(line)
			for strings.HasPrefix(cmd, "[") && strings.Contains(cmd, "]") { // a condition
				cmd = strings.TrimSpace(cmd[strings.Index(cmd, "]")+1:])
			}
			cmd = strings.TrimSpace(strings.TrimPrefix(cmd, "!"))
			if !strings.HasPrefix(cmd, "exec ") {
				continue // a comment, a check of output (stdout 'openssl …'), a builtin
			}
			for _, tool := range scriptTools {
				if !uses[tool].MatchString(cmd) {
					continue
				}
				run[tool] = true
				if !needed[tool] {
					t.Errorf("%s runs %s (%q) but does not skip itself without it ([!have:%s] skip)", filepath.Base(f), tool, cmd, tool)
					needed[tool] = true
				}
			}
		}
		for tool := range needed {
			if !run[tool] {
				t.Errorf("%s skips itself without %s, which it never runs", filepath.Base(f), tool)
			}
		}
	}
}
