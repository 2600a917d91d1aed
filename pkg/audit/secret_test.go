package audit

import "testing"

// TestSecretName: the names whose values stay out of the record, in any
// case, with the pairs of words joined or one character apart; and names
// that only look close.
func TestSecretName(t *testing.T) {
	for name, want := range map[string]bool{
		"Passphrase": true, "NewPassword": true, "ClientSecret": true, "HmacKey": true, "Pin": true,
		"MacKey": true, "mac_key": true, "EabMacKey": true, "PrivateKey": true, "private-key": true,
		"ApprovalCode": true, "approval code": true, "code": true, "CODE": true, "TokenValue": true,
		"token.value": true, "xPINx": true, "macXkey": true,
		"CertificateArn": false, "DomainName": false, "Codes": false, "StatusCode": false,
		"mac__key": false, "private\nkey": false, "Token": false, "Key": false, "": false,
		"paſſword": true, "MACKEY": true,
	} {
		if got := secretName(name); got != want {
			t.Errorf("secretName(%q) = %v, want %v", name, got, want)
		}
	}
}

// FuzzSecretName: the check without a regular expression says what the
// expression it replaced says, on any name.
func FuzzSecretName(f *testing.F) {
	for _, s := range []string{"Passphrase", "mac_key", "mac\nkey", "code", "Code ", "aprivatekey", "tokenXvalue", "K", "ſecret", "İpin"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		if got, want := secretName(name), secretParam().MatchString(name); got != want {
			t.Errorf("secretName(%q) = %v, the expression says %v", name, got, want)
		}
	})
}
