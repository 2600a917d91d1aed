package validation

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"time"

	"github.com/miekg/dns"
)

// Resolver sends DNS queries to a fixed list of servers (the configured
// validation.resolvers, or the system's from /etc/resolv.conf).
type Resolver struct {
	Servers []string
	// Timeout bounds one query to one server.
	Timeout time.Duration
}

// ResolvConf is the file the system's resolvers are read from.
var ResolvConf = "/etc/resolv.conf"

// NewResolver returns a resolver over servers (host:port, or host for port
// 53); none means the system's.
func NewResolver(servers []string) (*Resolver, error) {
	r := &Resolver{Timeout: 5 * time.Second}
	for _, s := range servers {
		if _, _, err := net.SplitHostPort(s); err != nil {
			s = net.JoinHostPort(strings.Trim(s, "[]"), "53")
		}
		r.Servers = append(r.Servers, s)
	}
	if len(r.Servers) > 0 {
		return r, nil
	}
	cc, err := dns.ClientConfigFromFile(ResolvConf)
	if err != nil {
		return nil, fmt.Errorf("no validation.resolvers configured and the system's cannot be read: %v", err)
	}
	for _, s := range cc.Servers {
		r.Servers = append(r.Servers, net.JoinHostPort(s, cc.Port))
	}
	if len(r.Servers) == 0 {
		return nil, errors.New("no validation.resolvers configured and the system has none")
	}
	return r, nil
}

// ErrLookup is a DNS failure other than a name or record that does not
// exist (timeout, SERVFAIL, REFUSED): the answer is unknown.
var ErrLookup = errors.New("DNS lookup failed")

// query asks each server in turn for name/qtype and returns the first
// authoritative-enough answer to that question: NOERROR or NXDOMAIN. Other
// outcomes, and a reply to another question, wrap ErrLookup.
func (r *Resolver) query(ctx context.Context, name string, qtype uint16) (*dns.Msg, error) {
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), qtype)
	m.RecursionDesired = true
	m.SetEdns0(4096, false)
	var lastErr error
	for _, server := range r.Servers {
		in, err := r.exchange(ctx, m, server)
		if err != nil {
			lastErr = err
			continue
		}
		// miekg/dns matches a reply to its query by the message ID only:
		// a reply without the question, or with another one, would be
		// read as the answer to this one.
		if !answersQuestion(in, m.Question[0]) {
			lastErr = fmt.Errorf("%s answered another question", server)
			continue
		}
		switch in.Rcode {
		case dns.RcodeSuccess, dns.RcodeNameError:
			return in, nil
		}
		lastErr = fmt.Errorf("%s answered %s", server, dns.RcodeToString[in.Rcode])
	}
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	return nil, fmt.Errorf("%w: %s %s: %v", ErrLookup, dns.TypeToString[qtype], name, lastErr)
}

// answersQuestion reports whether in is a reply to q: exactly one
// question, q itself (the name compared without regard to case, which a
// server may change).
func answersQuestion(in *dns.Msg, q dns.Question) bool {
	if len(in.Question) != 1 {
		return false
	}
	got := in.Question[0]
	return got.Qtype == q.Qtype && got.Qclass == q.Qclass && strings.EqualFold(got.Name, q.Name)
}

func (r *Resolver) exchange(ctx context.Context, m *dns.Msg, server string) (*dns.Msg, error) {
	timeout := r.Timeout
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	c := &dns.Client{Net: "udp", Timeout: timeout}
	in, _, err := c.ExchangeContext(ctx, m, server)
	if err == nil && in.Truncated {
		c.Net = "tcp"
		in, _, err = c.ExchangeContext(ctx, m, server)
	}
	return in, err
}

// lookup returns the records of qtype at name, following CNAME aliases
// (at most MaxCNAMEChain) as a stub resolver does, whether the server chased
// them or not. A name without such records gives no records and no error.
func (r *Resolver) lookup(ctx context.Context, name string, qtype uint16) ([]dns.RR, error) {
	cur := dns.Fqdn(name)
	hops := 0
	for {
		asked := cur
		in, err := r.query(ctx, asked, qtype)
		if err != nil {
			return nil, err
		}
		// The answer section may hold the whole chain.
		for {
			var out []dns.RR
			next := ""
			for _, rr := range in.Answer {
				if !strings.EqualFold(rr.Header().Name, cur) {
					continue
				}
				if rr.Header().Rrtype == qtype {
					out = append(out, rr)
				} else if cn, ok := rr.(*dns.CNAME); ok {
					next = cn.Target
				}
			}
			if len(out) > 0 {
				return out, nil
			}
			if next == "" {
				break
			}
			if hops++; hops > MaxCNAMEChain {
				return nil, fmt.Errorf("%w: %s: CNAME chain longer than %d", ErrLookup, name, MaxCNAMEChain)
			}
			cur = next
		}
		if strings.EqualFold(asked, cur) {
			return nil, nil // the answer is about cur: it has no such records
		}
		// An alias target the server did not chase: ask about it.
	}
}

// LookupIP returns the IPv4 and IPv6 addresses of host through the
// resolvers (an IP literal is returned as it is).
func (r *Resolver) LookupIP(ctx context.Context, host string) ([]netip.Addr, error) {
	if a, err := netip.ParseAddr(strings.Trim(host, "[]")); err == nil {
		return []netip.Addr{a}, nil
	}
	var out []netip.Addr
	var firstErr error
	for _, qt := range []uint16{dns.TypeA, dns.TypeAAAA} {
		rrs, err := r.lookup(ctx, host, qt)
		if err != nil {
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		for _, rr := range rrs {
			switch v := rr.(type) {
			case *dns.A:
				if a, ok := netip.AddrFromSlice(v.A.To4()); ok {
					out = append(out, a)
				}
			case *dns.AAAA:
				if a, ok := netip.AddrFromSlice(v.AAAA); ok {
					out = append(out, a)
				}
			}
		}
	}
	if len(out) == 0 {
		if firstErr != nil {
			return nil, firstErr
		}
		return nil, fmt.Errorf("%s has no A or AAAA record", host)
	}
	return out, nil
}
