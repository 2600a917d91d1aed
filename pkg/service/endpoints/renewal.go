package endpoints

import (
	"context"
	"time"

	"github.com/certctl/certctl/pkg/acmestate"
	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/inventory"
	"github.com/certctl/certctl/pkg/service"
	"github.com/certctl/certctl/pkg/x509util"
)

// RenewalWindowInput is an administrator's renewal window (`endpoint
// renewal-window set`): for the certificate with Serial, or with All for
// every certificate the endpoint issued so far.
type RenewalWindowInput struct {
	Serial     string
	All        bool
	Start, End time.Time
}

// RenewalWindowView is the JSON form of a window set.
type RenewalWindowView struct {
	AcmeEndpointArn string               `json:"AcmeEndpointArn"`
	CertificateArn  string               `json:"CertificateArn,omitempty"`
	Serial          string               `json:"Serial,omitempty"`
	All             bool                 `json:"All"`
	Start           *inventory.Timestamp `json:"Start"`
	End             *inventory.Timestamp `json:"End"`
	SetAt           *inventory.Timestamp `json:"SetAt"`
}

// windowEpoch is the earliest time a renewal window may name: before it
// lie the zero time, which a renewalInfo answer cannot carry, and no
// certificate's lifetime.
var windowEpoch = time.Unix(0, 0).UTC()

// SetRenewalWindow stores the renewal window the ACME Renewal Information
// resource (RFC 9773) then suggests for the certificate with in.Serial
// that the endpoint named by ref issued (exit 3 when it issued none), or
// with in.All for every certificate it issued before now
// (SetAcmeRenewalWindow). The window is kept in the vault, so every
// `endpoint serve` on it answers the same; a window set again replaces it.
func (s *Service) SetRenewalWindow(ctx context.Context, ref string, in RenewalWindowInput) (RenewalWindowView, error) {
	var v RenewalWindowView
	err := s.change(ctx, "SetAcmeRenewalWindow", ref, func(op *service.Op, ep *acmestate.Endpoint) error {
		op.Param("Start", in.Start.UTC().Format(time.RFC3339))
		op.Param("End", in.End.UTC().Format(time.RFC3339))
		if in.All == (in.Serial != "") {
			return errs.UsageErrorf("give either --serial or --all")
		}
		for _, t := range []struct {
			name string
			at   time.Time
		}{{"starts", in.Start}, {"ends", in.End}} {
			if t.at.Before(windowEpoch) {
				return errs.Invalidf("the window %s at %s, before 1970: give a time at which clients should renew (a past one makes them renew at once)",
					t.name, t.at.UTC().Format(time.RFC3339))
			}
		}
		if !in.End.After(in.Start) {
			return errs.Invalidf("the window ends (%s) before it starts (%s)", in.End.UTC().Format(time.RFC3339), in.Start.UTC().Format(time.RFC3339))
		}
		w := &acmestate.RenewalWindow{EndpointID: ep.ID, Start: in.Start.UTC(), End: in.End.UTC(), SetAt: op.Now}
		v = RenewalWindowView{AcmeEndpointArn: s.arn(ep.ID), All: in.All}
		if in.All {
			op.Param("All", true)
		} else {
			op.Param("Serial", in.Serial)
			n, err := x509util.ParseSerial(in.Serial)
			if err != nil || n.Sign() <= 0 {
				return errs.Invalidf("invalid serial number %q (hex, as `certctl describe` shows it)", in.Serial)
			}
			w.Serial = x509util.FormatSerial(n)
			is, err := acmestate.FindIssued(op.Tx, ep.ID, w.Serial, nil)
			if err != nil {
				return err
			}
			if is == nil {
				return errs.NotFoundf("endpoint %s issued no certificate with serial %s", ep.ID, w.Serial)
			}
			v.CertificateArn = s.core.Names.CertificateARN(is.Certificate.ID)
			v.Serial = w.Serial
			op.Resource(v.CertificateArn)
		}
		v.Start, v.End, v.SetAt = inventory.TS(w.Start), inventory.TS(w.End), inventory.TS(w.SetAt)
		return acmestate.PutRenewalWindow(op.Tx, w)
	})
	return v, err
}
