package export

import (
	"io"
	"strings"
	"testing"

	"github.com/certctl/certctl/internal/flagtest"
	"github.com/certctl/certctl/pkg/cmdutil"
	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/iostreams"
)

func TestExportFlags(t *testing.T) {
	o, err := flagtest.Parse(t, NewCmdExport, "3f2a1b9c", "--passphrase-file", "pass.txt")
	if err != nil {
		t.Fatal(err)
	}
	if o.ID != "3f2a1b9c" || o.PassphraseFile != "pass.txt" || o.Format != "pem" || o.NoPrivateKey || o.OutDir != "" {
		t.Errorf("options %+v", o)
	}
	o, err = flagtest.Parse(t, NewCmdExport, "--certificate-arn", "3f2a1b9c", "--passphrase-stdin", "--format", "json")
	if err != nil || o.ID != "3f2a1b9c" || !o.PassphraseStdin || o.Format != "json" {
		t.Errorf("--certificate-arn --passphrase-stdin --format json: %+v, %v", o, err)
	}
	o, err = flagtest.Parse(t, NewCmdExport, "3f2a1b9c", "--passphrase-file", "p", "--out-dir", "out", "--insecure-plaintext-key")
	if err != nil || o.OutDir != "out" || !o.InsecurePlaintext {
		t.Errorf("--out-dir --insecure-plaintext-key: %+v, %v", o, err)
	}
	o, err = flagtest.Parse(t, NewCmdExport, "3f2a1b9c", "--format", "pkcs12", "--out-file", "app.p12")
	if err != nil || o.Format != "pkcs12" || o.OutFile != "app.p12" {
		t.Errorf("--format pkcs12 --out-file: %+v, %v", o, err)
	}
	o, err = flagtest.Parse(t, NewCmdExport, "3f2a1b9c", "--no-private-key")
	if err != nil || !o.NoPrivateKey {
		t.Errorf("--no-private-key: %+v, %v", o, err)
	}

	for _, args := range [][]string{
		{"--passphrase-file", "p"},                                   // no certificate
		{"3f2a1b9c", "--format", "der"},                              // unknown format
		{"3f2a1b9c", "--passphrase-file", "p", "--passphrase-stdin"}, // two passphrase sources
		{"3f2a1b9c", "--out-dir", "d", "--out-file", "f"},
		{"3f2a1b9c", "--out-dir", "d", "--format", "json"},
		{"3f2a1b9c", "--no-private-key", "--passphrase-file", "p"},
		{"3f2a1b9c", "--no-private-key", "--passphrase-stdin"},
		{"3f2a1b9c", "--no-private-key", "--insecure-plaintext-key"},
		{"3f2a1b9c", "--insecure-plaintext-key"}, // needs --out-dir
		{"3f2a1b9c", "--format", "pkcs12", "--no-private-key"},
		{"3f2a1b9c", "4e5f6a7b"}, // two certificates
	} {
		if _, err := flagtest.Parse(t, NewCmdExport, args...); errs.ExitCodeOf(err) != errs.ExitUsage {
			t.Errorf("%q: exit %d (%v), want 2", args, errs.ExitCodeOf(err), err)
		}
	}
}

// TestExportRefusesPKCS12InJSON: PKCS#12 is binary, which -o json or yaml
// cannot wrap on standard output; written to --out-file it can be reported
// in JSON (the file written), and --format json (or pem with -o json)
// prints JSON.
func TestExportRefusesPKCS12InJSON(t *testing.T) {
	for _, c := range []struct {
		output, format, outFile string
		exit                    errs.ExitCode
	}{
		{"json", "pkcs12", "", errs.ExitUsage}, {"yaml", "pkcs12", "", errs.ExitUsage},
		{"json", "pkcs12", "x.p12", errs.ExitOK}, {"yaml", "pkcs12", "x.p12", errs.ExitOK},
		{"json", "pem", "x", errs.ExitOK}, {"", "pkcs12", "x", errs.ExitOK},
	} {
		ios, _, _, _ := iostreams.Test()
		f := cmdutil.New(ios, "test")
		f.Globals.Output = c.output
		ran := false
		cmd := NewCmdExport(f, func(*ExportOptions) error { ran = true; return nil })
		args := []string{"3f2a1b9c", "--format", c.format, "--passphrase-file", "p"}
		if c.outFile != "" {
			args = append(args, "--out-file", c.outFile)
		}
		cmd.SetArgs(args)
		cmd.SilenceErrors, cmd.SilenceUsage = true, true
		if err := cmd.Execute(); errs.ExitCodeOf(err) != c.exit || ran != (c.exit == errs.ExitOK) {
			t.Errorf("-o %q --format %s --out-file %q: exit %d (%v), ran %v; want exit %d", c.output, c.format, c.outFile, errs.ExitCodeOf(err), err, ran, c.exit)
		}
	}
}

// TestPromptPassphrase: at a terminal the passphrase is asked for twice;
// an empty one or a confirmation that differs asks anew, three times in
// all, then exit 2; the end of input (Ctrl-D) gives up at once, exit 2.
func TestPromptPassphrase(t *testing.T) {
	run := func(answers ...string) ([]byte, string, error) {
		ios, _, _, errOut := iostreams.Test()
		ios.SetTTY(true)
		ios.ReadPassword = func() ([]byte, error) {
			if len(answers) == 0 {
				return nil, io.EOF
			}
			a := answers[0]
			answers = answers[1:]
			return []byte(a), nil
		}
		p, err := promptPassphrase(ios)
		return p, errOut.String(), err
	}
	if p, _, err := run("pass", "pass"); err != nil || string(p) != "pass" {
		t.Fatalf("pass twice: %q, %v", p, err)
	}
	p, screen, err := run("pass", "pasx", "", "pw22", "pw22")
	if err != nil || string(p) != "pw22" || !strings.Contains(screen, "the passphrases do not match: try again") || !strings.Contains(screen, "the passphrase is empty: try again") {
		t.Fatalf("a mismatch, an empty one, then pw22 twice: %q, %q, %v", p, screen, err)
	}
	// Shorter than ACM's 4 characters: asked again, not repeated.
	p, screen, err = run("pw2", "pw22", "pw22")
	if err != nil || string(p) != "pw22" || !strings.Contains(screen, "the passphrase is 3 characters long: at least 4") {
		t.Fatalf("a short one, then pw22 twice: %q, %q, %v", p, screen, err)
	}
	if _, _, err := run("aaaa", "bbbb", "aaaa", "bbbb", "aaaa", "bbbb"); errs.ExitCodeOf(err) != errs.ExitUsage || !strings.Contains(err.Error(), "do not match") {
		t.Fatalf("three mismatches: %v (exit %d), want exit 2", err, errs.ExitCodeOf(err))
	}
	// Ctrl-C at the prompt is an interruption (exit 1), not an answer.
	ios, _, _, _ := iostreams.Test()
	ios.SetTTY(true)
	ios.ReadPassword = func() ([]byte, error) { return nil, iostreams.ErrInterrupted }
	if _, err := promptPassphrase(ios); errs.ExitCodeOf(err) != errs.ExitFailure || !strings.Contains(err.Error(), "interrupted") {
		t.Fatalf("Ctrl-C at the prompt: %v (exit %d), want exit 1", err, errs.ExitCodeOf(err))
	}
	for _, answers := range [][]string{nil, {"pw"}} {
		if _, _, err := run(answers...); errs.ExitCodeOf(err) != errs.ExitUsage || !strings.Contains(err.Error(), "end of input") {
			t.Fatalf("Ctrl-D after %q: %v (exit %d), want exit 2", answers, err, errs.ExitCodeOf(err))
		}
	}
}
