package certificates

import (
	"context"

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
	given := make([]localstore.Tag, len(tags))
	valueGiven := make([]bool, len(tags))
	for i, t := range tags {
		var err error
		if given[i], valueGiven[i], err = inventory.ParseTagCondition(t); err != nil {
			return nil, err
		}
	}
	params := make([]map[string]string, len(given))
	for i, t := range given {
		params[i] = map[string]string{"Key": t.Key}
		if valueGiven[i] {
			params[i]["Value"] = t.Value
		}
	}
	return s.changeTags(ctx, "RemoveTagsFromCertificate", ref, params, func(c *localstore.Certificate) error {
		c.Tags = inventory.RemoveTags(c.Tags, given, valueGiven)
		return nil
	})
}

// changeTags runs one recorded change of the certificate's tags.
func (s *Service) changeTags(ctx context.Context, eventName, ref string, params any, change func(*localstore.Certificate) error) (*TagList, error) {
	var after []localstore.Tag
	err := s.core.Change(ctx, eventName, func(op *service.Op) error {
		op.Param("CertificateArn", ref)
		op.Param("Tags", params)
		id, err := inventory.ResolveCertificate(op.Tx, ref)
		if err != nil {
			return err
		}
		arn := s.core.Names.CertificateARN(id)
		op.Param("CertificateArn", arn)
		op.Resource(arn)
		c, err := op.Tx.GetCertificate(id)
		if err != nil {
			return err
		}
		if err := change(c); err != nil {
			return err
		}
		after = c.Tags
		c.UpdatedAt = op.Now
		return op.Tx.PutCertificate(c)
	})
	if err != nil {
		return nil, err
	}
	return tagList(after), nil
}

// ListTags returns the tags of the certificate named by ref.
func (s *Service) ListTags(ctx context.Context, ref string) (*TagList, error) {
	var tags []localstore.Tag
	err := s.core.Read(ctx, func(tx localstore.Tx) error {
		id, err := inventory.ResolveCertificate(tx, ref)
		if err != nil {
			return err
		}
		c, err := tx.GetCertificate(id)
		if err != nil {
			return err
		}
		tags = c.Tags
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
