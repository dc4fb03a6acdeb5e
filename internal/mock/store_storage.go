package mock

import (
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"path"
	"sort"
	"strings"
	"time"
)

// bucket is the spec's Bucket; its objects are kept by key.
type bucket struct {
	meta
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	TenantID  string    `json:"tenant_id"`
	Region    string    `json:"region"`
	Public    bool      `json:"public"`
	CreatedAt time.Time `json:"created_at,omitzero"`
	UpdatedAt time.Time `json:"updated_at,omitzero"`

	objects map[string]*object
}

// object is a stored object: raw bytes plus the spec's StorageObject fields.
type object struct {
	Key          string    `json:"key"`
	Size         int       `json:"size"`
	ContentType  string    `json:"content_type"`
	ETag         string    `json:"etag"`
	LastModified time.Time `json:"last_modified,omitzero"`

	data []byte
}

const defaultRegion = "us-east-1"

func listBuckets(s *state, c *call) reply { return ok(s.buckets.all()) }

func createBucket(s *state, c *call) reply {
	body := struct {
		Name   string `json:"name"`
		Region string `json:"region"`
		Public bool   `json:"public"`
	}{Region: defaultRegion}
	if r := c.bind(&body); r != nil {
		return *r
	}
	if body.Name == "" || strings.ContainsAny(body.Name, "/ ") {
		return invalid("name", "must be a non-empty name without slashes or spaces")
	}
	for _, b := range s.buckets.all() {
		if b.Name == body.Name {
			return conflict("a bucket named " + body.Name + " already exists")
		}
	}
	id, seq := s.newID("bkt_")
	b := &bucket{meta: meta{seq: seq}, ID: id, Name: body.Name, TenantID: tenantID, Region: body.Region,
		Public: body.Public, CreatedAt: c.now, UpdatedAt: c.now, objects: map[string]*object{}}
	s.buckets.put(id, b)
	return ok(b)
}

// bucket resolves the {bucket} path parameter, which may be an ID or a name.
func (s *state) bucket(c *call) (*bucket, *reply) {
	ref := c.path("bucket")
	if b, found := s.buckets.get(ref); found {
		return b, nil
	}
	for _, b := range s.buckets.all() {
		if b.Name == ref {
			return b, nil
		}
	}
	r := notFound("bucket", ref)
	return nil, &r
}

// deleteBucket refuses a non-empty bucket, as S3-style stores do.
func deleteBucket(s *state, c *call) reply {
	b, r := s.bucket(c)
	if r != nil {
		return *r
	}
	if len(b.objects) > 0 {
		return conflict(fmt.Sprintf("bucket %s is not empty (%d objects): delete its objects first", b.Name, len(b.objects)))
	}
	s.buckets.remove(b.ID)
	return noContent()
}

// listObjects lists keys in order, filtered by prefix. The cursor is the
// last key returned, so paging is stable while objects change.
func listObjects(s *state, c *call) reply {
	b, r := s.bucket(c)
	if r != nil {
		return *r
	}
	after := ""
	if cur := c.query("cursor"); cur != "" {
		k, valid := decodeCursor(cur, "k:")
		if !valid {
			return failValidation(http.StatusBadRequest, "invalid cursor: pass the cursor of the previous page unchanged", []fieldError{{Field: "cursor", Message: "invalid cursor"}})
		}
		after = k
	}
	prefix := c.query("prefix")
	keys := make([]string, 0, len(b.objects))
	for k := range b.objects {
		if strings.HasPrefix(k, prefix) && (after == "" || k > after) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	limit := c.queryInt("limit", defaultPageSize)
	next := ""
	if len(keys) > limit {
		keys = keys[:limit]
		next = encodeCursor("k:" + keys[limit-1])
	}
	out := make([]*object, 0, len(keys))
	for _, k := range keys {
		out = append(out, b.objects[k])
	}
	return okCursor(out, next)
}

// uploadObject stores the raw body. The request's Content-Type is always
// application/octet-stream (the spec allows nothing else), so the object's
// content_type is inferred from the key's extension.
func uploadObject(s *state, c *call) reply {
	b, r := s.bucket(c)
	if r != nil {
		return *r
	}
	key := c.path("key")
	ctype := mime.TypeByExtension(path.Ext(key))
	if ctype == "" {
		ctype = "application/octet-stream"
	}
	sum := md5.Sum(c.body)
	o := &object{Key: key, Size: len(c.body), ContentType: ctype, ETag: hex.EncodeToString(sum[:]),
		LastModified: c.now, data: append([]byte(nil), c.body...)}
	b.objects[key] = o
	b.UpdatedAt = c.now
	return ok(o)
}

func (s *state) object(c *call) (*bucket, *object, *reply) {
	b, r := s.bucket(c)
	if r != nil {
		return nil, nil, r
	}
	o, found := b.objects[c.path("key")]
	if !found {
		nf := notFound("object", b.Name+"/"+c.path("key"))
		return nil, nil, &nf
	}
	return b, o, nil
}

// downloadObject returns the stored bytes. The spec declares only
// application/octet-stream for this response, so that is the Content-Type;
// the stored type travels in X-Object-Content-Type.
func downloadObject(s *state, c *call) reply {
	_, o, r := s.object(c)
	if r != nil {
		return *r
	}
	rep := binaryReply("application/octet-stream", append([]byte(nil), o.data...))
	rep.header = http.Header{
		"Etag":                  {`"` + o.ETag + `"`},
		"Last-Modified":         {o.LastModified.UTC().Format(http.TimeFormat)},
		"X-Object-Content-Type": {o.ContentType},
	}
	return rep
}

func deleteObject(s *state, c *call) reply {
	b, o, r := s.object(c)
	if r != nil {
		return *r
	}
	delete(b.objects, o.Key)
	return noContent()
}

// presignObject returns a URL on the mock's reserved domain: it has the
// shape of a real presigned URL but can never be fetched.
func presignObject(s *state, c *call) reply {
	b, r := s.bucket(c)
	if r != nil {
		return *r
	}
	body := struct {
		Key          string `json:"key"`
		Operation    string `json:"operation"`
		ExpiresInSec int    `json:"expires_in_sec"`
		ContentType  string `json:"content_type"`
	}{Operation: "get", ExpiresInSec: 300}
	if r := c.bind(&body); r != nil {
		return *r
	}
	method := strings.ToUpper(body.Operation)
	if method == "GET" {
		if _, found := b.objects[body.Key]; !found {
			return notFound("object", b.Name+"/"+body.Key)
		}
	}
	expires := c.now.Add(time.Duration(body.ExpiresInSec) * time.Second)
	q := url.Values{"X-Miosa-Expires": {fmt.Sprint(expires.Unix())}, "X-Miosa-Signature": {randHex(40)}}
	u := fmt.Sprintf("https://storage.%s/%s/%s?%s", mockDomain, url.PathEscape(b.Name), url.PathEscape(body.Key), q.Encode())
	headers := map[string]string{}
	if method == "PUT" && body.ContentType != "" {
		headers["Content-Type"] = body.ContentType
	}
	return ok(map[string]any{"url": u, "method": method, "headers": headers, "expires_at": expires})
}
