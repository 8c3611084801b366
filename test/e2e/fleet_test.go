//go:build e2e

package e2e

import (
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestFleet is the fleet of docs/fleet.md on two simulated clusters (issue
// 28): the same catalogue and integrations applied to both with the real
// kubectl (the second cluster's hubspot contract drifted), the two
// kubeconfigs merged by kubectl into one with contexts prod-eu and
// prod-us, then bin/guardrails agenda, portfolio and dataflow read both
// with --context twice. Every row names its cluster, a vendor is one
// portfolio row whose cost is counted once, and a context that cannot be
// read stops each view with its name.
func TestFleet(t *testing.T) {
	// Two clusters, one after the other (each its own name, KWOK_WORKDIR
	// and ports; no manager: the views read what is stored).
	eu := newCluster(t, "WEBHOOKS=false")
	us := newCluster(t, "WEBHOOKS=false")
	if eu.name == us.name {
		t.Fatalf("both clusters are named %s", eu.name)
	}
	eu.ok("apply", "-f", "config/samples/")
	us.ok("apply", "-f", "config/samples/")
	// Catalogues drift: us-prod's hubspot contract says another amount.
	doc := sampleDocument(t, us.root, "config/samples/02_vendors.yaml", "name: hubspot")
	if !strings.Contains(doc, `amount: "36000.00"`) {
		t.Fatalf("the hubspot sample changed:\n%s", doc)
	}
	if r := us.kubectlIn(strings.Replace(doc, `amount: "36000.00"`, `amount: "40000.00"`, 1), "apply", "-f", "-"); r.code != 0 {
		t.Fatalf("applying the drifted hubspot exited %d:\n%s", r.code, r.out)
	}

	// One kubeconfig for both, as `kubectl config view --flatten` merges
	// them, with the contexts a platform team would name, and one context
	// whose API server does not answer.
	r := run(t, eu.root, eu.env("KUBECONFIG="+eu.kubeconfig+string(os.PathListSeparator)+us.kubeconfig), "", time.Minute,
		filepath.Join(eu.root, "bin", "kubectl"), "config", "view", "--flatten")
	if r.code != 0 {
		t.Fatalf("kubectl config view --flatten exited %d:\n%s", r.code, r.out)
	}
	fleet := filepath.Join(t.TempDir(), "fleet.kubeconfig")
	if err := os.WriteFile(fleet, []byte(r.out), 0o600); err != nil {
		t.Fatal(err)
	}
	kc := func(args ...string) {
		t.Helper()
		r := run(t, eu.root, eu.env(), "", time.Minute, filepath.Join(eu.root, "bin", "kubectl"), append([]string{"--kubeconfig", fleet, "config"}, args...)...)
		if r.code != 0 {
			t.Fatalf("kubectl config %s exited %d:\n%s", strings.Join(args, " "), r.code, r.out)
		}
	}
	kc("rename-context", "kwok-"+eu.name, "prod-eu")
	kc("rename-context", "kwok-"+us.name, "prod-us")
	kc("set-cluster", "nowhere", "--server=https://127.0.0.1:1")
	kc("set-context", "broken", "--cluster=nowhere", "--user=kwok-"+eu.name)
	both := []string{"--kubeconfig", fleet, "--context", "prod-eu", "--context", "prod-us", "--now", "2026-12-01T00:00:00Z"}
	view := func(t *testing.T, args ...string) string {
		t.Helper()
		r := run(t, eu.root, eu.env(), "", time.Minute, filepath.Join(eu.root, "bin", "guardrails"), append(args, both...)...)
		if r.code != 0 {
			t.Fatalf("guardrails %s exited %d:\n%s", strings.Join(args, " "), r.code, r.out)
		}
		return r.out
	}

	t.Run("agenda", func(t *testing.T) {
		var doc struct {
			Items []struct{ Cluster, Kind, Name, What string }
		}
		if err := json.Unmarshal([]byte(view(t, "agenda", "--within", "730d", "-o", "json")), &doc); err != nil {
			t.Fatal(err)
		}
		per := map[string]int{}
		for _, it := range doc.Items {
			per[it.Cluster]++
		}
		if len(per) != 2 || per["prod-eu"] == 0 || per["prod-eu"] != per["prod-us"] {
			t.Errorf("agenda items per cluster %v", per)
		}
	})

	t.Run("portfolio", func(t *testing.T) {
		out := view(t, "portfolio", "-o", "json")
		var doc struct {
			Clusters []string
			Vendors  []struct {
				Vendor       string
				Clusters     []string
				Integrations []string
				AnnualCost   *struct{ Amount, Currency string }
				Usage        []struct {
					Cluster      string
					Integrations []string
				}
				Drift []struct {
					Field  string
					Values []struct{ Cluster, Value string }
				}
			}
			Summary struct {
				Total []struct{ Amount, Currency string }
			}
		}
		if err := json.Unmarshal([]byte(out), &doc); err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		if !slices.Equal(doc.Clusters, []string{"prod-eu", "prod-us"}) || len(doc.Vendors) != 8 {
			t.Fatalf("clusters %v, %d vendors", doc.Clusters, len(doc.Vendors))
		}
		for _, v := range doc.Vendors {
			if len(v.Clusters) == 0 {
				t.Errorf("%s names no cluster", v.Vendor)
			}
			switch v.Vendor {
			case "contentful":
				// One row for both clusters, usage kept per cluster.
				if !slices.Equal(v.Clusters, []string{"prod-eu", "prod-us"}) || len(v.Usage) != 2 || len(v.Usage[0].Integrations) != 2 ||
					!slices.Equal(v.Integrations, []string{"prod-eu/growth-marketing/campaign-pages", "prod-eu/growth-marketing/product-pages",
						"prod-us/growth-marketing/campaign-pages", "prod-us/growth-marketing/product-pages"}) {
					t.Errorf("contentful %+v", v)
				}
			case "hubspot":
				if v.AnnualCost == nil || v.AnnualCost.Amount != "36000.00" || len(v.Drift) != 1 || v.Drift[0].Field != "annualCost" ||
					v.Drift[0].Values[1].Value != "EUR 40000.00" {
					t.Errorf("hubspot %+v", v)
				}
			}
		}
		// Each vendor's cost once: the samples' totals, not twice them.
		var total []string
		for _, a := range doc.Summary.Total {
			total = append(total, a.Currency+" "+a.Amount)
		}
		if !slices.Equal(total, []string{"EUR 69600.00", "USD 66500.00"}) {
			t.Errorf("total %v", total)
		}
		text := view(t, "portfolio")
		t.Logf("bin/guardrails portfolio (two contexts):\n%s", text)
		wantAll(t, "the portfolio", text, "8 vendors in 2 clusters (prod-eu, prod-us)", "DRIFT annualCost: prod-eu EUR 36000.00, prod-us EUR 40000.00",
			"Catalogue drift between clusters (a row shows the first cluster's entry):\n  hubspot: annualCost")
	})

	t.Run("dataflow", func(t *testing.T) {
		var ropa struct {
			Activities []struct{ Cluster, Activity string }
		}
		if err := json.Unmarshal([]byte(view(t, "dataflow", "-o", "ropa-json")), &ropa); err != nil {
			t.Fatal(err)
		}
		per := map[string][]string{}
		for _, a := range ropa.Activities {
			per[a.Cluster] = append(per[a.Cluster], a.Activity)
		}
		if len(per) != 2 || len(per["prod-eu"]) != 7 || !slices.Equal(per["prod-eu"], per["prod-us"]) {
			t.Errorf("records of processing per cluster %v", per)
		}
		rows, err := csv.NewReader(strings.NewReader(view(t, "dataflow", "-o", "csv"))).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		flows := map[string]int{}
		for _, row := range rows[1:] {
			flows[row[len(row)-1]]++
		}
		if rows[0][len(rows[0])-1] != "cluster" || len(flows) != 2 || flows["prod-eu"] == 0 || flows["prod-eu"] != flows["prod-us"] {
			t.Errorf("flows per cluster %v (header %v)", flows, rows[0])
		}
	})

	t.Run("an unreadable context", func(t *testing.T) {
		for _, cmd := range [][]string{{"agenda"}, {"portfolio"}, {"dataflow", "-o", "ropa"}} {
			r := run(t, eu.root, eu.env(), "", time.Minute, filepath.Join(eu.root, "bin", "guardrails"), append(cmd, "--kubeconfig", fleet, "--context", "prod-eu", "--context", "broken")...)
			if r.code != 2 || !strings.Contains(r.out, `context "broken"`) {
				t.Errorf("guardrails %s with an unreadable context exited %d:\n%s", cmd[0], r.code, r.out)
			}
		}
	})
}
