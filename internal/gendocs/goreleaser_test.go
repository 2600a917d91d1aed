package gendocs

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// goreleaserConfig is the part of .goreleaser.yaml the release depends on.
type goreleaserConfig struct {
	Version int `yaml:"version"`
	Before  struct {
		Hooks []string `yaml:"hooks"`
	} `yaml:"before"`
	Builds []struct {
		ID      string   `yaml:"id"`
		Tags    []string `yaml:"tags"`
		Main    string   `yaml:"main"`
		Binary  string   `yaml:"binary"`
		Env     []string `yaml:"env"`
		Flags   []string `yaml:"flags"`
		Ldflags []string `yaml:"ldflags"`
		Goos    []string `yaml:"goos"`
		Goarch  []string `yaml:"goarch"`
	} `yaml:"builds"`
	Archives []struct {
		Formats         []string `yaml:"formats"`
		FormatOverrides []struct {
			Goos    string   `yaml:"goos"`
			Formats []string `yaml:"formats"`
		} `yaml:"format_overrides"`
		Files []string `yaml:"files"`
	} `yaml:"archives"`
	Nfpms []struct {
		Formats  []string `yaml:"formats"`
		Bindir   string   `yaml:"bindir"`
		Contents []struct {
			Src      string `yaml:"src"`
			Dst      string `yaml:"dst"`
			Packager string `yaml:"packager"`
		} `yaml:"contents"`
	} `yaml:"nfpms"`
	Checksum struct {
		NameTemplate string `yaml:"name_template"`
	} `yaml:"checksum"`
}

func TestGoreleaserConfig(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(repoRoot, ".goreleaser.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var c goreleaserConfig
	if err := yaml.Unmarshal(data, &c); err != nil {
		t.Fatalf("parse .goreleaser.yaml: %v", err)
	}
	if c.Version != 2 {
		t.Errorf("version = %d, want 2", c.Version)
	}
	if !contains(c.Before.Hooks, "go generate ./internal/gendocs") {
		t.Errorf("before.hooks %q lack `go generate ./internal/gendocs`", c.Before.Hooks)
	}

	if len(c.Builds) == 0 {
		t.Fatal("no builds")
	}
	b := c.Builds[0]
	if _, err := os.Stat(filepath.Join(repoRoot, b.Main, "main.go")); err != nil {
		t.Errorf("builds[0].main %q: %v", b.Main, err)
	}
	if !contains(b.Env, "CGO_ENABLED=0") {
		t.Errorf("builds[0].env %q lacks CGO_ENABLED=0", b.Env)
	}
	if !contains(b.Flags, "-trimpath") {
		t.Errorf("builds[0].flags %q lack -trimpath", b.Flags)
	}
	ld := strings.Join(b.Ldflags, " ")
	for _, w := range []string{"-s", "-w", "-X github.com/certctl/certctl/pkg/fastpath.version={{.Version}}"} {
		if !strings.Contains(" "+ld+" ", " "+w+" ") {
			t.Errorf("builds[0].ldflags %q lack %q", ld, w)
		}
	}
	// The -X target must exist, or the linker silently ignores it.
	fp, err := os.ReadFile(filepath.Join(repoRoot, "pkg", "fastpath", "fastpath.go"))
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`(?m)^var version = `).Match(fp) {
		t.Error("pkg/fastpath has no `var version = ...` for -X to set")
	}
	for _, goos := range []string{"linux", "darwin", "windows"} {
		if !contains(b.Goos, goos) {
			t.Errorf("builds[0].goos %q lacks %s", b.Goos, goos)
		}
	}
	for _, arch := range []string{"amd64", "arm64"} {
		if !contains(b.Goarch, arch) {
			t.Errorf("builds[0].goarch %q lacks %s", b.Goarch, arch)
		}
	}

	// The PKCS#11 build (CA keys in a token): cgo with the pkcs11 tag, for
	// linux amd64 and arm64, the arm64 one cross-compiled by the C
	// compiler its env names for that arch (a templated env; GoReleaser
	// applies an override only when it matches the full target).
	pkcs11 := false
	crossCC := regexp.MustCompile(`if eq \.Arch "arm64" \}\}CC=aarch64-linux-gnu-gcc\{\{`)
	for _, b := range c.Builds[1:] {
		if contains(b.Tags, "pkcs11") && contains(b.Env, "CGO_ENABLED=1") && contains(b.Goos, "linux") &&
			contains(b.Goarch, "amd64") && contains(b.Goarch, "arm64") && b.Main == c.Builds[0].Main {
			pkcs11 = true
			if !crossCC.MatchString(strings.Join(b.Env, "\n")) {
				t.Errorf("the pkcs11 build's env %q sets no CC=aarch64-linux-gnu-gcc for arm64", b.Env)
			}
		}
	}
	if !pkcs11 {
		t.Error("no cgo build with -tags pkcs11 for linux amd64 and arm64")
	}

	if len(c.Archives) == 0 {
		t.Fatal("no archives")
	}
	a := c.Archives[0]
	if !contains(a.Formats, "tar.gz") {
		t.Errorf("archives[0].formats %q lack tar.gz", a.Formats)
	}
	zip := false
	for _, o := range a.FormatOverrides {
		zip = zip || (o.Goos == "windows" && contains(o.Formats, "zip"))
	}
	if !zip {
		t.Error("archives[0] has no zip format for windows")
	}
	for _, w := range []string{"docs/man/*", "completions/*"} {
		if !contains(a.Files, w) {
			t.Errorf("archives[0].files %q lack %s", a.Files, w)
		}
		if m, _ := filepath.Glob(filepath.Join(repoRoot, w)); len(m) == 0 {
			t.Errorf("archives[0].files %s matches nothing", w)
		}
	}

	if len(c.Nfpms) == 0 {
		t.Fatal("no nfpms")
	}
	n := c.Nfpms[0]
	for _, f := range []string{"deb", "rpm"} {
		if !contains(n.Formats, f) {
			t.Errorf("nfpms[0].formats %q lack %s", n.Formats, f)
		}
	}
	if n.Bindir != "/usr/bin" {
		t.Errorf("nfpms[0].bindir = %q", n.Bindir)
	}
	dsts := map[string]bool{}
	for _, ct := range n.Contents {
		dsts[ct.Dst] = true
		if m, _ := filepath.Glob(filepath.Join(repoRoot, ct.Src)); len(m) == 0 {
			t.Errorf("nfpms[0].contents src %s matches nothing", ct.Src)
		}
	}
	for _, w := range []string{
		"/usr/share/man/man1/",
		"/usr/share/bash-completion/completions/certctl",
		"/usr/share/zsh/vendor-completions/_certctl",
		"/usr/share/zsh/site-functions/_certctl",
		"/usr/share/fish/vendor_completions.d/certctl.fish",
	} {
		if !dsts[w] {
			t.Errorf("nfpms[0].contents installs nothing to %s", w)
		}
	}
	if c.Checksum.NameTemplate == "" {
		t.Error("no checksum.name_template")
	}
}
