package certificates

import (
	"context"
	"strings"
	"time"

	"github.com/certctl/certctl/pkg/acmestate"
	"github.com/certctl/certctl/pkg/arn"
	"github.com/certctl/certctl/pkg/authority"

	"github.com/certctl/certctl/pkg/inventory"
	"github.com/certctl/certctl/pkg/localstore"
	"github.com/certctl/certctl/pkg/service"
)

// TagList is a certificate's tags (`tags list`, and the tags after `tags
// add|remove`).
type TagList struct {
	Tags []localstore.Tag `json:"Tags"`
}

// AddTags adds tags (--tags values: Key=K,Value=V or K=V) to the
// certificate named by ref, replacing the value of a key it already has,
// by ACM's tag rules (AddTagsToCertificate). It returns the tags after.
func (s *Service) AddTags(ctx context.Context, ref string, tags []string) (*TagList, error) {
	given, err := inventory.ParseTags(tags)
	if err != nil {
		return nil, err
	}
	return s.changeTags(ctx, "AddTagsToCertificate", ref, given, func(c *localstore.Certificate) error {
		var err error
		c.Tags, err = inventory.MergeTags(c.Tags, given)
		return err
	})
}

// RemoveTags removes tags from the certificate named by ref: by key when a
// value is not given, by key and value when it is
// (RemoveTagsFromCertificate). A tag that is not there is no error. It
// returns the tags after.
func (s *Service) RemoveTags(ctx context.Context, ref string, tags []string) (*TagList, error) {
	given, valueGiven, params, err := parseTagConditions(tags)
	if err != nil {
		return nil, err
	}
	return s.changeTags(ctx, "RemoveTagsFromCertificate", ref, params, func(c *localstore.Certificate) error {
		c.Tags = inventory.RemoveTags(c.Tags, given, valueGiven)
		return nil
	})
}

// taggedKind is the kind of resource ref names by its ARN: a CA's or an
// endpoint's, else a certificate (its ARN, or a UUID or prefix before it
// is resolved: see inventory.ResolveTagged).
func taggedKind(ref string) string {
	if a, err := arn.Parse(strings.TrimSpace(ref)); err == nil && (a.Kind == arn.CertificateAuthority || a.Kind == arn.AcmeEndpoint) {
		return a.Kind
	}
	return arn.Certificate
}

// taggedParams is the request parameter naming a resource of each kind.
var taggedParams = map[string]string{
	arn.Certificate:          "CertificateArn",
	arn.CertificateAuthority: "CertificateAuthorityArn",
	arn.AcmeEndpoint:         "AcmeEndpointArn",
}

// changeTags runs one recorded change of the tags of the resource ref
// names (see resolveTagged). eventName is the certificate's API name; a CA
// or an endpoint records its own (see taggedEventNames).
func (s *Service) changeTags(ctx context.Context, eventName, ref string, params any, change func(*localstore.Certificate) error) (*TagList, error) {
	var after []localstore.Tag
	err := s.core.Change(ctx, eventName, func(op *service.Op) error {
		op.Param("Tags", params)
		// Named by the kind its ARN gives, found or not: a refusal of a
		// CA's or an endpoint's tags is recorded under its own API name.
		kind := taggedKind(ref)
		r, err := s.resolveTagged(op.Tx, ref)
		if err == nil {
			// A UUID or prefix names its kind only once resolved.
			kind = r.kind
		}
		if kind != arn.Certificate {
			op.Rename(taggedEventNames[kind][eventName])
		}
		if err != nil {
			op.Param(taggedParams[kind], ref)
			return err
		}
		op.Param(r.param, r.arn)
		op.Resource(r.arn)
		// The change works on a certificate's tags whatever the resource.
		holder := &localstore.Certificate{Tags: *r.tags}
		if r.cert != nil {
			holder = r.cert
		}
		if err := change(holder); err != nil {
			return err
		}
		*r.tags, after = holder.Tags, holder.Tags
		return r.put(op.Now)
	})
	if err != nil {
		return nil, err
	}
	return tagList(after), nil
}

// taggedEventNames are the API names of tag changes of CAs (AWS Private
// CA's) and ACME endpoints (certctl's, in the same style), by the
// certificate's API name.
var taggedEventNames = map[string]map[string]string{
	arn.CertificateAuthority: {"AddTagsToCertificate": "TagCertificateAuthority", "RemoveTagsFromCertificate": "UntagCertificateAuthority"},
	arn.AcmeEndpoint:         {"AddTagsToCertificate": "TagAcmeEndpoint", "RemoveTagsFromCertificate": "UntagAcmeEndpoint"},
}

// taggedResource is a resource with tags: a certificate, a CA or an ACME
// endpoint.
type taggedResource struct {
	kind, arn, param string
	tags             *[]localstore.Tag
	cert             *localstore.Certificate // for a certificate
	put              func(now time.Time) error
}

// resolveTagged finds the resource whose tags ref names: a certificate, a
// CA or an ACME endpoint, by its ARN, UUID or unique prefix
// (inventory.ResolveTagged).
func (s *Service) resolveTagged(tx localstore.Tx, ref string) (*taggedResource, error) {
	kind, id, err := inventory.ResolveTagged(tx, s.core.Names, ref)
	if err != nil {
		return nil, err
	}
	switch kind {
	case arn.CertificateAuthority:
		r, err := authority.Get(tx, id)
		if err != nil {
			return nil, err
		}
		return &taggedResource{kind: kind, arn: s.core.Names.CAARN(r.ID), param: taggedParams[kind], tags: &r.Tags,
			put: func(time.Time) error { return authority.Put(tx, r) }}, nil
	case arn.AcmeEndpoint:
		e, err := acmestate.Get(tx, id)
		if err != nil {
			return nil, err
		}
		return &taggedResource{kind: kind, arn: s.core.Names.EndpointARN(e.ID), param: taggedParams[kind], tags: &e.Tags,
			put: func(now time.Time) error { e.UpdatedAt = now; return acmestate.Put(tx, e) }}, nil
	}
	c, err := tx.GetCertificate(id)
	if err != nil {
		return nil, err
	}
	return &taggedResource{kind: arn.Certificate, arn: s.core.Names.CertificateARN(id), param: taggedParams[arn.Certificate], tags: &c.Tags, cert: c,
		put: func(now time.Time) error { c.UpdatedAt = now; return tx.PutCertificate(c) }}, nil
}

// ListTags returns the tags of the certificate, CA or ACME endpoint ref
// names.
func (s *Service) ListTags(ctx context.Context, ref string) (*TagList, error) {
	var tags []localstore.Tag
	err := s.core.Read(ctx, func(tx localstore.Tx) error {
		r, err := s.resolveTagged(tx, ref)
		if err != nil {
			return err
		}
		tags = *r.tags
		return nil
	})
	if err != nil {
		return nil, err
	}
	return tagList(tags), nil
}

func tagList(tags []localstore.Tag) *TagList {
	if tags == nil {
		tags = []localstore.Tag{}
	}
	return &TagList{Tags: tags}
}
