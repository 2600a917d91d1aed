package acmestate

import (
	"encoding/json"
	"math"
	"reflect"
	"testing"

	"github.com/certctl/certctl/pkg/localstore"
)

// TestRateRecordCodecIsJSON checks that a window is stored exactly as
// json.Marshal wrote it and read back as json.Unmarshal reads it, hand
// codec or not.
func TestRateRecordCodecIsJSON(t *testing.T) {
	for _, times := range [][]int64{nil, {}, {0}, {1764936000123}, {1, 22, 333}, {math.MaxInt64, 0, -1, math.MinInt64}} {
		rec := rateRecord{Times: times}
		want, err := json.Marshal(rec)
		if err != nil {
			t.Fatal(err)
		}
		if got := rec.encode(); string(got) != string(want) {
			t.Errorf("encode(%v) = %s, want %s", times, got, want)
		}
		var back rateRecord
		if err := back.decode(&localstore.Object{Kind: KindRate, ID: "k", Data: want}); err != nil || !reflect.DeepEqual(back, rec) {
			t.Errorf("decode(%s) = %#v, %v, want %#v", want, back, err, rec)
		}
	}
	for _, s := range []string{`{"times":[01]}`, `{"times":[1,]}`, `{"times":[,1]}`, `{"times":[9223372036854775808]}`,
		`{"times":[1 ]}`, `{"times":"1"}`, `{"times":[1]} `, `{"Times":[1]}`, `{"times":[1],"times":[2]}`, `{}`, `null`, ``} {
		agreeRate(t, []byte(s))
	}
}

// agreeRate fails t unless rateRecord.decode reads data as json.Unmarshal
// does: the same window, or an error where it errs.
func agreeRate(t *testing.T, data []byte) {
	t.Helper()
	var got, want rateRecord
	gerr := got.decode(&localstore.Object{Kind: KindRate, ID: "k", Data: data})
	werr := json.Unmarshal(data, &want)
	if (gerr == nil) != (werr == nil) || (gerr == nil && !reflect.DeepEqual(got, want)) {
		t.Fatalf("decode(%q) = %#v, %v; json.Unmarshal: %#v, %v", data, got, gerr, want, werr)
	}
}

func FuzzRateRecordDecode(f *testing.F) {
	for _, s := range []string{`{"times":[1,22,333]}`, `{"times":[]}`, `{"times":null}`, `{"times":[01]}`, `{"times":[-1]}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) { agreeRate(t, data) })
}

// BenchmarkRateRecord reads and rewrites a window of 300 orders, as
// Admit does for a busy account.
func BenchmarkRateRecord(b *testing.B) {
	rec := rateRecord{}
	for i := range 300 {
		rec.Times = append(rec.Times, 1764936000000+int64(i)*1000)
	}
	o := &localstore.Object{Kind: KindRate, ID: "k", Data: rec.encode()}
	b.ReportAllocs()
	for b.Loop() {
		var r rateRecord
		if err := r.decode(o); err != nil {
			b.Fatal(err)
		}
		o.Data = r.encode()
	}
}

// TestRateRecordAllocs guards the order window's codec: a 300-order
// window read and rewritten (encoding/json took 18 allocations).
func TestRateRecordAllocs(t *testing.T) {
	rec := rateRecord{}
	for i := range 300 {
		rec.Times = append(rec.Times, 1764936000000+int64(i)*1000)
	}
	o := &localstore.Object{Kind: KindRate, ID: "k", Data: rec.encode()}
	n := testing.AllocsPerRun(100, func() {
		var r rateRecord
		if err := r.decode(o); err != nil {
			t.Fatal(err)
		}
		o.Data = r.encode()
	})
	if n > 5 {
		t.Errorf("rate window read and rewritten: %v allocations, want at most 5", n)
	}
}
