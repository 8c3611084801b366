// Package agenda builds the shared to-do list of the CIO and the CMO: every
// dated decision the martech objects carry (contract notice deadlines and
// renewals, DPA and security-review expiries, PolicyExceptions expiring,
// campaigns ending and archiving, credentials reaching the standard's
// maximum age), earliest first, with who should act and what it costs.
//
// It decides nothing itself: every date comes from internal/policy
// (Deadlines, NoticeBy, Expired, CredentialsStaleAt) or internal/render
// (PhaseAt, ArchiveAt), the code the operator, the audit and the policies
// use. The package is pure: objects, the standard and the Secrets' metadata
// come in through Source, items go out through the writers.
package agenda

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/martech-guardrails/guardrails/api/v1alpha1"
	"github.com/martech-guardrails/guardrails/internal/policy"
	"github.com/martech-guardrails/guardrails/internal/render"
)

// What an item is about: Item.What. The order is the order of items due at
// the same instant for the same object.
const (
	WhatNotice          = "contract-notice"
	WhatRenewal         = "contract-renewal"
	WhatDPA             = "dpa-expiry"
	WhatSecurityReview  = "security-review-expiry"
	WhatException       = "exception-expiry"
	WhatCampaignEnd     = "campaign-end"
	WhatCampaignArchive = "campaign-archive"
	WhatCredentials     = "credentials-max-age"
)

var whatOrder = []string{WhatNotice, WhatRenewal, WhatDPA, WhatSecurityReview, WhatException, WhatCampaignEnd, WhatCampaignArchive, WhatCredentials}

// Catalogue is who acts on a Vendor without spec.owner: IT, who curates the
// catalogue.
const Catalogue = "IT (catalogue)"

// NoOwner is who acts on a workload or integration that names no owner.
const NoOwner = "unknown (no spec.owner)"

// DefaultWithin is how far ahead the agenda looks by default: 90 days.
const DefaultWithin = 90 * policy.Day

// Object is one of the inputs with where it was read.
type Object struct {
	// Object is a typed object of api/v1alpha1 (*v1alpha1.Vendor, ...);
	// other kinds are ignored.
	Object client.Object
	// Pos is "file:line" of its document; "" for an object read from a
	// cluster.
	Pos string
}

// Source is one set of objects: the files, or one cluster. A fleet is
// several Sources, each with its Cluster name.
type Source struct {
	// Cluster names the cluster the objects were read from; "" for files
	// or a single cluster. It is part of every item (and of its calendar
	// UID).
	Cluster string
	Objects []Object
	// Standard returns the PlatformStandard in force for a namespace (nil:
	// none, the defaults apply).
	Standard func(ctx context.Context, namespace string) *v1alpha1.PlatformStandard
	// Secret returns what is known of a Secret's metadata; an info that
	// does not exist (or without times) leaves the credentials' date
	// unknown, and the item out.
	Secret func(ctx context.Context, namespace, name string) (policy.SecretInfo, error)
}

// Money is an amount in a currency, as a Vendor's contract gives it.
type Money struct {
	Amount   string `json:"amount"`
	Currency string `json:"currency"`
}

// Item is one dated decision.
type Item struct {
	// At is when it happens (UTC, whole seconds).
	At time.Time `json:"at"`
	// What is the kind of decision (WhatNotice, ...).
	What string `json:"what"`
	// Summary says in a sentence what happens and what to do.
	Summary string `json:"summary"`
	// Overdue: At has passed and the decision is still open.
	Overdue bool `json:"overdue"`
	// Days is the number of whole days from now to At; negative when it
	// has passed.
	Days int `json:"days"`
	// Cluster is the Source's cluster name; "" for files or one cluster.
	Cluster   string `json:"cluster,omitempty"`
	Kind      string `json:"kind"`
	Namespace string `json:"namespace,omitempty"`
	Name      string `json:"name"`
	// Pos is "file:line" of the object; "" when read from a cluster.
	Pos string `json:"source,omitempty"`
	// Who should act: the owner's contact (team), Catalogue, NoOwner, or
	// for an exception its targets' owners (else its approver).
	Who string `json:"who"`
	// AutoRenew, for contract items: whether the contract renews by itself.
	AutoRenew *bool `json:"autoRenew,omitempty"`
	// Cost is the Vendor contract's annual cost, for vendor items.
	Cost *Money `json:"annualCost,omitempty"`
}

// Object is "Kind namespace/name", or "Kind name" for cluster-scoped kinds.
func (it Item) Object() string {
	if it.Namespace == "" {
		return it.Kind + " " + it.Name
	}
	return it.Kind + " " + it.Namespace + "/" + it.Name
}

// Options say when and how far ahead the agenda looks.
type Options struct {
	// Now is the instant the agenda is made at.
	Now time.Time
	// Within is how far ahead of Now items are listed (DefaultWithin when
	// zero). Overdue items are listed whatever their date.
	Within time.Duration
}

// Build returns the items of every source due within opts.Within of
// opts.Now, and those overdue, earliest first (on a tie: by cluster, kind,
// namespace, name, then in the order of the What constants).
func Build(ctx context.Context, sources []Source, opts Options) ([]Item, error) {
	now := opts.Now.UTC().Truncate(time.Second)
	within := cmp.Or(opts.Within, DefaultWithin)
	end := now.Add(within)
	var out []Item
	for i := range sources {
		b := builder{src: &sources[i], now: now}
		if err := b.build(ctx); err != nil {
			return nil, err
		}
		for _, it := range b.items {
			if it.Overdue || !it.At.After(end) {
				it.Days = days(it.At.Sub(now))
				out = append(out, it)
			}
		}
	}
	slices.SortStableFunc(out, compare)
	return out, nil
}

func compare(a, b Item) int {
	return cmp.Or(
		a.At.Compare(b.At),
		cmp.Compare(a.Cluster, b.Cluster),
		cmp.Compare(a.Kind, b.Kind),
		cmp.Compare(a.Namespace, b.Namespace),
		cmp.Compare(a.Name, b.Name),
		cmp.Compare(slices.Index(whatOrder, a.What), slices.Index(whatOrder, b.What)),
	)
}

// days is d in whole days, rounded toward zero.
func days(d time.Duration) int { return int(d / policy.Day) }

// builder gathers the items of one source.
type builder struct {
	src   *Source
	now   time.Time
	items []Item
	// owners of the workloads and integrations, by "Kind/namespace/name",
	// for the exceptions that waive policies for them; users of an
	// integration, by namespace/name, for an integration without owner.
	owners map[string]string
	users  map[string][]string
}

func (b *builder) add(o Object, what string, at time.Time, overdue bool, who, summary string) *Item {
	b.items = append(b.items, Item{
		At:        at.UTC().Truncate(time.Second),
		What:      what,
		Summary:   summary,
		Overdue:   overdue,
		Cluster:   b.src.Cluster,
		Kind:      kindOf(o.Object),
		Namespace: o.Object.GetNamespace(),
		Name:      o.Object.GetName(),
		Pos:       o.Pos,
		Who:       who,
	})
	return &b.items[len(b.items)-1]
}

// kindOf is the kind of one of our typed objects (v1alpha1.KindOf, whatever
// its TypeMeta says), else what its TypeMeta says.
func kindOf(obj client.Object) string {
	if k, ours := v1alpha1.KindOf(obj); ours {
		return k.Name
	}
	return obj.GetObjectKind().GroupVersionKind().Kind
}

func (b *builder) build(ctx context.Context) error {
	b.owners, b.users = map[string]string{}, map[string][]string{}
	for _, o := range b.src.Objects {
		switch x := o.Object.(type) {
		case *v1alpha1.MarketingWorkload:
			who := ownerOf(&x.Spec.Owner)
			if who != "" {
				b.owners[key(v1alpha1.KindMarketingWorkload, x.Namespace, x.Name)] = who
				for _, ref := range x.Spec.Integrations {
					k := x.Namespace + "/" + ref.Name
					if !slices.Contains(b.users[k], who) {
						b.users[k] = append(b.users[k], who)
					}
				}
			}
		case *v1alpha1.SaaSIntegration:
			if who := ownerOf(x.Spec.Owner); who != "" {
				b.owners[key(v1alpha1.KindSaaSIntegration, x.Namespace, x.Name)] = who
			}
		case *v1alpha1.Vendor:
			if who := ownerOf(x.Spec.Owner); who != "" {
				b.owners[key(v1alpha1.KindVendor, "", x.Name)] = who
			}
		}
	}
	for _, o := range b.src.Objects {
		switch x := o.Object.(type) {
		case *v1alpha1.Vendor:
			b.vendor(o, x)
		case *v1alpha1.PolicyException:
			b.exception(o, x)
		case *v1alpha1.MarketingWorkload:
			b.workload(ctx, o, x)
		case *v1alpha1.SaaSIntegration:
			if err := b.credentials(ctx, o, x); err != nil {
				return err
			}
		}
	}
	return nil
}

func key(kind, namespace, name string) string { return kind + "/" + namespace + "/" + name }

// ownerOf is "team <contact>", the contact or the team alone; "" for none.
func ownerOf(o *v1alpha1.Owner) string {
	switch {
	case o == nil:
		return ""
	case o.Team != "" && o.Contact != "":
		return o.Team + " <" + o.Contact + ">"
	case o.Contact != "":
		return o.Contact
	}
	return o.Team
}

func dateOf(t time.Time) string { return t.UTC().Format(time.DateOnly) }

// vendor lists a Vendor's deadlines (policy.Deadlines). A passed deadline
// stays on the agenda while it is still open: a notice deadline until the
// renewal, a renewal until the contract records the next one, an expired
// DPA or security review until it is renewed.
func (b *builder) vendor(o Object, v *v1alpha1.Vendor) {
	who := cmp.Or(ownerOf(v.Spec.Owner), Catalogue)
	var cost *Money
	var auto *bool
	if c := v.Spec.Contract; c != nil {
		if c.AnnualCost != nil {
			cost = &Money{Amount: c.AnnualCost.Amount, Currency: c.AnnualCost.Currency}
		}
		a := c.AutoRenew
		auto = &a
	}
	deadlines := policy.Deadlines(v)
	var renewal time.Time
	for _, d := range deadlines {
		if d.What == policy.DeadlineRenewal {
			renewal = d.At
		}
	}
	for _, d := range deadlines {
		passed := d.Passed(b.now)
		var it *Item
		switch d.What {
		case policy.DeadlineNotice:
			renewed := policy.Expired(renewal, b.now)
			if passed && renewed {
				continue // the renewal item says what is open
			}
			it = b.add(o, WhatNotice, d.At, passed, who, noticeSummary(v, renewal, *auto, passed))
			it.AutoRenew = auto
		case policy.DeadlineRenewal:
			it = b.add(o, WhatRenewal, d.At, passed, who, renewalSummary(v, *auto, passed))
			it.AutoRenew = auto
		case policy.DeadlineDPA:
			ref := ""
			if r := v.Spec.DPA.Reference; r != "" {
				ref = " " + r
			}
			s := fmt.Sprintf("DPA%s with %s expires: renew it before sensitive data stops being allowed", ref, v.Spec.DisplayName)
			if passed {
				s = fmt.Sprintf("DPA%s with %s has expired: sensitive data needs a signed, unexpired DPA; renew it and update spec.dpa.expires", ref, v.Spec.DisplayName)
			}
			it = b.add(o, WhatDPA, d.At, passed, who, s)
		case policy.DeadlineSecurityReview:
			s := fmt.Sprintf("security review of %s expires: schedule the next review", v.Spec.DisplayName)
			if passed {
				s = fmt.Sprintf("security review of %s has expired: review the vendor again and update spec.securityReview", v.Spec.DisplayName)
			}
			it = b.add(o, WhatSecurityReview, d.At, passed, who, s)
		default:
			continue
		}
		it.Cost = cost
	}
}

func noticeSummary(v *v1alpha1.Vendor, renewal time.Time, auto, passed bool) string {
	name := v.Spec.DisplayName
	switch {
	case auto && passed:
		return fmt.Sprintf("notice deadline for %s has passed: the contract renews automatically on %s", name, dateOf(renewal))
	case auto:
		return fmt.Sprintf("last day to give notice on %s: the contract auto-renews on %s unless notice is given", name, dateOf(renewal))
	case passed:
		return fmt.Sprintf("notice deadline for %s has passed: the contract ends on %s (no auto-renewal) unless a renewal is agreed", name, dateOf(renewal))
	}
	return fmt.Sprintf("decide on %s: the contract ends on %s (no auto-renewal); agree a renewal or plan the exit", name, dateOf(renewal))
}

func renewalSummary(v *v1alpha1.Vendor, auto, passed bool) string {
	name := v.Spec.DisplayName
	switch {
	case passed:
		return fmt.Sprintf("renewal date of %s has passed: record the new term in spec.contract.renewsAt, or retire the vendor", name)
	case auto:
		return fmt.Sprintf("contract with %s auto-renews for another term", name)
	}
	return fmt.Sprintf("contract with %s ends (no auto-renewal)", name)
}

// exception lists when a PolicyException stops waiving; an expired one
// stays listed (overdue) while it exists: delete it, or fix its targets.
func (b *builder) exception(o Object, ex *v1alpha1.PolicyException) {
	at := ex.Spec.ExpiresAt.Time
	if at.IsZero() {
		return
	}
	var whos, targets []string
	for _, t := range ex.Spec.Targets {
		targets = append(targets, string(t.Kind)+" "+t.Name)
		ns := ex.Namespace
		if t.Kind == v1alpha1.KindVendor {
			ns = ""
		}
		owners := b.users[ns+"/"+t.Name] // the workloads using an integration
		if who, ok := b.owners[key(string(t.Kind), ns, t.Name)]; ok {
			owners = []string{who}
		} else if t.Kind != v1alpha1.KindSaaSIntegration {
			owners = nil
		}
		for _, who := range owners {
			if !slices.Contains(whos, who) {
				whos = append(whos, who)
			}
		}
	}
	who := strings.Join(whos, ", ")
	if who == "" {
		who = "approver " + ex.Spec.ApprovedBy
	}
	passed := !policy.ExceptionActive(ex, b.now)
	waived := strings.Join(ex.Spec.Policies, ", ")
	s := fmt.Sprintf("exception expires: %s stop being waived for %s; fix them or ask %s to renew", waived, strings.Join(targets, ", "), ex.Spec.ApprovedBy)
	if passed {
		s = fmt.Sprintf("exception has expired: %s no longer waived for %s; delete it once they comply", waived, strings.Join(targets, ", "))
	}
	b.add(o, WhatException, at, passed, who, s)
}

// workload lists when a campaign ends and when it is archived, as
// render.PhaseAt moves it; both are done by the operator, so nothing that
// has passed stays on the agenda.
func (b *builder) workload(ctx context.Context, o Object, mw *v1alpha1.MarketingWorkload) {
	c := mw.Spec.Campaign
	if c == nil {
		return
	}
	std := b.standard(ctx, mw.Namespace)
	if render.PhaseAt(mw, std, b.now).Phase == v1alpha1.PhaseArchived {
		return
	}
	who := cmp.Or(ownerOf(&mw.Spec.Owner), NoOwner)
	if end := c.EndsAt.Time; end.After(b.now) {
		b.add(o, WhatCampaignEnd, end, false, who,
			fmt.Sprintf("campaign %s ends: the workload scales to zero and its ingress is removed; extend endsAt to keep it live", c.Name))
	}
	if archive, ok := render.ArchiveAt(mw, std); ok && archive.After(b.now) {
		b.add(o, WhatCampaignArchive, archive, false, who,
			fmt.Sprintf("campaign %s is archived: the workload's objects are deleted, the record kept", c.Name))
	}
}

func (b *builder) standard(ctx context.Context, namespace string) *v1alpha1.PlatformStandard {
	if b.src.Standard == nil {
		return nil
	}
	return b.src.Standard(ctx, namespace)
}

// credentials lists when an integration's credentials grow older than the
// standard's credentials.maxAge (policy.CredentialsStaleAt, the
// credential-age rule); stale ones stay listed (overdue) until rotated.
// Without the Secret's creation or rotation time the date is unknown and
// nothing is listed.
func (b *builder) credentials(ctx context.Context, o Object, si *v1alpha1.SaaSIntegration) error {
	if si.Spec.Credentials == nil || si.Spec.Credentials.SecretName == "" || b.src.Secret == nil {
		return nil
	}
	std := b.standard(ctx, si.Namespace)
	if std == nil || std.Spec.Credentials.MaxAge == nil {
		return nil
	}
	name := si.Spec.Credentials.SecretName
	info, err := b.src.Secret(ctx, si.Namespace, name)
	if err != nil {
		return err
	}
	maxAge := std.Spec.Credentials.MaxAge.Duration
	at, ok := policy.CredentialsStaleAt(info, maxAge)
	if !ok {
		return nil
	}
	who := ownerOf(si.Spec.Owner)
	if who == "" {
		who = strings.Join(b.users[si.Namespace+"/"+si.Name], ", ")
	}
	who = cmp.Or(who, NoOwner)
	passed := policy.Expired(at, b.now)
	last := dateOf(info.LastRotation())
	s := fmt.Sprintf("credentials in Secret %s (last rotated %s) pass the standard's maximum age of %s: rotate them with %s", name, last, Duration(maxAge), si.Spec.Vendor)
	if passed {
		s = fmt.Sprintf("credentials in Secret %s (last rotated %s) are older than the standard's maximum age of %s: rotate them with %s and record the rotation", name, last, Duration(maxAge), si.Spec.Vendor)
	}
	b.add(o, WhatCredentials, at, passed, who, s)
	return nil
}

// Duration is d for people: "90 days" when it is whole days, else as Go
// writes it ("36h0m0s").
func Duration(d time.Duration) string {
	switch {
	case d == policy.Day:
		return "1 day"
	case d > 0 && d%policy.Day == 0:
		return fmt.Sprintf("%d days", d/policy.Day)
	}
	return d.String()
}
