package inventory

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/localstore"
)

func TestParseTag(t *testing.T) {
	for _, tc := range []struct {
		in         string
		key, value string
		valueGiven bool
		usageErr   bool
	}{
		{in: "env=prod", key: "env", value: "prod", valueGiven: true},
		{in: "env", key: "env"},
		{in: "env=", key: "env", valueGiven: true},
		{in: "note=a=b,c", key: "note", value: "a=b,c", valueGiven: true},
		{in: "Key=env,Value=prod", key: "env", value: "prod", valueGiven: true},
		{in: "Key=env,Value=a,b=c", key: "env", value: "a,b=c", valueGiven: true},
		{in: "Key=env,Value=", key: "env", valueGiven: true},
		{in: "Key=env", key: "env"},
		{in: `Key="env",Value='prod'`, key: "env", value: "prod", valueGiven: true},
		{in: `Key='env x',Value="a b"`, key: "env x", value: "a b", valueGiven: true},
		{in: `Key="env`, key: `"env`},
		// A quoted value is one value, commas included (AWS shorthand):
		// parsed, for the tag rules to judge (tester).
		{in: `Key=d,Value="x,y"`, key: "d", value: "x,y", valueGiven: true},
		{in: `Key=d,Value='a,Extra=b'`, key: "d", value: "a,Extra=b", valueGiven: true},
		{in: `env="prod"`, key: "env", value: `"prod"`, valueGiven: true},
		{in: "Key=env,Val=x", usageErr: true},
		{in: "Key=a,Value=b,Extra=c", usageErr: true},
		{in: "Key=a,Value=b,Value=c", usageErr: true},
		{in: "Key=env,Value=prod,extra", usageErr: true},
		{in: "Key=env,Value=prod,", usageErr: true},
		{in: "Value=x", usageErr: true},
		{in: "Value", usageErr: true},
		{in: "env:prod", key: "env:prod"},
		{in: "Key=issuer-dn,Value=CN=Example CA,O=Example Ltd", key: "issuer-dn", value: "CN=Example CA,O=Example Ltd", valueGiven: true},
		{in: "=v", key: "", value: "v", valueGiven: true},
		{in: "", key: ""},
	} {
		tag, given, err := ParseTagCondition(tc.in)
		if tc.usageErr {
			if errs.ExitCodeOf(err) != errs.ExitUsage {
				t.Errorf("ParseTagCondition(%q): err %v, want a usage error", tc.in, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseTagCondition(%q): %v", tc.in, err)
			continue
		}
		if tag.Key != tc.key || tag.Value != tc.value || given != tc.valueGiven {
			t.Errorf("ParseTagCondition(%q) = %+v, %v; want {%s %s}, %v", tc.in, tag, given, tc.key, tc.value, tc.valueGiven)
		}
		plain, err := ParseTag(tc.in)
		if err != nil || plain != tag {
			t.Errorf("ParseTag(%q) = %+v, %v; ParseTagCondition gave %+v", tc.in, plain, err, tag)
		}
	}
}

func tags(kv ...string) []localstore.Tag {
	var out []localstore.Tag
	for _, s := range kv {
		k, v, _ := strings.Cut(s, "=")
		out = append(out, localstore.Tag{Key: k, Value: v})
	}
	return out
}

func tagsString(ts []localstore.Tag) string {
	var parts []string
	for _, t := range ts {
		parts = append(parts, TagString(t))
	}
	return strings.Join(parts, " ")
}

func TestMergeTags(t *testing.T) {
	got, err := MergeTags(tags("env=prod", "team=web"), tags("env=dev", "Env=x", "new="))
	if err != nil {
		t.Fatal(err)
	}
	if s := tagsString(got); s != "env=dev team=web Env=x new=" {
		t.Errorf("got %s", s)
	}

	var fifty []localstore.Tag
	for i := 0; i < MaxTags; i++ {
		fifty = append(fifty, localstore.Tag{Key: fmt.Sprintf("k%d", i), Value: "v"})
	}
	if _, err := MergeTags(fifty[:49], fifty[49:]); err != nil {
		t.Errorf("50 tags: %v", err)
	}
	if _, err := MergeTags(fifty, tags("k0=changed")); err != nil {
		t.Errorf("replacing at the limit: %v", err)
	}
	_, err = MergeTags(fifty, tags("one=more"))
	if errs.ExitCodeOf(err) != errs.ExitInvalid || !strings.Contains(err.Error(), "too many tags: 51") {
		t.Errorf("51 tags: %v", err)
	}

	for _, tc := range []struct {
		tag  localstore.Tag
		want string
	}{
		{localstore.Tag{Key: strings.Repeat("k", 127), Value: strings.Repeat("v", 255)}, ""},
		{localstore.Tag{Key: strings.Repeat("é", 127)}, ""},
		{localstore.Tag{Key: strings.Repeat("k", 128)}, "longer than 127"},
		{localstore.Tag{Key: "k", Value: strings.Repeat("v", 256)}, "longer than 255"},
		{localstore.Tag{Key: ""}, "key is empty"},
		{localstore.Tag{Key: "certctl:x"}, "reserved"},
		{localstore.Tag{Key: "CertCtl:x"}, "reserved"},
		{localstore.Tag{Key: "k", Value: "a\x1bb"}, "control characters"},
		{localstore.Tag{Key: "k\xff"}, "UTF-8"},
	} {
		_, err := MergeTags(nil, []localstore.Tag{tc.tag})
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%q: %v", tc.tag.Key, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%q: err %v, want %q", tc.tag.Key, err, tc.want)
		case tc.want != "" && errs.ExitCodeOf(err) != errs.ExitInvalid:
			t.Errorf("%q: exit %d, want 4", tc.tag.Key, errs.ExitCodeOf(err))
		}
	}
	// A failed merge leaves the input alone.
	in := tags("a=1")
	if _, err := MergeTags(in, tags("a=2", "certctl:x=y")); err == nil || in[0].Value != "1" {
		t.Errorf("input changed: %v %v", in, err)
	}
}

func TestRemoveTags(t *testing.T) {
	have := tags("env=prod", "team=web", "owner=alice")
	got := RemoveTags(have, tags("env", "team=ops", "owner=alice"), []bool{false, true, true})
	if s := tagsString(got); s != "team=web" {
		t.Errorf("got %s", s)
	}
	if got := RemoveTags(have, tags("nothere"), []bool{false}); len(got) != 3 {
		t.Errorf("removing an absent key changed %v", got)
	}
	if got := RemoveTags(have, tags("Env"), []bool{false}); len(got) != 3 {
		t.Errorf("keys are case-sensitive, got %v", got)
	}
}

func TestHasTag(t *testing.T) {
	have := tags("env=prod", "empty=")
	prod, empty, other := "prod", "", "dev"
	for _, tc := range []struct {
		key   string
		value *string
		want  bool
	}{
		{"env", nil, true},
		{"env", &prod, true},
		{"env", &other, false},
		{"empty", &empty, true},
		{"env", &empty, false},
		{"ENV", nil, false},
	} {
		if got := HasTag(have, tc.key, tc.value); got != tc.want {
			t.Errorf("HasTag(%s) = %v", tc.key, got)
		}
	}
}

func FuzzParseTag(f *testing.F) {
	for _, s := range []string{"env=prod", "env", "Key=env,Value=prod", "Key=env", "Key=a,b", "=", "", "Key=,Value=", "k=v=w,x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tag, given, err := ParseTagCondition(s)
		if err != nil {
			var ce *errs.Error
			if !errors.As(err, &ce) || ce.Exit != errs.ExitUsage {
				t.Fatalf("%q: error without a usage exit code: %v", s, err)
			}
			return
		}
		// What was parsed can be written back to the same text.
		var back string
		switch {
		case strings.HasPrefix(s, "Key=") && given:
			back = "Key=" + tag.Key + ",Value=" + tag.Value
		case strings.HasPrefix(s, "Key="):
			back = "Key=" + tag.Key
		case given:
			back = TagString(tag)
		default:
			back = tag.Key
		}
		if back != s {
			t.Fatalf("%q parsed to %+v (value given %v), which writes back as %q", s, tag, given, back)
		}
		if CheckTag(tag) == nil {
			if _, err := MergeTags(nil, []localstore.Tag{tag}); err != nil {
				t.Fatalf("%q: CheckTag passed, MergeTags failed: %v", s, err)
			}
		}
	})
}

func TestTagWarning(t *testing.T) {
	if w := TagWarning("env:prod"); !strings.Contains(w, "env=prod") {
		t.Errorf("env:prod: warning %q, want one naming env=prod", w)
	}
	for _, s := range []string{"env=prod", "app:env=prod", "Key=app:env", "env"} {
		if w := TagWarning(s); w != "" {
			t.Errorf("%s: unexpected warning %q", s, w)
		}
	}
}

// TestCheckTagCharacters: ACM's tag pattern [\p{L}\p{Z}\p{N}_.:/=+\-@]*,
// for keys and values alike.
func TestCheckTagCharacters(t *testing.T) {
	for _, tg := range []localstore.Tag{
		{Key: "team", Value: "pki"},
		{Key: "Équipe 3", Value: "Zürich/北京 + ops@example.test"},
		{Key: "a_b.c:d/e=f+g-h@i", Value: ""},
		{Key: "٣", Value: "Ⅻ"}, // digits and numerals of other scripts
	} {
		if err := CheckTag(tg); err != nil {
			t.Errorf("%+v refused: %v", tg, err)
		}
	}
	for _, tg := range []localstore.Tag{
		{Key: "bad#char", Value: "1"},
		{Key: "ok", Value: "bad*char"},
		{Key: "quote\"d", Value: "x"},
		{Key: "ok", Value: "a,b"},
		{Key: "ok", Value: "semi;colon"},
	} {
		err := CheckTag(tg)
		if err == nil || errs.ExitCodeOf(err) != errs.ExitInvalid || !strings.Contains(err.Error(), "letters, digits, spaces") {
			t.Errorf("%+v: %v", tg, err)
		}
	}
	long := strings.Repeat("k", MaxTagKeyLen+1)
	if err := CheckTag(localstore.Tag{Key: long}); err == nil || !strings.Contains(err.Error(), "kkkk") {
		t.Errorf("a key too long is not named: %v", err)
	}
}

// TestParseTagsRefusesADuplicateKey (tester: `--tags Key=dup,Value=1 --tags
// Key=dup,Value=2` stored dup=2, exit 0): a key given twice in one call is
// refused (exit 4), whichever form names it; distinct keys parse.
func TestParseTagsRefusesADuplicateKey(t *testing.T) {
	for _, vals := range [][]string{
		{"Key=dup,Value=1", "Key=dup,Value=2"},
		{"dup=1", "Key=dup"},
		{"dup", "dup"},
	} {
		_, err := ParseTags(vals)
		if errs.ExitCodeOf(err) != errs.ExitInvalid || !strings.Contains(fmt.Sprint(err), `"dup" is given twice`) {
			t.Errorf("ParseTags(%q): %v, want exit 4 naming the key", vals, err)
		}
	}
	got, err := ParseTags([]string{"a=1", "A=2", "Key=b"})
	if err != nil || len(got) != 3 {
		t.Errorf("distinct keys (case matters): %v, %v", got, err)
	}
}

// TestTagWithCommaSaysHow (tester): a tag value holding a comma — two tags
// given in one --tags, which is not split — is refused saying to give
// --tags once per tag; a condition holding one (list --tag, search's tag:)
// is refused too, not left to select nothing.
func TestTagWithCommaSaysHow(t *testing.T) {
	err := CheckTag(localstore.Tag{Key: "env", Value: "prod,team=web"})
	if errs.ExitCodeOf(err) != errs.ExitInvalid || !strings.Contains(err.Error(), "give --tags once per tag") {
		t.Errorf("CheckTag: %v", err)
	}
	for _, c := range []localstore.Tag{{Key: "env", Value: "prod,team=web"}, {Key: "a;b"}} {
		if err := CheckTagCondition(c.Key+"="+c.Value, c); errs.ExitCodeOf(err) != errs.ExitInvalid {
			t.Errorf("CheckTagCondition(%+v): %v", c, err)
		}
	}
	if err := CheckTagCondition("env=prod", localstore.Tag{Key: "env", Value: "prod"}); err != nil {
		t.Errorf("CheckTagCondition(env=prod): %v", err)
	}
}
