package acmestate

import (
	"slices"
	"strings"
	"time"

	"github.com/certctl/certctl/pkg/arn"
	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/inventory"
	"github.com/certctl/certctl/pkg/localstore"
)

// ListAccounts returns the accounts of an endpoint, oldest first (ties by
// ID, so that the order is stable).
func ListAccounts(tx localstore.Tx, endpointID string) ([]*Account, error) {
	all, err := listJSON[Account](tx, KindAccount)
	if err != nil {
		return nil, err
	}
	all = slices.DeleteFunc(all, func(a *Account) bool { return a.EndpointID != endpointID })
	slices.SortFunc(all, func(a, b *Account) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return all, nil
}

// CountOrders returns the number of orders of each account of an endpoint.
func CountOrders(tx localstore.Tx, endpointID string) (map[string]int, error) {
	all, err := listJSON[Order](tx, KindOrder)
	if err != nil {
		return nil, err
	}
	out := map[string]int{}
	for _, o := range all {
		if o.EndpointID == endpointID {
			out[o.AccountID]++
		}
	}
	return out, nil
}

// ResolveAccount finds an account of endpoint e by ID or unique prefix (at
// least 6 characters).
func ResolveAccount(tx localstore.Tx, e *Endpoint, arg string) (*Account, error) {
	arg = strings.ToLower(strings.TrimSpace(arg))
	if i := strings.LastIndex(arg, "/acct/"); i >= 0 { // an account URL (kid)
		arg = arg[i+len("/acct/"):]
	}
	if err := arn.CheckLength(arg); err != nil {
		return nil, errs.Invalidf("%v", err)
	}
	if len(arg) < 6 {
		return nil, errs.Invalidf("account ID prefix %q is too short (at least 6 characters)", arg)
	}
	ids, err := tx.FindObjectIDs(KindAccount, arg, 10)
	if err != nil {
		return nil, err
	}
	var match []*Account
	for _, id := range ids {
		a, err := GetAccount(tx, id)
		if err != nil {
			return nil, err
		}
		if a.EndpointID == e.ID {
			if id == arg {
				return a, nil
			}
			match = append(match, a)
		}
	}
	switch len(match) {
	case 0:
		return nil, errs.NotFoundf("ACME account %s not found for endpoint %s", arg, e.ID)
	case 1:
		return match[0], nil
	}
	return nil, errs.Invalidf("account ID %q is ambiguous", arg)
}

// DeactivateAccount deactivates account a (RFC 8555 7.3.6): every further
// request signed by its key is refused. It reports whether a was valid.
func DeactivateAccount(tx localstore.Tx, a *Account, now time.Time) (bool, error) {
	if a.Status == AcmeDeactivated {
		return false, nil
	}
	a.Status, a.UpdatedAt = AcmeDeactivated, now
	return true, PutAccount(tx, a)
}

// Account statuses as listed by `endpoint account list`.
const (
	AccountValid       = "VALID"
	AccountDeactivated = "DEACTIVATED"
)

// AccountView is the JSON form of an ACME account (`endpoint account
// list`); Orders is the number of its orders the vault still keeps.
type AccountView struct {
	AccountID string               `json:"AccountId"`
	Status    string               `json:"Status"`
	Contact   []string             `json:"Contact"`
	CreatedAt *inventory.Timestamp `json:"CreatedAt,omitempty"`
	EabKeyID  string               `json:"EabKeyId"`
	Orders    int                  `json:"Orders"`
}

// ViewAccount builds the JSON form of a with its number of orders.
func ViewAccount(a *Account, orders int) AccountView {
	c := a.Contact
	if c == nil {
		c = []string{}
	}
	return AccountView{AccountID: a.ID, Status: strings.ToUpper(a.Status), Contact: c, CreatedAt: inventory.TS(a.CreatedAt),
		EabKeyID: a.EABKeyID, Orders: orders}
}
