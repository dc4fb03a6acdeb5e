package mock

import (
	"time"
)

// Account-level read-mostly endpoints: billing, regions, settings,
// branding and pricing. Billing figures are derived from what the mock
// account has created this month, so they move as the caller works.

func monthBounds(now time.Time) (time.Time, time.Time) {
	start := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC)
	return start, start.AddDate(0, 1, 0)
}

func getBillingUsage(s *state, c *call) reply {
	start, end := monthBounds(c.now)
	hours, cost := 0.0, 0.0
	for _, cmp := range s.computers.all() {
		h := c.now.Sub(maxTime(cmp.CreatedAt, start)).Hours()
		hours += h
		cost += h * float64(sizes[cmp.Size].centsPerHour)
	}
	for _, sb := range s.sandboxes.all() {
		sb.settle(c.now)
		h := float64(sb.TotalRuntimeSec) / 3600
		hours += h
		cost += h * float64(sizes[sb.Size].centsPerHour)
	}
	var storageBytes int64
	for _, b := range s.buckets.all() {
		for _, o := range b.objects {
			storageBytes += int64(o.Size)
		}
	}
	storageGB := float64(storageBytes) / (1 << 30)
	storageCents := int(storageGB * 2)
	return ok(map[string]any{
		"period_start": start, "period_end": end,
		"compute_hours": round2(hours), "compute_cost_cents": int(cost),
		"storage_gb": round2(storageGB), "storage_cost_cents": storageCents,
		"egress_gb": 0.0, "egress_cost_cents": 0,
		"total_cost_cents": int(cost) + storageCents, "currency": "usd",
	})
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func getBillingPlan(s *state, c *call) reply {
	_, end := monthBounds(c.now)
	return ok(map[string]any{
		"id": "plan_pro", "name": "Pro (mock)", "status": "active", "interval": "month",
		"amount_cents": 2900, "currency": "usd",
		"features": []string{"computers", "sandboxes", "deployments", "databases", "storage", "functions"},
		"limits": map[string]any{
			"max_computers": 10, "max_sandboxes": 50, "max_databases": 5,
			"max_storage_gb": 100, "included_compute_hours": 100,
		},
		"next_billing_date": end.Format("2006-01-02"),
	})
}

// regions is the static region catalog.
var regions = []map[string]any{
	{"id": "us-east-1", "name": "US East (Virginia)", "slug": "us-east-1", "country": "US", "city": "Ashburn", "available": true, "status": "operational", "gpu_types": []string{"a10g", "l4"}},
	{"id": "us-west-2", "name": "US West (Oregon)", "slug": "us-west-2", "country": "US", "city": "Portland", "available": true, "status": "operational", "gpu_types": []string{"a10g"}},
	{"id": "eu-central-1", "name": "EU Central (Frankfurt)", "slug": "eu-central-1", "country": "DE", "city": "Frankfurt", "available": true, "status": "operational", "gpu_types": []string{}},
	{"id": "ap-southeast-1", "name": "Asia Pacific (Singapore)", "slug": "ap-southeast-1", "country": "SG", "city": "Singapore", "available": false, "status": "maintenance", "gpu_types": []string{}},
}

func listRegions(s *state, c *call) reply { return ok(regions) }

func getSettings(s *state, c *call) reply {
	return ok(map[string]any{
		"id": "set_mock", "tenant_id": tenantID,
		"settings": map[string]any{
			"default_region": defaultRegion, "default_computer_size": "small",
			"default_sandbox_template": "miosa-sandbox", "mock": true,
		},
		"updated_at": time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC),
	})
}

// branding is the spec's Branding, updated in place by updateBranding.
type branding struct {
	LogoURL             string    `json:"logo_url,omitempty"`
	FaviconURL          string    `json:"favicon_url,omitempty"`
	PrimaryColor        string    `json:"primary_color,omitempty"`
	AppName             string    `json:"app_name,omitempty"`
	CustomCSS           string    `json:"custom_css,omitempty"`
	DesktopWallpaperURL string    `json:"desktop_wallpaper_url,omitempty"`
	UpdatedAt           time.Time `json:"updated_at,omitzero"`
}

func getBranding(s *state, c *call) reply { return ok(s.branding) }

// updateBranding changes only the fields the body names.
func updateBranding(s *state, c *call) reply {
	var raw map[string]any
	if r := c.bind(&raw); r != nil {
		return *r
	}
	b := &s.branding
	fields := map[string]*string{
		"app_name": &b.AppName, "logo_url": &b.LogoURL, "favicon_url": &b.FaviconURL,
		"primary_color": &b.PrimaryColor, "custom_css": &b.CustomCSS, "desktop_wallpaper_url": &b.DesktopWallpaperURL,
	}
	for k, v := range raw {
		if dst, known := fields[k]; known {
			if str, isStr := v.(string); isStr {
				*dst = str
			}
		}
	}
	b.UpdatedAt = c.now
	return ok(b)
}

func getComputePricing(s *state, c *call) reply {
	bySize := map[string]any{}
	for name, sz := range sizes {
		bySize[name] = map[string]any{"vcpus": sz.vcpus, "memory_mb": sz.memMB, "disk_size_mb": sz.diskMB, "cents_per_hour": sz.centsPerHour}
	}
	return ok(map[string]any{
		"currency": "usd", "sizes": bySize,
		"gpus": map[string]any{"a10g": map[string]any{"cents_per_hour": 110}, "l4": map[string]any{"cents_per_hour": 80}},
	})
}
