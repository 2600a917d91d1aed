// Package validationtest runs real servers on loopback for validation
// tests: an authoritative DNS server (miekg/dns) and a small SMTP server.
// It is imported by tests only.
package validationtest

import (
	"encoding/base64"
	"fmt"
	"net"
	"net/textproto"
	"strings"
	"sync"
	"testing"

	"github.com/miekg/dns"
)

// DNSServer is an authoritative DNS server on 127.0.0.1 whose records a
// test changes while it runs. It does not chase CNAMEs, as an
// authoritative server for many zones would not for out-of-zone targets.
type DNSServer struct {
	Addr string

	mu       sync.Mutex
	records  map[string][]dns.RR // by lower-case FQDN
	fallback func(q dns.Question) []dns.RR
	tamper   func(q dns.Question, m *dns.Msg)
}

// SetTamper makes fn change every reply to a query of one question before
// it is sent (a test of what a broken or hostile server may answer). fn
// runs without the server's lock.
func (s *DNSServer) SetTamper(fn func(q dns.Question, m *dns.Msg)) {
	s.mu.Lock()
	s.tamper = fn
	s.mu.Unlock()
}

// SetFallback makes fn answer the questions the records do not (a test
// serving every name of a zone, or records an outside program writes). fn
// runs without the server's lock.
func (s *DNSServer) SetFallback(fn func(q dns.Question) []dns.RR) {
	s.mu.Lock()
	s.fallback = fn
	s.mu.Unlock()
}

// StartDNS starts a DNS server for the test's lifetime.
func StartDNS(t testing.TB) *DNSServer {
	t.Helper()
	s, stop, err := ListenDNS()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	return s
}

// ListenDNS starts a DNS server on a free UDP port of 127.0.0.1 and
// returns it with the function that stops it (for a harness that is not a
// testing.TB, such as a testscript command).
func ListenDNS() (*DNSServer, func(), error) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		return nil, nil, err
	}
	s := &DNSServer{Addr: pc.LocalAddr().String(), records: map[string][]dns.RR{}}
	started := make(chan struct{})
	srv := &dns.Server{PacketConn: pc, Handler: s, NotifyStartedFunc: func() { close(started) }}
	go func() { _ = srv.ActivateAndServe() }()
	<-started
	return s, func() { _ = srv.Shutdown() }, nil
}

// AddLines adds records given in zone file syntax, as Add does, and
// returns the first that does not parse.
func (s *DNSServer) AddLines(lines ...string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, l := range lines {
		rr, err := dns.NewRR(l)
		if err != nil {
			return fmt.Errorf("record %q: %v", l, err)
		}
		s.AddRR(rr)
	}
	return nil
}

// Add adds records given in zone file syntax (`name TTL IN TYPE value`).
func (s *DNSServer) Add(t testing.TB, lines ...string) {
	t.Helper()
	if err := s.AddLines(lines...); err != nil {
		t.Fatal(err)
	}
}

// AddRR adds a parsed record (the caller holds no lock).
func (s *DNSServer) AddRR(rr dns.RR) {
	k := strings.ToLower(rr.Header().Name)
	s.records[k] = append(s.records[k], rr)
}

// Clear removes every record.
func (s *DNSServer) Clear() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.records = map[string][]dns.RR{}
}

// ServeDNS answers from the records.
func (s *DNSServer) ServeDNS(w dns.ResponseWriter, r *dns.Msg) {
	m := new(dns.Msg)
	m.SetReply(r)
	m.Authoritative = true
	if len(r.Question) == 1 {
		q := r.Question[0]
		s.mu.Lock()
		rrs, exists := s.records[strings.ToLower(q.Name)]
		for _, rr := range rrs {
			if rr.Header().Rrtype == q.Qtype {
				m.Answer = append(m.Answer, dns.Copy(rr))
			}
		}
		if len(m.Answer) == 0 && q.Qtype != dns.TypeCNAME {
			for _, rr := range rrs {
				if rr.Header().Rrtype == dns.TypeCNAME {
					m.Answer = append(m.Answer, dns.Copy(rr))
				}
			}
		}
		fallback := s.fallback
		s.mu.Unlock()
		if len(m.Answer) == 0 && fallback != nil {
			if rrs := fallback(q); len(rrs) > 0 {
				m.Answer, exists = rrs, true
			}
		}
		if !exists && !s.hasDescendant(q.Name) {
			m.Rcode = dns.RcodeNameError
		}
		s.mu.Lock()
		tamper := s.tamper
		s.mu.Unlock()
		if tamper != nil {
			tamper(q, m)
		}
	}
	_ = w.WriteMsg(m)
}

// hasDescendant reports whether a name below name exists (an empty
// non-terminal answers NOERROR, not NXDOMAIN).
func (s *DNSServer) hasDescendant(name string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	suffix := "." + strings.ToLower(name)
	for k := range s.records {
		if strings.HasSuffix(k, suffix) {
			return true
		}
	}
	return false
}

// Mail is one message an SMTPServer received.
type Mail struct {
	From string
	To   []string
	Data string
	Auth string // the AUTH PLAIN credentials, decoded, when given
}

// SMTPServer is a minimal SMTP server (RFC 5321 subset: EHLO/HELO, AUTH
// PLAIN, MAIL, RCPT, DATA, RSET, NOOP, QUIT) on 127.0.0.1 that records
// what it receives.
type SMTPServer struct {
	Addr string

	mu   sync.Mutex
	mail []Mail
}

// StartSMTP starts an SMTP server for the test's lifetime.
func StartSMTP(t testing.TB) *SMTPServer {
	t.Helper()
	return StartSMTPAt(t, "127.0.0.1:0")
}

// StartSMTPAt is StartSMTP listening on addr (127.0.0.2:0: an address
// net/smtp does not take for this host, to which it sends no password
// without TLS).
func StartSMTPAt(t testing.TB, addr string) *SMTPServer {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	s := &SMTPServer{Addr: ln.Addr().String()}
	var wg sync.WaitGroup
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				s.serve(c)
			}()
		}
	}()
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	return s
}

// Messages returns what was received so far.
func (s *SMTPServer) Messages() []Mail {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Mail(nil), s.mail...)
}

func (s *SMTPServer) serve(c net.Conn) {
	defer c.Close()
	tp := textproto.NewConn(c)
	_ = tp.PrintfLine("220 localhost certctl test SMTP")
	var cur Mail
	var auth string
	for {
		line, err := tp.ReadLine()
		if err != nil {
			return
		}
		verb, arg, _ := strings.Cut(line, " ")
		switch strings.ToUpper(verb) {
		case "EHLO":
			_ = tp.PrintfLine("250-localhost")
			_ = tp.PrintfLine("250-AUTH PLAIN")
			_ = tp.PrintfLine("250 8BITMIME")
		case "HELO":
			_ = tp.PrintfLine("250 localhost")
		case "AUTH":
			mech, resp, _ := strings.Cut(arg, " ")
			if !strings.EqualFold(mech, "PLAIN") || resp == "" {
				_ = tp.PrintfLine("504 only AUTH PLAIN with an initial response")
				continue
			}
			auth = decodePlain(resp)
			_ = tp.PrintfLine("235 authenticated")
		case "MAIL":
			cur = Mail{From: pathArg(arg), Auth: auth}
			_ = tp.PrintfLine("250 ok")
		case "RCPT":
			cur.To = append(cur.To, pathArg(arg))
			_ = tp.PrintfLine("250 ok")
		case "DATA":
			_ = tp.PrintfLine("354 go ahead")
			data, err := tp.ReadDotBytes()
			if err != nil {
				return
			}
			cur.Data = string(data)
			s.mu.Lock()
			s.mail = append(s.mail, cur)
			s.mu.Unlock()
			cur = Mail{}
			_ = tp.PrintfLine("250 queued")
		case "RSET", "NOOP":
			_ = tp.PrintfLine("250 ok")
		case "QUIT":
			_ = tp.PrintfLine("221 bye")
			return
		default:
			_ = tp.PrintfLine("502 not implemented")
		}
	}
}

// pathArg extracts the address of `FROM:<a@b> PARAMS` or `TO:<a@b>`.
func pathArg(arg string) string {
	_, rest, _ := strings.Cut(arg, ":")
	rest = strings.TrimSpace(rest)
	if strings.HasPrefix(rest, "<") {
		if i := strings.IndexByte(rest, '>'); i > 0 {
			return rest[1:i]
		}
	}
	addr, _, _ := strings.Cut(rest, " ")
	return addr
}

func decodePlain(b64 string) string {
	b, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return ""
	}
	return strings.ReplaceAll(string(b), "\x00", " ")
}
