package ca

import (
	"reflect"
	"testing"

	"github.com/certctl/certctl/internal/flagtest"
	"github.com/certctl/certctl/pkg/errs"
)

func TestCaGetCertificateFlags(t *testing.T) {
	o, err := flagtest.Parse(t, NewCmdCaGetCertificate, caARN, "--certificate-arn", caARN+"/certificate/0a0b")
	if err != nil || o.CA != caARN || o.CertificateArn != caARN+"/certificate/0a0b" || o.Serial != "" {
		t.Fatalf("%+v, %v", o, err)
	}
	o, err = flagtest.Parse(t, NewCmdCaGetCertificate, "--certificate-authority-arn", "5f2c9e01", "--serial", "0a:0b")
	if err != nil || o.CA != "5f2c9e01" || o.Serial != "0a:0b" {
		t.Fatalf("%+v, %v", o, err)
	}
	wantExit(t, NewCmdCaGetCertificate, errs.ExitUsage,
		[]string{caARN}, // neither
		[]string{caARN, "--serial", "01", "--certificate-arn", caARN + "/certificate/01"}, // both
		[]string{"--serial", "01"}, // no CA
	)
	wantRejected(t, NewCmdCaGetCertificate, []string{caARN, "--serial"}, []string{caARN, "--pem"})
}

func TestCaGetCACertificateFlags(t *testing.T) {
	o, err := flagtest.Parse(t, NewCmdCaGetCACertificate, "5f2c9e01")
	if err != nil || o.CA != "5f2c9e01" {
		t.Fatalf("%+v, %v", o, err)
	}
	wantExit(t, NewCmdCaGetCACertificate, errs.ExitUsage, []string{}, []string{"a1b2c3d4", "extra"})
}

func TestCaRevokeCertificateFlags(t *testing.T) {
	o, err := flagtest.Parse(t, NewCmdCaRevokeCertificate, caARN, "--serial", "0a:0b", "--revocation-reason", "KEY_COMPROMISE")
	want := RevokeCertificateOptions{CA: caARN, Serial: "0a:0b", Reason: "KEY_COMPROMISE"}
	if err != nil || o.CA != want.CA || o.Serial != want.Serial || o.Reason != want.Reason || o.CertificateArn != "" {
		t.Fatalf("%+v, %v", o, err)
	}
	// The AWS CLI's --certificate-serial is an alias.
	o, err = flagtest.Parse(t, NewCmdCaRevokeCertificate, caARN, "--certificate-serial", "0a", "--revocation-reason", "SUPERSEDED")
	if err != nil || o.Serial != "0a" {
		t.Fatalf("%+v, %v", o, err)
	}
	wantExit(t, NewCmdCaRevokeCertificate, errs.ExitUsage,
		[]string{caARN, "--serial", "01"}, // no reason
		[]string{caARN, "--serial", "01", "--revocation-reason", "BORED"},
		[]string{caARN, "--revocation-reason", "SUPERSEDED"}, // no certificate
		[]string{caARN, "--serial", "01", "--certificate-arn", caARN + "/certificate/01", "--revocation-reason", "SUPERSEDED"},
	)
}

func TestCaAuditReportFlags(t *testing.T) {
	o, err := flagtest.Parse(t, NewCmdCaAuditReport, caARN)
	if err != nil || o.CA != caARN || o.Format != "JSON" || o.OutFile != "" {
		t.Fatalf("%+v, %v", o, err)
	}
	o, err = flagtest.Parse(t, NewCmdCaAuditReport, caARN, "--format", "CSV", "--out-file", "r.csv")
	if err != nil || o.Format != "CSV" || o.OutFile != "r.csv" {
		t.Fatalf("%+v, %v", o, err)
	}
	// SPEC names the formats JSON and CSV; like every enumeration they
	// are exact.
	wantExit(t, NewCmdCaAuditReport, errs.ExitUsage, []string{caARN, "--format", "XML"}, []string{caARN, "--format", "csv"}, []string{caARN, "--format", "json"})
}

func TestCaImportFlags(t *testing.T) {
	o, err := flagtest.Parse(t, NewCmdCaImport, "--certificate", "ca.pem", "--private-key", "file://ca.key",
		"--certificate-chain", "root.pem", "--tags", "env=prod", "--tags", "Key=team,Value=pki")
	if err != nil {
		t.Fatal(err)
	}
	got := ImportOptions{CertFile: o.CertFile, KeyFile: o.KeyFile, ChainFile: o.ChainFile, Tags: o.Tags}
	want := ImportOptions{CertFile: "ca.pem", KeyFile: "file://ca.key", ChainFile: "root.pem", Tags: []string{"env=prod", "Key=team,Value=pki"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%+v, want %+v", got, want)
	}
	wantExit(t, NewCmdCaImport, errs.ExitUsage,
		[]string{"--certificate", "ca.pem"},
		[]string{"--private-key", "ca.key"},
		[]string{"--certificate", "ca.pem", "--private-key", "ca.key", "extra"},
	)
}
