package audit

// EventNames are the names certctl records changes under: the AWS API
// name where AWS has one (ACM, AWS Private CA, ACM's ACME endpoints),
// RFC 8555's resource names for what an ACME client does, and certctl's
// own, in the same style, for what AWS does for you out of sight (renewal
// bookkeeping, deploy targets, vault operations). `audit list
// --event-name` completes them.
var EventNames = []string{
	// Certificates (ACM).
	"RequestCertificate", "ImportCertificate", "ExportCertificate", "RevokeCertificate", "DeleteCertificate",
	"AddTagsToCertificate", "RemoveTagsFromCertificate", "RenewCertificate", "UpdateCertificateOptions",
	"PutAccountConfiguration", "ResendValidationEmail",
	// Validation, renewal and deployment (certctl's own).
	"CheckDomainValidation", "ApproveDomainValidation", "RecordRenewalFailure", "ExpireCertificate",
	"NotifyApproachingExpiration", "DeployCertificate", "RemoveDeployTarget",
	// Certificate authorities (AWS Private CA).
	"CreateCertificateAuthority", "UpdateCertificateAuthority", "DeleteCertificateAuthority",
	"RestoreCertificateAuthority", "IssueCertificate", "ImportCertificateAuthority",
	"ImportCertificateAuthorityCertificate", "CreateCertificateAuthorityCrl", "TagCertificateAuthority",
	"UntagCertificateAuthority",
	// ACME endpoints (ACM) and their domains and credentials.
	"CreateAcmeEndpoint", "UpdateAcmeEndpoint", "DeleteAcmeEndpoint", "TagAcmeEndpoint", "UntagAcmeEndpoint",
	"CreateExternalAccountBinding", "RevokeExternalAccountBinding", "AddAcmeDomain", "RemoveAcmeDomain",
	"CheckAcmeDomain", "DeactivateAcmeAccount", "SweepAcmeResources", "SetAcmeRenewalWindow",
	// What ACME clients do (RFC 8555).
	"NewAccount", "UpdateAccount", "DeactivateAccount", "KeyChange", "NewOrder", "FinalizeOrder",
	"InvalidateOrder", "DeactivateAuthorization", "RespondToChallenge", "ValidateChallenge", "CountIssuanceFailure",
	// The vault.
	"BackupVault", "RestoreVault", "AcceptRestoredAuditLog", "RotateVaultKey", "ChangeVaultPassphrase", "MigrateVault",
}
