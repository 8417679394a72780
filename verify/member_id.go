package verify

import (
	"fmt"

	"github.com/etcdrill/etcdrill/record"
)

// NewMemberID is the "new-member-id" check: a member that was replaced
// after losing its data dir (`member remove`, then `member add` under the
// same name) is listed exactly once, started, with an ID other than old,
// and old is no longer a member. The same ID would mean the member was
// never removed and came back under its old identity with an empty log.
// old 0 (not recorded) fails.
func NewMemberID(name string, old uint64, after []Member) record.Check {
	c := record.Check{Name: "new-member-id"}
	if old == 0 {
		return failed(c, "no member ID was recorded for "+name+" before the replacement")
	}
	var found []Member
	for _, m := range after {
		if m.Name == name {
			found = append(found, m)
		}
		if m.ID == old {
			c.Details = append(c.Details, fmt.Sprintf("%s still listed with the old id %x", m.label(), old))
		}
	}
	switch {
	case len(found) == 0:
		return failed(c, fmt.Sprintf("%s is not in the member list (old id %x)", name, old))
	case len(found) > 1:
		return failed(c, fmt.Sprintf("%s is listed %d times", name, len(found)))
	case found[0].ID == old:
		return failed(c, fmt.Sprintf("%s kept its old id %x", name, old))
	case len(c.Details) > 0:
		return failed(c, fmt.Sprintf("the old id %x of %s is still a member", old, name))
	}
	return passed(c, fmt.Sprintf("%s id %x → %x", name, old, found[0].ID))
}
